"""Data access of the desktop service.

Every state change that two workers might attempt at once is a conditional
UPDATE (``... WHERE status = :expected``) whose row count says who won, or
an INSERT guarded by a unique constraint. Records are returned as plain
dicts, detached from any session.
"""

import datetime
import json
import os
import uuid

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
import sqlalchemy as sa

from vdesk_openstack.common import db
from vdesk_openstack.common import migration
from vdesk_openstack.desktops.db import models
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import states

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), 'migrations')
VERSION_TABLE = 'vdesk_desktops_version'


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


DESKTOPS = models.Desktop.__table__
SESSIONS = models.Session.__table__
OUTBOX = models.ChargingRecord.__table__
TOMBSTONES = models.Tombstone.__table__

# Deadlocks (Galera certification conflicts among them) are retried by
# oslo.db; a transaction here has no effect outside the database, so
# running it again is safe.
_retry = oslo_db_api.wrap_db_retry(
    max_retries=5, retry_on_deadlock=True, retry_interval=0.05,
    inc_retry_interval=True, max_retry_interval=1)


def _as_dict(row):
    record = {c.name: getattr(row, c.name) for c in row.__table__.columns}
    if 'capabilities' in record:
        record['capabilities'] = json.loads(record['capabilities'])
    return record


def _record(table, values):
    """A Core row (or a slice of one) of ``table`` as a plain dict."""
    record = dict(zip(table.columns.keys(), values))
    if 'capabilities' in record:
        record['capabilities'] = json.loads(record['capabilities'])
    return record


def _one(conn, table, query):
    row = conn.execute(query).first()
    return _record(table, row) if row is not None else None


def _new_desktop(subscriber, user_id, plan):
    now = utcnow()
    return {'id': str(uuid.uuid4()), 'subscriber': subscriber,
            'user_id': user_id, 'instance_id': None, 'plan': plan,
            'flavor_id': None, 'status': states.CREATING, 'generation': 0,
            'fault': None, 'created_at': now, 'updated_at': now,
            'recovery': None, 'unclaimed_prewarms': 0,
            'unclaimed_since': None}


def _tombstone(desktop, instance_id, reason, whole_desktop):
    return {'id': str(uuid.uuid4()), 'desktop_id': desktop['id'],
            'subscriber': desktop['subscriber'], 'instance_id': instance_id,
            'whole_desktop': whole_desktop, 'reason': reason[:64],
            'created_at': utcnow()}


def record_number(record):
    """The number an outbox row carries (its payload's record_number)."""
    return json.loads(record['payload']).get('record_number')


def _numbered(record):
    """WHERE and SET of a write that queues ``record``, by its number.

    The number was read with the session; it still being the session's
    record count proves no other record was queued meanwhile, so no two
    records of a session share a number.
    """
    number = record_number(record)
    if number is None:
        return [], {}
    return [SESSIONS.c.records == number], {'records': number + 1}


def _charge(conn, session_id, from_state, to_state, record, **values):
    where, numbered = _numbered(record)
    moved = conn.execute(
        SESSIONS.update()
        .where(SESSIONS.c.id == session_id,
               SESSIONS.c.charging == from_state, *where)
        .values(charging=to_state, **numbered, **values)).rowcount == 1
    if moved:
        conn.execute(OUTBOX.insert(), record)
    return moved


def _desktop_and_session(conn, subscriber):
    row = conn.execute(_DESKTOP_AND_SESSION,
                       {'subscriber': subscriber}).first()
    if row is None:
        return None, None
    split = len(DESKTOPS.columns)
    desktop = _record(DESKTOPS, row[:split])
    if row[split] is None:  # sessions.id: no open session
        return desktop, None
    return desktop, _record(SESSIONS, row[split:])


def _bind(conn, desktop, user_id):
    """Check (or make) the binding of ``desktop`` to ``user_id``.

    ``user_id`` None: a caller acting for the service (a pre-warm from a
    login announcement without a user id), which neither checks nor binds.
    """
    if user_id is None or desktop['user_id'] == user_id:
        return desktop
    if desktop['user_id'] is not None:
        raise exceptions.NotBound()
    bound = conn.execute(DESKTOPS.update().where(
        DESKTOPS.c.id == desktop['id'],
        DESKTOPS.c.user_id.is_(None)).values(user_id=user_id)).rowcount
    if not bound:
        raise exceptions.NotBound()
    return dict(desktop, user_id=user_id)


_DESKTOP_AND_SESSION = sa.select(DESKTOPS, SESSIONS).select_from(
    DESKTOPS.outerjoin(SESSIONS, sa.and_(
        SESSIONS.c.subscriber == DESKTOPS.c.subscriber,
        SESSIONS.c.is_open.is_(True)))).where(
    DESKTOPS.c.subscriber == sa.bindparam('subscriber'))


class DesktopStore(object):
    """Mappings (subscriber -> instance) and sessions, on oslo.db."""

    def __init__(self, conf):
        self._db = db.Database(conf, 'database')

    @property
    def engine(self):
        return self._db.engine

    def db_sync(self):
        migration.upgrade(self.engine, MIGRATIONS_DIR, VERSION_TABLE,
                          'desktops')

    def current_revision(self):
        return migration.current_revision(self.engine, VERSION_TABLE)

    # -- desktops -----------------------------------------------------------
    @_retry
    def create_desktop(self, subscriber, user_id, plan):
        """Record a desktop about to be created (no instance yet).

        :raises Conflict: the subscriber already has one.
        """
        record = _new_desktop(subscriber, user_id, plan)
        try:
            with self._db.write() as conn:
                conn.execute(DESKTOPS.insert(), record)
        except db_exc.DBDuplicateEntry:
            raise exceptions.Conflict(
                'The subscriber already has a desktop') from None
        return record

    def get_desktop_and_session(self, subscriber):
        """(desktop, open session) of ``subscriber`` in one round trip.

        Either may be None (a session never exists without its desktop).
        Both sides of the join are unique-index probes.
        """
        with self._db.read() as conn:
            return _desktop_and_session(conn, subscriber)

    @_retry
    def begin_login(self, subscriber, user_id, plan_of):
        """A login's first step, in one transaction.

        Finds the desktop and open session of ``subscriber`` and checks
        that the desktop is bound to the Keystone user ``user_id`` (a
        desktop is bound to the user of its first login; one recorded
        before bindings existed, or by a pre-warm without a user id, is
        bound now). Unless a session is open
        (and not failed), asks ``plan_of()`` for the plan and records a new
        desktop if there is none. Returns (desktop, session, plan, fresh):
        ``plan`` is None if ``plan_of`` was not asked, ``fresh`` True if
        the desktop was recorded by this call. Whatever ``plan_of`` raises
        leaves nothing written.

        :raises NotBound: the desktop belongs to another Keystone user.
        :raises Conflict: another login recorded the desktop meanwhile.
        """
        try:
            with self._db.write() as conn:
                desktop, session = _desktop_and_session(conn, subscriber)
                if desktop is not None:
                    desktop = _bind(conn, desktop, user_id)
                if session is not None and \
                        session['status'] != states.ERROR:
                    return desktop, session, None, False
                plan = plan_of()
                if desktop is not None:
                    return desktop, session, plan, False
                desktop = _new_desktop(subscriber, user_id, plan.name)
                conn.execute(DESKTOPS.insert(), desktop)
                return desktop, None, plan, True
        except db_exc.DBDuplicateEntry:
            raise exceptions.Conflict(
                'The subscriber already has a desktop') from None

    def get_desktop(self, subscriber):
        with self._db.read() as conn:
            return _one(conn, DESKTOPS, DESKTOPS.select().where(
                DESKTOPS.c.subscriber == subscriber))

    def get_desktop_by_id(self, desktop_id):
        with self._db.read() as conn:
            return _one(conn, DESKTOPS, DESKTOPS.select().where(
                DESKTOPS.c.id == desktop_id))

    def get_desktop_by_instance(self, instance_id):
        with self._db.read() as conn:
            return _one(conn, DESKTOPS, DESKTOPS.select().where(
                DESKTOPS.c.instance_id == instance_id))

    def list_desktops(self, limit=1000, marker=None, status=None):
        with self._db.reader() as session:
            query = sa.select(models.Desktop).order_by(
                models.Desktop.subscriber).limit(limit)
            if marker:
                query = query.where(models.Desktop.subscriber > marker)
            if status:
                query = query.where(models.Desktop.status == status)
            return [_as_dict(r) for r in session.scalars(query)]

    @_retry
    def update_desktop(self, desktop_id, expected_status=None, **values):
        """Update a desktop; with ``expected_status``, only from it.

        Returns True if the row was updated.
        """
        values['updated_at'] = utcnow()
        query = DESKTOPS.update().where(DESKTOPS.c.id == desktop_id)
        if expected_status is not None:
            if isinstance(expected_status, str):
                expected_status = (expected_status,)
            query = query.where(DESKTOPS.c.status.in_(expected_status))
        with self._db.write() as conn:
            return conn.execute(query.values(**values)).rowcount == 1

    def desktops_by_instance(self, page_size=1000):
        """Every desktop with an instance, in instance UUID order.

        A generator reading one page per transaction along the unique
        index on ``instance_id`` (the reconciler's pass beside Nova's
        listing in the same order).
        """
        marker = None
        while True:
            query = sa.select(models.Desktop).where(
                models.Desktop.instance_id.is_not(None)).order_by(
                models.Desktop.instance_id).limit(page_size)
            if marker is not None:
                query = query.where(models.Desktop.instance_id > marker)
            with self._db.reader() as session:
                page = [_as_dict(r) for r in session.scalars(query)]
            yield from page
            if len(page) < page_size:
                return
            marker = page[-1]['instance_id']

    @_retry
    def delete_desktop(self, desktop_id, tombstone=None):
        """Delete a desktop and its sessions; True if it existed.

        ``tombstone``: (desktop, instance_id, reason) -- a whole-desktop
        tombstone written in the same transaction, so every server tagged
        with the desktop is the service's to delete, even after a crash.
        """
        with self._db.writer() as session:
            if tombstone is not None:
                desktop, instance_id, reason = tombstone
                session.execute(sa.insert(models.Tombstone).values(
                    _tombstone(desktop, instance_id, reason, True)))
            session.execute(sa.delete(models.Session).where(
                models.Session.desktop_id == desktop_id))
            return session.execute(sa.delete(models.Desktop).where(
                models.Desktop.id == desktop_id)).rowcount == 1

    @_retry
    def replace_instance(self, desktop, reason, **values):
        """Tombstone the desktop's instance and update the desktop.

        One transaction: the desktop stops mapping its instance (``values``
        say what it maps now) exactly when the old instance becomes the
        service's to delete.
        """
        values['updated_at'] = utcnow()
        with self._db.write() as conn:
            conn.execute(TOMBSTONES.insert(), _tombstone(
                desktop, desktop['instance_id'], reason, False))
            conn.execute(DESKTOPS.update().where(
                DESKTOPS.c.id == desktop['id']).values(**values))

    @_retry
    def adopt_desktop(self, desktop_id, subscriber, instance_id, plan,
                      status):
        """Record an existing server as ``subscriber``'s desktop.

        No Keystone user yet: the next SIM login binds it.

        :raises Conflict: the subscriber, the id or the instance is taken.
        """
        record = dict(_new_desktop(subscriber, None, plan), id=desktop_id,
                      instance_id=instance_id, status=status)
        try:
            with self._db.write() as conn:
                conn.execute(DESKTOPS.insert(), record)
        except db_exc.DBDuplicateEntry:
            raise exceptions.Conflict(
                'The subscriber, the desktop id or the server is mapped '
                'already') from None
        return record

    # -- tombstones -----------------------------------------------------------
    def tombstones(self, limit=500):
        """The oldest ``limit`` tombstones."""
        with self._db.read() as conn:
            return [_record(TOMBSTONES, row) for row in conn.execute(
                TOMBSTONES.select().order_by(TOMBSTONES.c.created_at)
                .limit(limit))]

    def tombstoned(self, instance_id, desktop_id):
        """Whether a tombstone makes server ``instance_id`` deletable.

        ``desktop_id``: the desktop the server is tagged with.
        """
        with self._db.read() as conn:
            return conn.execute(sa.select(TOMBSTONES.c.id).where(sa.or_(
                TOMBSTONES.c.instance_id == instance_id,
                sa.and_(TOMBSTONES.c.desktop_id == desktop_id,
                        TOMBSTONES.c.whole_desktop.is_(True)))).limit(
                1)).first() is not None

    def tombstoned_instances(self, desktop_id):
        """Instances of ``desktop_id`` that tombstones name."""
        with self._db.read() as conn:
            return {row[0] for row in conn.execute(
                sa.select(TOMBSTONES.c.instance_id).where(
                    TOMBSTONES.c.desktop_id == desktop_id,
                    TOMBSTONES.c.instance_id.is_not(None)))}

    @_retry
    def add_tombstone(self, desktop, instance_id, reason,
                      whole_desktop=False):
        with self._db.write() as conn:
            conn.execute(TOMBSTONES.insert(), _tombstone(
                desktop, instance_id, reason, whole_desktop))

    @_retry
    def remove_tombstone(self, tombstone_id):
        with self._db.write() as conn:
            conn.execute(TOMBSTONES.delete().where(
                TOMBSTONES.c.id == tombstone_id))

    def count_unrecovered(self):
        """Desktops whose recovery from ERROR failed (operator's turn)."""
        with self._db.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(
                DESKTOPS).where(
                DESKTOPS.c.recovery == states.RECOVERY_FAILED)).scalar()

    def unclaimed_desktops(self, before, limit=500):
        """Pre-warmed desktops with no open session since ``before``."""
        open_sessions = sa.select(models.Session.desktop_id).where(
            models.Session.is_open.is_(True))
        with self._db.reader() as session:
            return [_as_dict(r) for r in session.scalars(
                sa.select(models.Desktop).where(
                    models.Desktop.status.in_((states.ACTIVE,
                                               states.RESTORING,
                                               states.BUILDING)),
                    models.Desktop.updated_at < before,
                    models.Desktop.instance_id.is_not(None),
                    models.Desktop.id.not_in(open_sessions))
                .limit(limit))]

    def creating_desktops(self, before):
        """Desktops stuck in CREATING since before ``before``."""
        with self._db.reader() as session:
            return [_as_dict(r) for r in session.scalars(
                sa.select(models.Desktop).where(
                    models.Desktop.status == states.CREATING,
                    models.Desktop.updated_at < before))]

    # -- sessions -----------------------------------------------------------
    @_retry
    def open_session(self, desktop, status, capabilities, console_type,
                     restored, rebuilt=False, desktop_values=None):
        """Open a session; None if the subscriber already has one open.

        ``desktop_values`` are written to the desktop in the same
        transaction (one commit per login); they are written even if the
        session is refused, so an instance UUID is never lost.
        """
        now = utcnow()
        record = {
            'id': str(uuid.uuid4()), 'desktop_id': desktop['id'],
            'subscriber': desktop['subscriber'], 'is_open': True,
            'status': status, 'restored': restored, 'rebuilt': rebuilt,
            'capabilities': json.dumps(capabilities, sort_keys=True),
            'console_type': console_type, 'charging': states.CHARGING_NONE,
            'terminate_cause': None, 'fault': None, 'started_at': now,
            'active_at': None, 'ended_at': None, 'last_seen_at': now,
            'last_interim_at': None, 'records': 0}
        try:
            with self._db.write() as conn:
                if desktop_values:
                    conn.execute(DESKTOPS.update()
                                 .where(DESKTOPS.c.id == desktop['id'])
                                 .values(updated_at=now, **desktop_values))
                conn.execute(SESSIONS.insert(), record)
        except db_exc.DBDuplicateEntry:
            if desktop_values:
                self.update_desktop(desktop['id'], **desktop_values)
            return None
        return dict(record, capabilities=json.loads(record['capabilities']))

    def get_open_session(self, subscriber):
        with self._db.read() as conn:
            return _one(conn, SESSIONS, SESSIONS.select().where(
                SESSIONS.c.subscriber == subscriber,
                SESSIONS.c.is_open.is_(True)))

    def get_session(self, session_id):
        with self._db.read() as conn:
            return _one(conn, SESSIONS, SESSIONS.select().where(
                SESSIONS.c.id == session_id))

    @_retry
    def update_session(self, session_id, expected_status=None, **values):
        query = SESSIONS.update().where(SESSIONS.c.id == session_id,
                                        SESSIONS.c.is_open.is_(True))
        if expected_status is not None:
            if isinstance(expected_status, str):
                expected_status = (expected_status,)
            query = query.where(SESSIONS.c.status.in_(expected_status))
        with self._db.write() as conn:
            return conn.execute(query.values(**values)).rowcount == 1

    @_retry
    def end_session(self, session_id, cause, ended_at=None, charge=None):
        """Close the session (it becomes history); True if this call did.

        ``charge``: the session's Stop record, written into the charging
        outbox in the same transaction if this call ends the session and
        its charging had started (whoever ends it charges it, once).
        """
        now = ended_at or utcnow()
        with self._db.write() as conn:
            ended = conn.execute(
                SESSIONS.update()
                .where(SESSIONS.c.id == session_id,
                       SESSIONS.c.is_open.is_(True))
                .values(is_open=None, status=states.ENDED, ended_at=now,
                        terminate_cause=cause)).rowcount == 1
            if ended and charge is not None:
                _charge(conn, session_id, states.CHARGING_STARTED,
                        states.CHARGING_ENDED, charge)
            return ended

    @_retry
    def charge(self, session_id, from_state, to_state, record, **values):
        """Move charging from ``from_state`` and queue ``record``.

        One transaction: only the one caller that moves the state writes
        its record into the outbox. True for that caller.
        """
        with self._db.write() as conn:
            return _charge(conn, session_id, from_state, to_state, record,
                           **values)

    @_retry
    def activate(self, session_id, expected_status, desktop_id, now,
                 record):
        """The session's desktop is up: ACTIVE, charged, one transaction.

        Moves the session from ``expected_status`` to ACTIVE with its
        charging started, the desktop to ACTIVE, and writes the Start
        ``record`` into the outbox. True for the one caller that did.
        """
        where, numbered = _numbered(record)
        with self._db.write() as conn:
            moved = conn.execute(
                SESSIONS.update()
                .where(SESSIONS.c.id == session_id,
                       SESSIONS.c.is_open.is_(True),
                       SESSIONS.c.status == expected_status,
                       SESSIONS.c.charging == states.CHARGING_NONE, *where)
                .values(status=states.ACTIVE, active_at=now,
                        charging=states.CHARGING_STARTED,
                        last_interim_at=now, **numbered)).rowcount == 1
            if moved:
                # Up again: any recovery from ERROR has succeeded.
                conn.execute(DESKTOPS.update()
                             .where(DESKTOPS.c.id == desktop_id)
                             .values(status=states.ACTIVE, updated_at=now,
                                     recovery=None))
                conn.execute(OUTBOX.insert(), record)
            return moved

    @_retry
    def charge_interim(self, session_id, last_interim_at, now, record):
        """Queue an interim record unless another worker just did.

        Claims the interval by moving ``last_interim_at`` from the value
        the caller read to ``now``; only the winner writes ``record``.
        """
        if last_interim_at is None:
            last = SESSIONS.c.last_interim_at.is_(None)
        else:
            last = SESSIONS.c.last_interim_at == last_interim_at
        where, numbered = _numbered(record)
        with self._db.write() as conn:
            claimed = conn.execute(
                SESSIONS.update()
                .where(SESSIONS.c.id == session_id,
                       SESSIONS.c.is_open.is_(True),
                       SESSIONS.c.status == states.ACTIVE,
                       SESSIONS.c.charging == states.CHARGING_STARTED,
                       last, *where)
                .values(last_interim_at=now, **numbered)).rowcount == 1
            if claimed:
                conn.execute(OUTBOX.insert(), record)
            return claimed

    # -- charging outbox ------------------------------------------------------
    def outbox_batch(self, limit):
        """The oldest ``limit`` records waiting in the outbox, in order."""
        with self._db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(
                OUTBOX.select().order_by(OUTBOX.c.seq).limit(limit))]

    @_retry
    def outbox_delete(self, seq):
        with self._db.write() as conn:
            conn.execute(OUTBOX.delete().where(OUTBOX.c.seq == seq))

    @_retry
    def outbox_failed(self, seq, error):
        with self._db.write() as conn:
            conn.execute(OUTBOX.update().where(OUTBOX.c.seq == seq).values(
                attempts=OUTBOX.c.attempts + 1, last_error=error[:255]))

    def outbox_size(self):
        with self._db.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(
                OUTBOX)).scalar()

    def open_sessions(self, statuses, page_size=500):
        """Every open session in ``statuses``, in id order, by pages.

        A generator reading one page per query along the index on
        (is_open, id): every open session is seen once per walk, however
        many there are, and a session opened during the walk is seen by
        this walk or the next.
        """
        marker = None
        while True:
            query = SESSIONS.select().where(
                SESSIONS.c.is_open == sa.true()).order_by(
                SESSIONS.c.id).limit(page_size)
            if marker is not None:
                query = query.where(SESSIONS.c.id > marker)
            with self._db.read() as conn:
                page = [_record(SESSIONS, row) for row in
                        conn.execute(query)]
            yield from (s for s in page if s['status'] in statuses)
            if len(page) < page_size:
                return
            marker = page[-1]['id']

    def idle_sessions(self, last_seen_before, limit=500):
        with self._db.reader() as session:
            return [_as_dict(r) for r in session.scalars(
                sa.select(models.Session).where(
                    models.Session.status == states.ACTIVE,
                    models.Session.last_seen_at < last_seen_before)
                .limit(limit))]

    def ended_uncharged_sessions(self, limit=500):
        """Ended sessions whose charging Stop was not emitted yet."""
        with self._db.reader() as session:
            return [_as_dict(r) for r in session.scalars(
                sa.select(models.Session).where(
                    models.Session.is_open.is_(None),
                    models.Session.charging == states.CHARGING_STARTED)
                .limit(limit))]
