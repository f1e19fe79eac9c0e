"""A thread-safe GSUP client: pooled connections, failover and backoff.

Each Keystone worker process keeps a pool of up to ``max_connections``
TCP connections to the HLR and reuses them across requests: once the pool
is full a login costs one GSUP round trip, not a TCP and IPA handshake. A
connection carries one request at a time (the thread holding it has it to
itself). Requests take the connection idle the longest: successive
requests rotate over the pool.

Every connection introduces itself with a name of its own,
``<ipa_name>-<host>-<pid>-<n>``: the HLR routes each answer to the
connection registered under the requester's name, so two connections
sharing a name would get each other's answers. The HLR also assigns an
IND (the low 5 bits of the SQN, TS 33.102 Annex C) per name, so the
rotation cycles a subscriber's successive vectors over as many IND slots
as there are connections -- what Annex C's IND cycling is for: the USIM
accepts vectors of distinct slots in any order, so concurrent logins of
one subscriber do not invalidate each other.

Servers are tried in the configured order. A server that refused a
connection or failed a request is avoided for a backoff period (doubling
up to a bound) while another one works; when every server is in backoff
they are tried anyway, so the first request after an outage reaches an
HLR that is back. Connections to a fallback server are given up for the
preferred one once its backoff has expired.

Each request has a deadline (``timeout``): connecting, the identity
exchange and the answer all fit in it, else :class:`HlrUnavailable`. A
connection that timed out is closed (a late answer must not be read as
the answer to the next request).
"""

import collections
import os
import socket
import threading
import time

from oslo_log import log as logging

from vdesk_openstack.hss.gsup import ipa
from vdesk_openstack.hss.gsup import protocol

LOG = logging.getLogger(__name__)

_RECV_SIZE = 65536


class HlrUnavailable(Exception):
    """No HLR answered in time; the message names the HLR(s) tried."""


def parse_servers(entries):
    """``[(host, port)]`` from ``host:port`` strings (port 4222 if none)."""
    servers = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        host, sep, port = entry.rpartition(':')
        if not sep:
            host, port = entry, '4222'
        host = host.strip('[]')
        try:
            number = int(port)
        except ValueError:
            number = -1
        if not host or not 0 < number < 65536:
            raise ValueError('invalid HLR address %r: expected host:port'
                             % entry)
        servers.append((host, number))
    if not servers:
        raise ValueError('no HLR address configured')
    return servers


def _label(server):
    return '%s:%d' % server


class Backoff(object):
    """When each server may be tried again after failures."""

    def __init__(self, count, initial=0.5, maximum=30.0, clock=time.monotonic):
        self._initial = initial
        self._maximum = maximum
        self._clock = clock
        self._failures = [0] * count
        self._retry_at = [0.0] * count
        self._lock = threading.Lock()

    def failed(self, index):
        with self._lock:
            self._failures[index] += 1
            delay = min(self._maximum, self._initial * 2 ** (
                self._failures[index] - 1))
            self._retry_at[index] = self._clock() + delay
            return delay

    def succeeded(self, index):
        with self._lock:
            self._failures[index] = 0
            self._retry_at[index] = 0.0

    def available(self, index):
        return self._clock() >= self._retry_at[index]

    def order(self):
        """Server indexes in the order to try them.

        Available ones in configured order, then the ones in backoff,
        soonest available first.
        """
        now = self._clock()
        with self._lock:
            ready = [i for i, t in enumerate(self._retry_at) if now >= t]
            waiting = sorted((t, i) for i, t in enumerate(self._retry_at)
                             if now < t)
        return ready + [i for _, i in waiting]


class Connection(object):
    """One IPA/GSUP connection, used by one thread at a time."""

    def __init__(self, sock, server, index, name):
        self.sock = sock
        self.server = server
        self.index = index
        self.name = name
        self.reader = ipa.FrameReader()
        self.used = False

    def close(self):
        try:
            self.sock.close()
        except OSError:  # nosec: closing is best effort
            pass

    def _remaining(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout('deadline reached')
        return left

    def _frames(self, deadline):
        """Frames received before ``deadline``; EOF is ConnectionError."""
        while True:
            self.sock.settimeout(self._remaining(deadline))
            data = self.sock.recv(_RECV_SIZE)
            if not data:
                raise ConnectionError('connection closed by the HLR')
            frames = self.reader.feed(data)
            if frames:
                return frames

    def identify(self, deadline):
        """Wait for the HLR's ID_GET and answer it with our name."""
        while True:
            for proto, body in self._frames(deadline):
                if proto != ipa.PROTO_CCM:
                    raise ipa.ProtocolError('data before the identity '
                                            'exchange')
                if body[:1] == bytes([ipa.CCM_ID_GET]):
                    self.sock.sendall(ipa.id_resp(
                        ipa.parse_id_get(body[1:]), self.name))
                    return
                reply = ipa.ccm_reply(body)
                if reply:
                    self.sock.sendall(reply)

    def request(self, payload, imsi, deadline):
        """Send a SendAuthInfo request; return its :class:`SaiAnswer`."""
        self.used = True
        self.sock.settimeout(self._remaining(deadline))
        self.sock.sendall(ipa.gsup_frame(payload))
        while True:
            for proto, body in self._frames(deadline):
                if proto == ipa.PROTO_CCM:
                    reply = ipa.ccm_reply(body)
                    if reply:
                        self.sock.sendall(reply)
                    continue
                if (proto != ipa.PROTO_OSMO or len(body) < 2 or
                        body[0] != ipa.EXT_GSUP):
                    continue  # another Osmocom extension: not ours
                kind = protocol.message_type(body[1:])
                if kind not in (protocol.MsgType.SEND_AUTH_INFO_RESULT,
                                protocol.MsgType.SEND_AUTH_INFO_ERROR):
                    LOG.debug('Ignoring GSUP message type 0x%02x from HLR '
                              '%s', kind, _label(self.server))
                    continue
                answer = protocol.parse_sai_answer(body[1:])
                if answer.imsi != imsi:
                    # Not the answer to our request (one at a time per
                    # connection): never hand a vector to the wrong IMSI.
                    raise ipa.ProtocolError('answer for another IMSI')
                return answer


class GsupClient(object):
    """SendAuthInfo requests to the first HLR of ``servers`` that answers.

    :param servers: ``[(host, port)]`` in order of preference.
    :param ipa_name: prefix of the connections' IPA names.
    :param timeout: seconds per request, connection set-up included.
    :param max_connections: connections kept per process; a request finding
        them all busy waits for one (within its timeout).
    """

    def __init__(self, servers, ipa_name, timeout=2.0, max_connections=8,
                 backoff_initial=0.5, backoff_max=30.0,
                 connect=socket.create_connection):
        self.servers = list(servers)
        self.ipa_name = ipa_name
        self.timeout = timeout
        self.max_connections = max_connections
        self.backoff = Backoff(len(self.servers), backoff_initial,
                               backoff_max)
        self._connect_fn = connect
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._idle = collections.deque()
        self._open = 0
        self._serial = 0
        self._pid = os.getpid()
        self._host = socket.gethostname().split('.')[0] or 'host'

    # -- pool ---------------------------------------------------------------
    def _check_fork(self):
        # A forked child must not share its parent's sockets.
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._idle = collections.deque()
            self._open = 0

    def _checkout(self, deadline):
        """An idle connection, or None if the caller may open a new one.

        The pool grows to ``max_connections`` first (one more IND slot per
        connection), then hands out the connection idle the longest.
        """
        with self._available:
            self._check_fork()
            while True:
                if self._open < self.max_connections:
                    self._open += 1
                    return None
                if self._idle:
                    return self._idle.popleft()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HlrUnavailable(
                        'all %d connections to the HLR busy for %.1f s'
                        % (self.max_connections, self.timeout))
                self._available.wait(left)

    def _checkin(self, conn):
        with self._available:
            if os.getpid() == self._pid:
                self._idle.append(conn)
            self._available.notify()

    def _discard(self, conn):
        if conn is not None:
            conn.close()
        with self._available:
            if self._open > 0:
                self._open -= 1
            self._available.notify()

    def close(self):
        """Close the idle connections (busy ones close when released)."""
        with self._available:
            idle, self._idle = list(self._idle), collections.deque()
            self._open -= len(idle)
        for conn in idle:
            conn.close()

    def _drop_idle(self, server):
        with self._available:
            dropped = [c for c in self._idle if c.server == server]
            self._idle = collections.deque(
                c for c in self._idle if c.server != server)
            self._open -= len(dropped)
            self._available.notify_all()
        for conn in dropped:
            conn.close()

    def _new_name(self):
        with self._lock:
            self._serial += 1
            serial = self._serial
        return '%s-%s-%d-%d' % (self.ipa_name, self._host, self._pid, serial)

    def _open_connection(self, deadline, tried):
        """Connect and identify to the first server that accepts."""
        errors = []
        for index in self.backoff.order():
            server = self.servers[index]
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock = None
            try:
                sock = self._connect_fn(server, timeout=left)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn = Connection(sock, server, index, self._new_name())
                conn.identify(deadline)
                return conn
            except (OSError, ipa.ProtocolError) as e:
                if sock is not None:
                    sock.close()
                delay = self.backoff.failed(index)
                tried.append(_label(server))
                if isinstance(e, socket.timeout):
                    errors.append('%s did not answer within %.1f s' % (
                        _label(server), self.timeout))
                else:
                    errors.append('%s: %s' % (_label(server), _reason(e)))
                LOG.warning('HLR %s unreachable (%s); avoided for %.1f s',
                            _label(server), _reason(e), delay)
        raise HlrUnavailable('no HLR reachable (%s)' % '; '.join(
            errors or ['none answered within %.1f s' % self.timeout]))

    def _preferred_ready(self, conn):
        """Whether a better server than ``conn``'s may be tried again."""
        return any(self.backoff.available(i) for i in range(conn.index))

    # -- requests -------------------------------------------------------------
    def send_auth_info(self, imsi, num_vectors=1, rand=None, auts=None):
        """The HLR's :class:`protocol.SaiAnswer` for ``imsi``.

        :raises HlrUnavailable: no HLR answered within the timeout.
        """
        payload = protocol.send_auth_info(imsi, num_vectors, rand, auts)
        deadline = time.monotonic() + self.timeout
        tried = []
        while True:
            conn = self._checkout(deadline)
            if conn is not None and self._preferred_ready(conn):
                self._discard(conn)
                conn = None
                with self._available:
                    self._open += 1
            reused = conn is not None
            try:
                if conn is None:
                    conn = self._open_connection(deadline, tried)
                answer = conn.request(payload, imsi, deadline)
            except HlrUnavailable:
                self._discard(conn)
                raise
            except protocol.MalformedMessage as e:
                # A whole frame was read: the stream is still in step, the
                # HLR up; only this answer is unusable.
                self._checkin(conn)
                raise HlrUnavailable('HLR %s sent an unusable answer: %s'
                                     % (_label(conn.server), e)) from None
            except (OSError, ipa.ProtocolError) as e:
                self._discard(conn)
                label = _label(conn.server) if conn else '?'
                timed_out = isinstance(e, socket.timeout)
                if (reused and not timed_out and
                        isinstance(e, ConnectionError)):
                    # A pooled connection the HLR closed (restarted):
                    # so are the other idle ones to that HLR. Retry at
                    # once on a fresh one.
                    LOG.info('Connection to HLR %s lost; reconnecting',
                             label)
                    self._drop_idle(conn.server)
                    continue
                if conn is not None:
                    self.backoff.failed(conn.index)
                tried.append(label)
                if timed_out:
                    raise HlrUnavailable(
                        'HLR %s did not answer within %.1f s'
                        % (label, self.timeout)) from None
                raise HlrUnavailable('HLR %s failed: %s'
                                     % (label, _reason(e))) from None
            self.backoff.succeeded(conn.index)
            self._checkin(conn)
            return answer


def _reason(error):
    if isinstance(error, socket.timeout):
        return 'timed out'
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:200]
