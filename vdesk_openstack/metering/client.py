"""Pipelined RADIUS accounting client that never gives a record up.

One asyncio loop in a thread of its own drives non-blocking UDP sockets,
one per accounting server, with up to ``max_in_flight`` requests
outstanding on each (a RADIUS identifier is one octet, so at most 256). A
socket drains every datagram that is ready in one go, and the records
acknowledged meanwhile reach the spool in one ``fsync`` a few milliseconds
later: throughput is bound by the server, not by one request at a time.
pyrad encodes every request (with a Message-Authenticator) and verifies
every reply.

Two kinds of repetition, deliberately different (RFC 5080 section 2.2.1):

*Retransmission*: while an *attempt* is unanswered for ``timeout``
seconds the very same datagram (identifier, authenticator, source port) is
sent again, up to ``retries`` times, so the server can recognise it as
a duplicate (FreeRADIUS 3 does so only while it still processes the
original; after that a retransmission whose answer was lost is recorded
again, see Vdesk-Record-Id below).

*Resend*: when an attempt stays unanswered (or the server refuses it with
ICMP port unreachable) the record goes back to the queue and the server is
considered down for a backoff time that doubles with every failure, up to
``backoff_max``. The next attempt, to the secondary server if it is up or
to the same server once the backoff expired (one record probes it before
the window reopens), is a new request: new identifier, and Acct-Delay-Time
telling how long the record has waited since it was spooled (RFC 2866
section 5.2; also sent on a first try that waited a second or more). A
record is resent only when no acknowledgement came for any of the copies
of the previous attempt, so a server that recorded it but whose every
answer was lost would see it twice: Vdesk-Record-Id, constant across
resends, lets the charging server drop such a duplicate.

Nothing is dropped: a record leaves the spool only on a verified
Accounting-Response, and a record that cannot even be encoded is moved to
the spool's quarantine with an error.
"""

import collections
import socket
import time

from oslo_log import log
from pyrad import packet

from vdesk_openstack.metering import sender

LOG = log.getLogger(__name__)

RECV_BATCH = 1024  # datagrams read per readiness callback at most


class Server:
    """One accounting server and the requests outstanding on it."""

    def __init__(self, name, host, port):
        self.name = name
        self.host = host
        self.port = port
        self.sock = None
        self.connecting = False
        self.free_ids = collections.deque(range(256))
        self.in_flight = {}  # identifier -> _Attempt
        self.dead_until = 0.0  # monotonic time; 0 while the server works
        self.failures = 0  # consecutive failed attempts
        self.epoch = 0  # incremented each time the server is marked down
        self.bad_replies = 0

    def __str__(self):
        return '%s %s:%d' % (self.name, self.host, self.port)


class _Attempt:
    __slots__ = ('record', 'id', 'raw', 'packet', 'first_sent', 'last_sent',
                 'tries', 'epoch')

    def __init__(self, record, ident, raw, pkt, now, epoch):
        self.record = record
        self.id = ident
        self.raw = raw
        self.packet = pkt
        self.first_sent = now
        self.last_sent = now
        self.tries = 1
        self.epoch = epoch


class AccountingClient(sender.SpoolingClient):
    """Send spooled records to a primary and a secondary server."""

    thread_name = 'vdesk-radius-client'

    def __init__(self, servers, secret, dictionary, spool, timeout=3.0,
                 retries=2, max_in_flight=128, backoff_initial=1.0,
                 backoff_max=60.0):
        super().__init__(spool)
        self.servers = servers
        self._secret = secret
        self.dictionary = dictionary
        self.timeout = timeout
        self.retries = retries
        self.max_in_flight = max_in_flight
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max

    def _on_start(self):
        tick = min(0.1, self.timeout / 4)
        self._loop.call_soon(self._sweep, tick)

    def _on_close(self):
        for server in self.servers:
            if server.sock is not None:
                self._loop.remove_reader(server.sock)
                server.sock.close()

    async def _connect(self, server):
        try:
            infos = await self._loop.getaddrinfo(
                server.host, server.port, type=socket.SOCK_DGRAM)
            family, _type, proto, _name, address = infos[0]
            sock = socket.socket(family, socket.SOCK_DGRAM, proto)
            sock.setblocking(False)
            # connected: ICMP port unreachable surfaces as ECONNREFUSED
            sock.connect(address)
        except OSError as exc:
            server.connecting = False
            self._server_down(server, 'cannot reach it: %s' % exc)
            return
        server.sock = sock
        server.connecting = False
        self._loop.add_reader(sock, self._readable, server)
        self._pump()

    def _choose(self, now):
        """The server for the next record, or None to wait.

        The first server that works gets every record (the secondary only
        serves while the primary is down); a down server whose backoff
        expired gets one record as a probe.
        """
        for server in self.servers:
            if server.sock is None:
                if not server.connecting and now >= server.dead_until:
                    server.connecting = True
                    self._loop.create_task(self._connect(server))
                continue
            if not server.dead_until:
                if (len(server.in_flight) < self.max_in_flight
                        and server.free_ids):
                    return server
                return None
            if now >= server.dead_until and not server.in_flight:
                return server
        return None

    def _pump(self):
        now = time.monotonic()
        while self._queue:
            server = self._choose(now)
            if server is None:
                return
            self._send(server, self._queue.popleft(), now)

    def _encode(self, record, ident):
        pkt = packet.AcctPacket(id=ident, secret=self._secret,
                                dict=self.dictionary)
        for name, value in record.attributes.items():
            pkt.AddAttribute(name, value)
        # RFC 2866 5.2: how long the record waited. Sent on resends and on
        # records that waited in the spool (server down, restart); absent
        # on a record that went out at once.
        delay = max(0, int(time.time() - record.spooled_at))
        if record.resend or delay:
            pkt.AddAttribute('Acct-Delay-Time', delay)
        pkt.add_message_authenticator()
        return pkt, pkt.RequestPacket()

    def _send(self, server, record, now):
        ident = server.free_ids.popleft()
        try:
            pkt, raw = self._encode(record, ident)
        except Exception as exc:
            server.free_ids.append(ident)
            self._park(record, 'cannot be encoded: %s' % exc)
            return
        attempt = _Attempt(record, ident, raw, pkt, now, server.epoch)
        server.in_flight[ident] = attempt
        self.stats['sent'] += 1
        if record.resend:
            self.stats['resent'] += 1
        self._transmit(server, attempt)

    def _transmit(self, server, attempt):
        try:
            server.sock.send(attempt.raw)
        except BlockingIOError:
            pass  # like a datagram lost on the way: retransmitted later
        except ConnectionRefusedError:
            self._refused(server)
        except OSError as exc:
            LOG.warning('Cannot send to RADIUS server %s: %s', server, exc)

    def _readable(self, server):
        for _ in range(RECV_BATCH):
            try:
                data = server.sock.recv(4096)
            except BlockingIOError:
                break
            except ConnectionRefusedError:
                self._refused(server)
                continue
            except OSError as exc:
                LOG.warning('Cannot receive from RADIUS server %s: %s',
                            server, exc)
                break
            self._on_reply(server, data)
        self._pump()

    def _on_reply(self, server, data):
        attempt = server.in_flight.get(data[1]) if len(data) >= 20 else None
        if attempt is None:
            return  # late answer to an attempt given up, or garbage
        try:
            reply = attempt.packet.CreateReply(packet=data)
            valid = (reply.code == packet.AccountingResponse and
                     attempt.packet.VerifyReply(reply, data))
        except Exception:
            valid = False
        if not valid:
            server.bad_replies += 1
            if server.bad_replies == 1 or server.bad_replies % 1000 == 0:
                LOG.error('RADIUS server %s sent %d reply(ies) that fail '
                          'authentication: its shared secret for this '
                          'client differs from ours. The records stay in '
                          'the spool.', server, server.bad_replies)
            return
        del server.in_flight[attempt.id]
        server.free_ids.append(attempt.id)
        self._server_up(server)
        self._acknowledged(attempt.record)

    def _sweep(self, tick):
        """Retransmit or give up what timed out; wake up when servers do."""
        now = time.monotonic()
        for server in self.servers:
            for attempt in list(server.in_flight.values()):
                if now - attempt.last_sent < self.timeout:
                    continue
                if attempt.tries <= self.retries:
                    attempt.tries += 1
                    attempt.last_sent = now
                    self.stats['retransmitted'] += 1
                    self._transmit(server, attempt)
                else:
                    self._give_up(server, attempt, silent=True)
        self._pump()
        self._loop.call_later(tick, self._sweep, tick)

    def _refused(self, server):
        # The error belongs to one of the datagrams in flight; they all went
        # to the same closed port.
        for attempt in list(server.in_flight.values()):
            self._give_up(server, attempt, silent=False)

    def _give_up(self, server, attempt, silent):
        del server.in_flight[attempt.id]
        server.free_ids.append(attempt.id)
        self._requeue(attempt.record)
        # Only an attempt sent since the server was last marked down says
        # something new about it (others were in flight already).
        if attempt.epoch == server.epoch:
            if silent:
                reason = (
                    'no answer to %d copies of a record in %.1f s. The '
                    'server is reachable (no ICMP error): most likely its '
                    'shared secret for this client differs from ours '
                    '(FreeRADIUS drops such requests silently), or this '
                    'host is not one of its clients, or a firewall drops '
                    'the packets' % (attempt.tries,
                                     time.monotonic() - attempt.first_sent))
            else:
                reason = 'refused (ICMP port unreachable: the server is ' \
                         'not running or listens on another port)'
            self._server_down(server, reason)

    def _server_down(self, server, reason):
        server.epoch += 1
        server.failures += 1
        delay = min(self.backoff_max,
                    self.backoff_initial * 2 ** (server.failures - 1))
        server.dead_until = time.monotonic() + delay
        LOG.error('RADIUS accounting server %(server)s: %(reason)s. '
                  '%(pending)d record(s) wait in the spool %(spool)s and '
                  'will be resent; next try on this server in %(delay).1f s'
                  '%(other)s.',
                  {'server': server, 'reason': reason,
                   'pending': self.spool.pending_count(),
                   'spool': self.spool.path, 'delay': delay,
                   'other': ', meanwhile on the other one'
                   if len(self.servers) > 1 else ''})

    def _server_up(self, server):
        if server.dead_until:
            LOG.info('RADIUS accounting server %s acknowledges records '
                     'again', server)
        server.dead_until = 0.0
        server.failures = 0
