"""The embedded SQL HSS driver.

SQN allocation starts its transaction with a write to the subscriber's row
(``SET sqn = sqn``): the row lock on MariaDB/PostgreSQL, the database write
lock on sqlite, is taken *before* the SQN is read, so concurrent Keystone
workers queue instead of racing, and each gets its own SQN -- which, with
the IND part of SQN cycling (TS 33.102 Annex C), the USIM accepts in any
order. Galera certification conflicts (reported as deadlocks) and lost
connections are retried with oslo.db's ``wrap_db_retry``.

An unknown IMSI costs what a known one does: the same three statements in
the same transaction (the UPDATEs match no row), and a decryption of the
same size, so neither timing nor the database's load tell them apart.
"""

import datetime
import os
import threading

from oslo_db import api as oslo_db_api
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

# Sealed K||OPc of no one, opened for an unknown IMSI so that it costs the
# same decryption as a known one. Not a valid IMSI: it never names a row.
_DECOY_IMSI = 'decoy'

_SUBSCRIBERS = models.Subscriber.__table__
_LOCK = sa.update(_SUBSCRIBERS).where(
    _SUBSCRIBERS.c.imsi == sa.bindparam('i')).values(sqn=_SUBSCRIBERS.c.sqn)
_KEYS = sa.select(_SUBSCRIBERS.c.secrets, _SUBSCRIBERS.c.sqn,
                  _SUBSCRIBERS.c.amf).where(
    _SUBSCRIBERS.c.imsi == sa.bindparam('i'))
_SET_SQN = sa.update(_SUBSCRIBERS).where(
    _SUBSCRIBERS.c.imsi == sa.bindparam('i')).values(
    sqn=sa.bindparam('new_sqn'))


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class SqlHss(api.HssDriver):
    """HSS on oslo.db. Thread-safe; one instance per process is enough."""

    def __init__(self, conf):
        super().__init__(conf)
        self._db = db.Database(conf, 'hss')
        self._box = None
        self._box_lock = threading.Lock()
        self._decoy_row = None
        self._advance_sqn = oslo_db_api.wrap_db_retry(
            max_retries=conf.hss.sqn_retries, retry_on_deadlock=True,
            retry_on_disconnect=True, retry_interval=0.005,
            inc_retry_interval=True, max_retry_interval=0.3,
            jitter=True)(self._advance_sqn_once)

    # -- plumbing ---------------------------------------------------------
    @property
    def database(self):
        """The :class:`common.db.Database` of the HSS schema."""
        return self._db

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

    def add_subscriber(self, imsi, k, opc, sqn=0, amf=None, plan=None):
        """Provision a subscriber; ``amf`` defaults to ``[hss] amf``."""
        if amf is None:
            amf = bytes.fromhex(self.conf.hss.amf)
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
    def _decoy(self):
        """A row as :data:`_KEYS` reads it, for an IMSI that has none."""
        if self._decoy_row is None:
            self._decoy_row = (
                self._secret_box().seal(_DECOY_IMSI, os.urandom(32)),
                aka_sqn.join(1, 0), self.conf.hss.amf)
        return self._decoy_row

    def _advance_sqn_once(self, imsi, compute_next):
        """Move the SQN to ``compute_next(k, opc, current)``.

        Returns ``(k, opc, new_sqn, amf)``. For an unknown IMSI it runs
        the same statements (matching no row), decryption and
        ``compute_next`` (over the decoy secrets), then raises
        :class:`SubscriberNotFound`, or what ``compute_next`` raised.
        """
        with self._db.write() as conn:
            conn.execute(_LOCK, {'i': imsi})
            row = conn.execute(_KEYS, {'i': imsi}).first()
            known = row is not None
            sealed, seen, amf = row if known else self._decoy()
            secrets = self._secret_box().open(
                imsi if known else _DECOY_IMSI, bytes(sealed))
            k, opc = secrets[:16], secrets[16:]
            # Computed for the decoy too: checking a junk AUTS costs the
            # same, and fails at the same point, for any IMSI.
            new = compute_next(k, opc, seen)
            conn.execute(_SET_SQN, {'i': imsi, 'new_sqn': new})
        if not known:
            raise exceptions.SubscriberNotFound(imsi)
        return k, opc, new, bytes.fromhex(amf)

    def _advance(self, imsi, compute_next):
        try:
            return self._advance_sqn(imsi, compute_next)
        except (db_exc.DBDeadlock, db_exc.DBConnectionError):
            raise exceptions.BackendUnavailable(
                'could not advance the SQN of %s: too much contention or '
                'no database' % imsi) from None

    def authentication_vector(self, imsi):
        def next_sqn(k, opc, seen):
            try:
                return aka_sqn.next_sqn(seen)
            except ValueError:
                raise exceptions.SqnExhausted(imsi) from None

        k, opc, sqn, amf = self._advance(imsi, next_sqn)
        return vectors.generate_vector(k, opc, sqn, amf)

    def resynchronise(self, imsi, rand, auts):
        def resync(k, opc, sqn_he):
            try:
                sqn_ms = vectors.verify_auts(k, opc, rand, auts)
            except (aka_exc.InvalidAuts, ValueError):
                raise exceptions.ResyncFailed(imsi) from None
            # TS 33.102 6.3.5: kept if the next SQN passes the USIM's
            # checks, else reset to SQN_MS (possibly lower).
            return aka_sqn.resync_sqn(sqn_he, sqn_ms)

        self._advance(imsi, resync)

    def get_plan(self, imsi):
        # Core, not the ORM: the desktop service asks on every login.
        with self._db.read() as conn:
            row = conn.execute(_PLAN_OF, {'imsi': imsi}).first()
        return _plan(row) if row is not None else None


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
