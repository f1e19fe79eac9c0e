"""The embedded SQL HSS driver.

SQN allocation starts its transaction with a write to the subscriber's row
(``SET sqn = sqn``): the row lock on MariaDB/PostgreSQL, the database write
lock on sqlite, is taken *before* the SQN is read, so concurrent Keystone
workers queue instead of racing, and each gets its own SQN -- which, with
the IND part of SQN cycling (TS 33.102 Annex C), the USIM accepts in any
order. Galera certification conflicts (reported as deadlocks) are retried.
"""

import datetime
import hashlib
import hmac
import random
import threading
import time

from oslo_db import exception as db_exc
from oslo_log import log as logging
import sqlalchemy as sa

from vdesk_openstack.aka import exceptions as aka_exc
from vdesk_openstack.aka import sqn as aka_sqn
from vdesk_openstack.aka import vectors
from vdesk_openstack.common import db
from vdesk_openstack.hss import api
from vdesk_openstack.hss import crypto
from vdesk_openstack.hss import exceptions
from vdesk_openstack.hss.sql import migration
from vdesk_openstack.hss.sql import models

LOG = logging.getLogger(__name__)

# Expired challenges are purged by whichever request happens to store a new
# one, at most this often per process: no cron job to forget.
_PURGE_INTERVAL = 30.0


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class SqlHss(api.HssDriver):
    """HSS on oslo.db. Thread-safe; one instance per process is enough."""

    def __init__(self, conf):
        super().__init__(conf)
        self._db = db.Database(conf, 'hss')
        self._box = None
        self._box_lock = threading.Lock()
        self._last_purge = 0.0

    # -- plumbing ---------------------------------------------------------
    def _writer(self):
        return self._db.writer()

    def _reader(self):
        return self._db.reader()

    @property
    def engine(self):
        return self._db.engine

    def _secret_box(self):
        if self._box is None:
            with self._box_lock:
                if self._box is None:
                    self._box = crypto.SecretBox(
                        crypto.load_key(self.conf.hss.key_file))
        return self._box

    def db_sync(self):
        """Create or upgrade the schema; create the key file if missing."""
        created = crypto.create_key_file(self.conf.hss.key_file)
        migration.upgrade(self.engine)
        return created

    # -- provisioning -----------------------------------------------------
    def add_plan(self, plan):
        try:
            with self._writer() as session:
                session.add(models.Plan(
                    name=plan.name, vcpus=plan.vcpus, ram_mb=plan.ram_mb,
                    disk_gb=plan.disk_gb, priority=plan.priority,
                    image=plan.image, created_at=_utcnow()))
        except db_exc.DBDuplicateEntry:
            raise exceptions.PlanExists(plan.name) from None
        return plan

    def list_plans(self):
        with self._reader() as session:
            rows = session.scalars(sa.select(models.Plan).order_by(
                models.Plan.name)).all()
            return [_plan(r) for r in rows]

    def add_subscriber(self, imsi, k, opc, sqn=0, amf=b'\x80\x00',
                       plan=None):
        secrets = self._secret_box().seal(imsi, k + opc)
        try:
            with self._writer() as session:
                plan_id = None
                if plan is not None:
                    plan_id = session.scalar(sa.select(models.Plan.id).where(
                        models.Plan.name == plan))
                    if plan_id is None:
                        raise exceptions.PlanNotFound(plan)
                session.add(models.Subscriber(
                    imsi=imsi, secrets=secrets, sqn=sqn, amf=amf.hex(),
                    plan_id=plan_id, created_at=_utcnow()))
        except db_exc.DBDuplicateEntry:
            raise exceptions.SubscriberExists(imsi) from None
        return self.get_subscriber(imsi)

    def get_subscriber(self, imsi):
        with self._reader() as session:
            row = session.execute(
                sa.select(models.Subscriber, models.Plan.name)
                .outerjoin(models.Plan)
                .where(models.Subscriber.imsi == imsi)).first()
            if row is None:
                raise exceptions.SubscriberNotFound(imsi)
            sub, plan_name = row
            return api.Subscriber(imsi=sub.imsi, sqn=sub.sqn, amf=sub.amf,
                                  plan=plan_name)

    def list_subscribers(self, limit=1000, marker=None):
        with self._reader() as session:
            query = (sa.select(models.Subscriber, models.Plan.name)
                     .outerjoin(models.Plan)
                     .order_by(models.Subscriber.imsi).limit(limit))
            if marker:
                query = query.where(models.Subscriber.imsi > marker)
            return [api.Subscriber(imsi=s.imsi, sqn=s.sqn, amf=s.amf,
                                   plan=p)
                    for s, p in session.execute(query).all()]

    # -- authentication ---------------------------------------------------
    def _load_keys(self, session, imsi):
        row = session.execute(
            sa.select(models.Subscriber.secrets, models.Subscriber.sqn,
                      models.Subscriber.amf)
            .where(models.Subscriber.imsi == imsi)).first()
        if row is None:
            raise exceptions.SubscriberNotFound(imsi)
        secrets = self._secret_box().open(imsi, row.secrets)
        return secrets[:16], secrets[16:], row.sqn, bytes.fromhex(row.amf)

    def _advance_sqn(self, imsi, compute_next):
        """Move the SQN to ``compute_next(current)`` (None: leave it)."""
        subscriber = models.Subscriber
        for attempt in range(self.conf.hss.sqn_retries):
            try:
                with self._writer() as session:
                    locked = session.execute(
                        sa.update(subscriber)
                        .where(subscriber.imsi == imsi)
                        .values(sqn=subscriber.sqn)).rowcount
                    if not locked:
                        raise exceptions.SubscriberNotFound(imsi)
                    k, opc, seen, amf = self._load_keys(session, imsi)
                    new = compute_next(seen)
                    if new is None:
                        return k, opc, seen, amf
                    session.execute(
                        sa.update(subscriber)
                        .where(subscriber.imsi == imsi)
                        .values(sqn=new))
                    return k, opc, new, amf
            except (db_exc.DBDeadlock, db_exc.DBConnectionError):
                LOG.debug('SQN update of %s conflicted; retrying', imsi)
                time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
        raise exceptions.BackendUnavailable(
            'could not advance the SQN of %s: too much contention' % imsi)

    def authentication_vector(self, imsi):
        def next_sqn(seen):
            try:
                return aka_sqn.next_sqn(seen)
            except ValueError:
                raise exceptions.SqnExhausted(imsi) from None

        k, opc, sqn, amf = self._advance_sqn(imsi, next_sqn)
        return vectors.generate_vector(k, opc, sqn, amf)

    def resynchronise(self, imsi, rand, auts):
        with self._reader() as session:
            k, opc, _, _ = self._load_keys(session, imsi)
        try:
            sqn_ms = vectors.verify_auts(k, opc, rand, auts)
        except (aka_exc.InvalidAuts, ValueError):
            raise exceptions.ResyncFailed(imsi) from None

        # TS 33.102 6.3.5: the HE adopts SQN_MS only if its own SQN is not
        # already beyond it; the next vector then uses a higher SEQ.
        def adopt(seen):
            if aka_sqn.split(seen)[0] >= aka_sqn.split(sqn_ms)[0]:
                return None
            return sqn_ms

        self._advance_sqn(imsi, adopt)

    def get_plan(self, imsi):
        # Core, not the ORM: the desktop service asks on every login.
        with self._db.read() as conn:
            row = conn.execute(_PLAN_OF, {'imsi': imsi}).first()
        return _plan(row) if row is not None else None

    # -- gateway state ----------------------------------------------------
    def store_challenge(self, context_id, challenge):
        now = time.time()
        with self._writer() as session:
            session.add(models.AkaChallenge(
                id=_context_key(context_id), imsi=challenge.imsi,
                rand=challenge.rand, xres_digest=challenge.xres_digest,
                expires_at=challenge.expires_at))
            if now - self._last_purge > _PURGE_INTERVAL:
                self._last_purge = now
                session.execute(sa.delete(models.AkaChallenge).where(
                    models.AkaChallenge.expires_at < now))

    def consume_challenge(self, context_id):
        key = _context_key(context_id)
        with self._writer() as session:
            row = session.get(models.AkaChallenge, key)
            if row is None:
                return None
            challenge = api.Challenge(imsi=row.imsi, rand=row.rand,
                                      xres_digest=row.xres_digest,
                                      expires_at=row.expires_at)
            # Whoever deletes the row owns the challenge: a replay or a
            # concurrent answer on another worker finds nothing.
            deleted = session.execute(sa.delete(models.AkaChallenge).where(
                models.AkaChallenge.id == key)).rowcount
        return challenge if deleted == 1 else None

    def record_failure(self, imsi, max_failures, lockout_seconds):
        now = time.time()
        for _ in range(self.conf.hss.sqn_retries):
            try:
                with self._writer() as session:
                    row = session.get(models.AkaFailure, imsi,
                                      with_for_update=True)
                    if row is None:
                        row = models.AkaFailure(imsi=imsi, failures=0,
                                                window_start=now,
                                                locked_until=0.0)
                        session.add(row)
                    if row.locked_until > now:
                        # Failures while locked out do not extend it.
                        return
                    if now - row.window_start > lockout_seconds:
                        row.failures, row.window_start = 0, now
                    row.failures += 1
                    if row.failures >= max_failures:
                        row.locked_until = now + lockout_seconds
                        row.failures = 0
                        LOG.warning('Subscriber %s locked out for %d s after '
                                    '%d failed logins', imsi,
                                    lockout_seconds, max_failures)
                return
            except db_exc.DBDuplicateEntry:
                continue

    def is_locked_out(self, imsi):
        with self._reader() as session:
            until = session.scalar(sa.select(models.AkaFailure.locked_until)
                                   .where(models.AkaFailure.imsi == imsi))
        return until is not None and until > time.time()

    def clear_failures(self, imsi):
        with self._writer() as session:
            session.execute(sa.delete(models.AkaFailure).where(
                models.AkaFailure.imsi == imsi,
                models.AkaFailure.locked_until <= time.time()))


def _context_key(context_id):
    return hashlib.sha256(context_id.encode('utf-8')).hexdigest()


def xres_digest(context_id, xres):
    """Digest binding an expected RES to its context, stored, not XRES."""
    return hmac.new(context_id.encode('utf-8'), xres, hashlib.sha256).digest()


_PLANS = models.Plan.__table__
_PLAN_OF = sa.select(
    _PLANS.c.name, _PLANS.c.vcpus, _PLANS.c.ram_mb, _PLANS.c.disk_gb,
    _PLANS.c.priority, _PLANS.c.image).join_from(
    models.Subscriber.__table__, _PLANS).where(
    models.Subscriber.__table__.c.imsi == sa.bindparam('imsi'))


def _plan(row):
    return api.Plan(name=row.name, vcpus=row.vcpus, ram_mb=row.ram_mb,
                    disk_gb=row.disk_gb, priority=row.priority,
                    image=row.image)
