"""The access gateway's one-time AKA challenges and their rate bounds.

Keystone may run many worker processes on many nodes; the second step of a
SIM login may reach another worker than the first, and a bound on how fast
challenges are handed out must hold for all of them. Both live in the HSS
database (tables ``aka_challenges`` and ``aka_challenge_counts`` of its
schema), whatever the HSS driver: the embedded one keeps its subscribers
there, a driver that asks a remote HLR still keeps plans there.

* :meth:`ChallengeStore.admit` counts a challenge request against its
  client address, then against its IMSI, in fixed windows. A refused
  request changes nothing but the counter it hit: no SQN, no row.
* :meth:`ChallengeStore.store` remembers a challenge until it expires;
  :meth:`ChallengeStore.consume` takes it, at most once across all workers.

The store keeps a digest binding the expected RES to the opaque context
(:func:`xres_digest`), never XRES itself, and the key of a row is a digest
of the context, so a copy of the table does not give usable contexts.

Statements are SQLAlchemy Core on oslo.db's engine: a login's hot path.
"""

import dataclasses
import hashlib
import hmac
import time
import typing

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
import sqlalchemy as sa

from vdesk_openstack.hss.sql import models

# Expired challenges and past windows' counters are purged by whichever
# request happens to come by, at most this often per process: no cron job.
PURGE_INTERVAL = 30.0

_CHALLENGES = models.AkaChallenge.__table__
_COUNTS = models.AkaChallengeCount.__table__


@dataclasses.dataclass(frozen=True)
class Challenge:
    """A challenge handed to a UE, as remembered by the gateway.

    ``xres_digest`` is :func:`xres_digest` of the expected RES, never the
    RES itself; it is None for a decoy challenge (unknown IMSI), which no
    answer can satisfy.
    """

    imsi: str
    rand: bytes
    xres_digest: typing.Optional[bytes]
    expires_at: float


@dataclasses.dataclass(frozen=True)
class RateBounds:
    """At most ``per_imsi`` / ``per_address`` challenges per ``window`` s.

    A bound of 0 is no bound.
    """

    window: int
    per_imsi: int
    per_address: int


def xres_digest(context_id, xres):
    """Digest binding an expected RES to its context: stored, not XRES."""
    return hmac.new(context_id.encode('utf-8'), xres, hashlib.sha256).digest()


def _context_key(context_id):
    return hashlib.sha256(context_id.encode('utf-8')).hexdigest()


# One statement admits a request whose counter row exists: it starts a new
# window (count 1) or counts one more in the current one if below the
# bound. MySQL assigns left to right with the new values, so ``hits`` is
# computed before ``period`` changes.
_BUMP = sa.update(_COUNTS).where(
    _COUNTS.c.subject == sa.bindparam('s'),
    sa.or_(_COUNTS.c.period != sa.bindparam('p'),
           _COUNTS.c.hits < sa.bindparam('bound'))).ordered_values(
    (_COUNTS.c.hits, sa.case(
        (_COUNTS.c.period == sa.bindparam('p'), _COUNTS.c.hits + 1),
        else_=1)),
    (_COUNTS.c.period, sa.bindparam('p')))
_FIRST = sa.insert(_COUNTS).values(subject=sa.bindparam('s'),
                                   period=sa.bindparam('p'), hits=1)


def _take(conn, subject, period, bound):
    """Count one request of ``subject``; False if it is over ``bound``."""
    params = {'s': subject, 'p': period, 'bound': bound}
    if conn.execute(_BUMP, params).rowcount:
        return True
    try:
        # In a savepoint: a duplicate key aborts a PostgreSQL transaction.
        with conn.begin_nested():
            conn.execute(_FIRST, params)
        return True
    except db_exc.DBDuplicateEntry:
        # The row exists: at the bound in this window, or another worker
        # inserted it a moment ago (then there is room again).
        return bool(conn.execute(_BUMP, params).rowcount)


class ChallengeStore(object):
    """Challenges and rate counters in a :class:`common.db.Database`.

    Thread-safe; one instance per process is enough. ``retries`` bounds
    the retries of a transaction that hit a deadlock (concurrent counters
    on MariaDB/Galera) or a lost connection.
    """

    def __init__(self, database, retries=20):
        self._db = database
        self._last_purge = 0.0
        retry = oslo_db_api.wrap_db_retry(
            max_retries=retries, retry_on_deadlock=True,
            retry_on_disconnect=True, retry_interval=0.005,
            inc_retry_interval=True, max_retry_interval=0.3, jitter=True)
        self._admit = retry(self._admit_once)
        self._store = retry(self._store_once)
        self._consume = retry(self._consume_once)

    def _purge_due(self, now):
        if now - self._last_purge > PURGE_INTERVAL:
            self._last_purge = now
            return True
        return False

    def admit(self, imsi, address, bounds, now=None):
        """Whether a challenge may be issued for ``imsi`` to ``address``.

        The address is counted first: a request refused for its address
        does not touch the IMSI's counter (a flood of made-up IMSIs from
        one address adds no row per IMSI once the address is over its
        bound). ``address`` may be None (not served over HTTP): only the
        IMSI is counted then.
        """
        now = time.time() if now is None else now
        return self._admit(imsi, address, bounds, now)

    def _admit_once(self, imsi, address, bounds, now):
        period = int(now // bounds.window)
        checks = []
        if bounds.per_address and address:
            checks.append(('addr:' + address, bounds.per_address))
        if bounds.per_imsi:
            checks.append(('imsi:' + imsi, bounds.per_imsi))
        if not checks:
            return True
        with self._db.write() as conn:
            for subject, bound in checks:
                if not _take(conn, subject, period, bound):
                    return False
            if self._purge_due(now):
                conn.execute(sa.delete(_COUNTS).where(
                    _COUNTS.c.period < period))
        return True

    def store(self, context_id, challenge):
        """Remember ``challenge`` under ``context_id`` until it expires."""
        self._store(context_id, challenge, time.time())

    def _store_once(self, context_id, challenge, now):
        with self._db.write() as conn:
            conn.execute(sa.insert(_CHALLENGES).values(
                id=_context_key(context_id), imsi=challenge.imsi,
                rand=challenge.rand, xres_digest=challenge.xres_digest,
                expires_at=challenge.expires_at))
            if self._purge_due(now):
                conn.execute(sa.delete(_CHALLENGES).where(
                    _CHALLENGES.c.expires_at < now))

    def consume(self, context_id):
        """Atomically take the challenge: at most one caller ever gets it.

        Returns the :class:`Challenge` or None (unknown or already used).
        """
        return self._consume(_context_key(context_id))

    def _consume_once(self, key):
        with self._db.write() as conn:
            row = conn.execute(sa.select(
                _CHALLENGES.c.imsi, _CHALLENGES.c.rand,
                _CHALLENGES.c.xres_digest, _CHALLENGES.c.expires_at).where(
                _CHALLENGES.c.id == key)).first()
            if row is None:
                return None
            # Whoever deletes the row owns the challenge: a replay or a
            # concurrent answer on another worker finds nothing.
            deleted = conn.execute(sa.delete(_CHALLENGES).where(
                _CHALLENGES.c.id == key)).rowcount
        if deleted != 1:
            return None
        return Challenge(imsi=row.imsi, rand=bytes(row.rand),
                         xres_digest=(None if row.xres_digest is None
                                      else bytes(row.xres_digest)),
                         expires_at=row.expires_at)
