"""The access gateway's one-time AKA challenges and their rate bounds.

Keystone may run many worker processes on many nodes; the second step of a
SIM login may reach another worker than the first, and a bound on how fast
challenges are handed out must hold for all of them. Both live in the HSS
database (tables ``aka_challenges`` and ``aka_challenge_counts`` of its
schema), whatever the HSS driver: the embedded one keeps its subscribers
there, a driver that asks a remote HLR still keeps plans there.

* :meth:`ChallengeStore.admit` counts a challenge request against its
  client address, then against the total of all requests, in fixed
  windows. A refused request changes nothing but the counter it hit: no
  SQN, no row. Nothing counts requests per IMSI: a bound there would let
  anyone who knows an IMSI refuse its SIM a challenge.
* :meth:`ChallengeStore.store` remembers a challenge until it expires,
  keeping at most a few per IMSI (:func:`evictions` picks which go);
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
# Subject of the counter of all challenge requests.
TOTAL = 'total'

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
    """At most ``per_address`` / ``total`` challenges per ``window`` s.

    A bound of 0 is no bound.
    """

    window: int
    per_address: int
    total: int = 0


class Outstanding(typing.NamedTuple):
    """A stored challenge as :func:`evictions` weighs it."""

    id: str
    source: typing.Optional[str]
    expires_at: float


def evictions(outstanding, keep, now):
    """Keys of the challenges of one IMSI to drop so that ``keep`` remain.

    Expired ones go first. Then, while too many are left, the oldest of
    the source (client address) holding the most; among sources holding
    as many, the one whose oldest is oldest. A stranger asking for
    challenges from one address thus drops its own, not those of the SIM,
    which asks from another; only many addresses at once can push the
    SIM's out, as fast as the per-address and total bounds let them.
    """
    doomed = [c.id for c in outstanding if c.expires_at < now]
    live = sorted((c for c in outstanding if c.expires_at >= now),
                  key=lambda c: c.expires_at)
    excess = len(live) - keep
    if excess <= 0:
        return doomed
    by_source = {}
    for challenge in live:
        by_source.setdefault(challenge.source, []).append(challenge)
    for _ in range(excess):
        source = max(by_source, key=lambda s: (len(by_source[s]),
                                               -by_source[s][0].expires_at))
        doomed.append(by_source[source].pop(0).id)
        if not by_source[source]:
            del by_source[source]
    return doomed


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


# The challenges of one IMSI, through the (imsi, expires_at) index.
_OUTSTANDING = sa.select(
    _CHALLENGES.c.id, _CHALLENGES.c.source, _CHALLENGES.c.expires_at).where(
    _CHALLENGES.c.imsi == sa.bindparam('i'))


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

    def admit(self, address, bounds, now=None):
        """Whether a challenge may be issued to ``address`` now.

        ``address`` is a client address key
        (:func:`vdesk_openstack.common.forwarded.key`), or None (not
        served over HTTP): only the total is counted then. The address is
        counted first: a request refused for its address does not count
        in the total, so one address over its bound cannot use it up.
        """
        now = time.time() if now is None else now
        return self._admit(address, bounds, now)

    def _admit_once(self, address, bounds, now):
        period = int(now // bounds.window)
        checks = []
        if bounds.per_address and address:
            checks.append(('addr:' + address, bounds.per_address))
        if bounds.total:
            checks.append((TOTAL, bounds.total))
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

    def store(self, context_id, challenge, source=None, keep=None):
        """Remember ``challenge`` under ``context_id`` until it expires.

        ``source``: the client address key it was issued to. At most
        ``keep`` challenges of the IMSI stay (None: no bound); the
        statements are the same whether the IMSI is known or not.
        """
        self._store(context_id, challenge, source, keep, time.time())

    def _store_once(self, context_id, challenge, source, keep, now):
        with self._db.write() as conn:
            conn.execute(sa.insert(_CHALLENGES).values(
                id=_context_key(context_id), imsi=challenge.imsi,
                rand=challenge.rand, xres_digest=challenge.xres_digest,
                expires_at=challenge.expires_at, source=source))
            if keep is not None:
                doomed = evictions(
                    [Outstanding(*row) for row in conn.execute(
                        _OUTSTANDING, {'i': challenge.imsi})], keep, now)
                if doomed:
                    conn.execute(sa.delete(_CHALLENGES).where(
                        _CHALLENGES.c.id.in_(doomed)))
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
