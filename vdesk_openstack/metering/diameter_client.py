"""Pipelined Diameter Rf client that never gives a record up.

One asyncio loop (:class:`.sender.SpoolingClient`) keeps a TCP connection
to the first peer that works, in the order given (the URL's host, then the
``failover`` peers). On a new connection it sends a Capabilities-Exchange-
Request (python-diameter's message classes build and parse CER/CEA,
DWR/DWA and DPR/DPA) advertising Acct-Application-Id 3; once the CEA says
DIAMETER_SUCCESS, Accounting-Requests flow with up to ``max_in_flight``
outstanding, matched to their answers by Hop-by-Hop Identifier. ACRs are
encoded straight from the spooled AVP dict (:mod:`.diameter_records`) and
written to the socket in batches; answers are scanned for their
Result-Code without building objects.

Outcome of an ACR, by the classes of RFC 6733 section 7.1:

- ACA with Result-Code 2001: acknowledged, the record leaves the spool;
- a permanent failure (5xxx): the CDF refuses the record itself and would
  refuse it again. It is *parked* in the spool's quarantine with the code
  and Error-Message, and logged (``vdesk-manage charging parked``);
- a protocol error (3xxx, E-bit answers: a relay cannot deliver, the peer
  is busy, the realm is not served...), a transient failure (4xxx), an
  answer without Result-Code, no answer within ``timeout``, the
  connection lost: not the record's fault. The peer is left alone for a
  backoff, the record goes back to the queue and is resent -- to the next
  peer meanwhile -- with the T (potentially retransmitted) flag and the
  same Session-Id and Accounting-Record-Number, so the CDF can drop a
  duplicate (RFC 6733 section 9.4).

A peer that fails (connection refused or lost, CER refused, no answer to a
request or to a Device-Watchdog-Request in ``timeout`` seconds) is left
alone for a backoff that doubles up to ``backoff_max``; meanwhile the next
peer in the list gets the records. Once the backoff expired the client
reconnects in the background; a preferred peer that is back takes the new
records again; a peer that errs again doubles its backoff. An idle
connection is probed with DWR every ``watchdog_interval`` seconds (RFC
3539 Tw). ``stop()`` sends Disconnect-Peer-Request and waits briefly for
the DPA.

A peer that sends a Disconnect-Peer-Request gets its DPA and no new
request; the answers to the requests in flight are awaited for at most
``DPR_GRACE`` seconds, then the connection is closed by the client --
RFC 6733 section 5.4 leaves that to the DPR's sender, but a peer that
does not do it must not hold the records in flight forever. Those not
answered go back to the queue; the peer is left alone for a backoff
(``backoff_max`` if it said DO_NOT_WANT_TO_TALK_TO_YOU).
"""

import asyncio
import itertools
import logging
import random
import socket
import struct
import time

from diameter.message import commands
from diameter.message import constants as dc
from diameter.message import Message
from oslo_log import log

from vdesk_openstack.metering import diameter_records as drec
from vdesk_openstack.metering import sender

LOG = log.getLogger(__name__)

CMD_ACCOUNTING = 271
FLAG_R, FLAG_P, FLAG_E, FLAG_T = 0x80, 0x40, 0x20, 0x10
HEADER = struct.Struct('!II')  # version+length, flags+code
IDS = struct.Struct('!III')  # application id, hop-by-hop, end-to-end
AVP_HEAD = struct.Struct('!II')
AVP_RESULT_CODE = 268
AVP_ERROR_MESSAGE = 281
DPA_WAIT = 1.0  # seconds stop() waits for the answer to its DPR
DPR_GRACE = 1.0  # seconds answers are awaited after the peer's DPR
DISCONNECT_CAUSES = {0: 'REBOOTING', 1: 'BUSY',
                     2: 'DO_NOT_WANT_TO_TALK_TO_YOU'}

RESULT_NAMES = {v: n[len('E_RESULT_CODE_'):]
                for n, v in vars(dc).items()
                if n.startswith('E_RESULT_CODE_DIAMETER_')}


def describe(code):
    return '%d (%s)' % (code, RESULT_NAMES.get(code, 'unknown'))


class Peer:
    """A Diameter peer (a CDF) and the connection to it."""

    def __init__(self, name, host, port):
        self.name = name
        self.host = host
        self.port = port
        # connecting, cer, open; closing (we sent DPR), draining (the
        # peer sent DPR: answers still awaited, then closed)
        self.state = 'closed'
        self.transport = None
        self.in_flight = {}  # hop-by-hop id -> _Attempt
        self.dead_until = 0.0
        self.failures = 0
        self.epoch = 0  # incremented each time the peer is marked down
        self.last_heard = 0.0
        self.dwr_sent = None  # monotonic time of the unanswered DWR
        self.cer_sent = 0.0
        self.dpa = None  # future, while a DPR is unanswered
        self.hop_ids = itertools.count(random.randrange(2 ** 31))

    def __str__(self):
        return '%s %s:%d' % (self.name, self.host, self.port)

    def next_hop(self):
        return next(self.hop_ids) & 0xffffffff


class _Attempt:
    __slots__ = ('record', 'sent', 'epoch')

    def __init__(self, record, sent, epoch):
        self.record = record
        self.sent = sent
        self.epoch = epoch


class _Protocol(asyncio.Protocol):

    def __init__(self, client, peer):
        self.client = client
        self.peer = peer
        self.buffer = bytearray()

    def connection_made(self, transport):
        self.client._connected(self.peer, transport)

    def data_received(self, data):
        buf = self.buffer
        buf += data
        pos = 0
        end = len(buf)
        messages = []
        while end - pos >= 20:
            length = int.from_bytes(buf[pos + 1:pos + 4], 'big')
            if length < 20:
                self.client._protocol_error(self.peer, 'message length %d'
                                            % length)
                return
            if end - pos < length:
                break
            messages.append(bytes(buf[pos:pos + length]))
            pos += length
        del buf[:pos]
        for message in messages:
            self.client._on_message(self.peer, message)
        self.client._after_read()

    def connection_lost(self, exc):
        self.client._connection_lost(self.peer, exc)


def _scan_answer(data):
    """Result-Code and Error-Message of an answer's top-level AVPs."""
    code, message = None, None
    pos, end = 20, len(data)
    while pos + 8 <= end:
        avp_code, flags_len = AVP_HEAD.unpack_from(data, pos)
        length = flags_len & 0xffffff
        if length < 8:
            break
        head = 12 if flags_len & 0x80000000 else 8
        if avp_code == AVP_RESULT_CODE and length == head + 4:
            code = int.from_bytes(data[pos + head:pos + length], 'big')
        elif avp_code == AVP_ERROR_MESSAGE:
            message = data[pos + head:pos + length].decode('utf-8',
                                                           'replace')
        pos += (length + 3) & ~3
    return code, message


class DiameterClient(sender.SpoolingClient):
    """Send spooled ACRs to the first working peer of ``peers``."""

    thread_name = 'vdesk-diameter-client'

    def __init__(self, peers, spool, origin_host, origin_realm,
                 destination_realm, destination_host=None, timeout=5.0,
                 max_in_flight=256, watchdog_interval=30.0,
                 backoff_initial=1.0, backoff_max=60.0):
        super().__init__(spool)
        self.peers = peers
        self.origin_host = origin_host
        self.origin_realm = origin_realm
        self.destination_realm = destination_realm
        self.destination_host = destination_host
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self.watchdog_interval = watchdog_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.origin_state_id = int(time.time()) & 0xffffffff
        self._e2e = itertools.count(
            ((self.origin_state_id & 0xfff) << 20) | random.randrange(2 ** 20))
        routing = {'Origin-Host': origin_host, 'Origin-Realm': origin_realm,
                   'Destination-Realm': destination_realm}
        if destination_host:
            routing['Destination-Host'] = destination_host
        self._routing = drec.encode_avps(routing)

    # -- loop hooks ---

    def _on_start(self):
        tick = min(0.1, self.timeout / 4)
        self._loop.call_soon(self._sweep, tick)

    async def _shutdown(self):
        waits = []
        for peer in self.peers:
            if peer.state == 'open':
                peer.state = 'closing'
                peer.dpa = self._loop.create_future()
                msg = commands.DisconnectPeerRequest()
                msg.origin_host = self.origin_host.encode()
                msg.origin_realm = self.origin_realm.encode()
                msg.disconnect_cause = dc.E_DISCONNECT_CAUSE_REBOOTING
                self._send_message(peer, msg)
                waits.append(peer.dpa)
        if waits:
            await asyncio.wait(waits, timeout=DPA_WAIT)
        for peer in self.peers:
            if peer.transport is not None:
                peer.transport.close()

    def _on_close(self):
        for peer in self.peers:
            if peer.transport is not None:
                peer.transport.abort()

    # -- connections ---

    async def _connect(self, peer):
        try:
            await asyncio.wait_for(self._loop.create_connection(
                lambda: _Protocol(self, peer), peer.host, peer.port),
                self.timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            peer.state = 'closed'
            self._peer_down(peer, 'cannot connect: %s' % (
                exc or 'no answer in %.1f s' % self.timeout))
            self._pump()

    def _connected(self, peer, transport):
        peer.transport = transport
        peer.state = 'cer'
        sock = transport.get_extra_info('socket')
        local = transport.get_extra_info('sockname')
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        msg = commands.CapabilitiesExchangeRequest()
        msg.origin_host = self.origin_host.encode()
        msg.origin_realm = self.origin_realm.encode()
        msg.host_ip_address = [local[0] if local else '127.0.0.1']
        msg.vendor_id = drec.VENDOR_VDESK
        msg.product_name = 'vdesk-openstack'
        msg.origin_state_id = self.origin_state_id
        msg.acct_application_id = [drec.ACCT_APPLICATION_ID]
        peer.cer_sent = time.monotonic()
        self._send_message(peer, msg)

    def _send_message(self, peer, msg, answer_to=None):
        if answer_to is None:
            msg.header.hop_by_hop_identifier = peer.next_hop()
            msg.header.end_to_end_identifier = next(self._e2e) & 0xffffffff
        else:
            msg.header.hop_by_hop_identifier = answer_to.hop_by_hop_identifier
            msg.header.end_to_end_identifier = \
                answer_to.end_to_end_identifier
        peer.transport.write(msg.as_bytes())

    def _connection_lost(self, peer, exc):
        was = peer.state
        peer.state = 'closed'
        peer.transport = None
        peer.dwr_sent = None
        if peer.dpa is not None and not peer.dpa.done():
            peer.dpa.set_result(None)
        for attempt in peer.in_flight.values():
            self._requeue(attempt.record)
        lost = len(peer.in_flight)
        peer.in_flight.clear()
        if self._stopped or was == 'closing':
            return
        if was == 'draining':
            if lost:
                LOG.info('Diameter peer %s: connection closed after its '
                         'DPR; %d record(s) in flight will be resent',
                         peer, lost)
        elif not peer.dead_until:
            self._peer_down(peer, 'connection lost%s%s' % (
                ': %s' % exc if exc else '',
                ' with %d request(s) unanswered' % lost if lost else ''))
        self._pump()

    def _close(self, peer, reason):
        if peer.transport is not None:
            self._peer_down(peer, reason)
            peer.transport.abort()  # _connection_lost requeues

    def _protocol_error(self, peer, what):
        self._close(peer, 'protocol error: %s' % what)

    def _peer_down(self, peer, reason, delay=None, level=logging.ERROR):
        peer.epoch += 1
        peer.failures += 1
        if delay is None:
            delay = min(self.backoff_max,
                        self.backoff_initial * 2 ** (peer.failures - 1))
        peer.dead_until = time.monotonic() + delay
        others = [p for p in self.peers if p is not peer]
        LOG.log(level, 'Diameter peer %(peer)s: %(reason)s. %(pending)d '
                'record(s) wait in the spool %(spool)s; next try on this '
                'peer in %(delay).1f s%(other)s.',
                {'peer': peer, 'reason': reason,
                 'pending': self.spool.pending_count(),
                 'spool': self.spool.path, 'delay': delay,
                 'other': ', meanwhile on the failover peer(s)'
                 if others else ''})

    def _peer_up(self, peer):
        if peer.failures:
            LOG.info('Diameter peer %s accepts records again', peer)
        peer.failures = 0
        peer.dead_until = 0.0

    # -- incoming ---

    def _on_message(self, peer, data):
        peer.last_heard = time.monotonic()
        flags = data[4]
        code = int.from_bytes(data[5:8], 'big')
        if code == CMD_ACCOUNTING and not flags & FLAG_R:
            self._on_aca(peer, data, flags)
            return
        try:
            msg = Message.from_bytes(data)
        except Exception as exc:
            self._protocol_error(peer, 'cannot decode a message: %s' % exc)
            return
        if flags & FLAG_R:
            self._on_request(peer, msg)
        elif code == dc.CMD_CAPABILITIES_EXCHANGE:
            self._on_cea(peer, data)
        elif code == dc.CMD_DEVICE_WATCHDOG:
            peer.dwr_sent = None
        elif code == dc.CMD_DISCONNECT_PEER:
            if peer.dpa is not None and not peer.dpa.done():
                peer.dpa.set_result(None)

    def _on_cea(self, peer, data):
        if peer.state != 'cer':
            return
        result, message = _scan_answer(data)
        if result != dc.E_RESULT_CODE_DIAMETER_SUCCESS:
            hint = ''
            if result == dc.E_RESULT_CODE_DIAMETER_UNKNOWN_PEER:
                hint = ('; the CDF does not accept Origin-Host %s (add it '
                        'to its peer list or ACL)' % self.origin_host)
            elif result == dc.E_RESULT_CODE_DIAMETER_NO_COMMON_APPLICATION:
                hint = ('; the CDF does not support base accounting '
                        '(Acct-Application-Id 3)')
            self._close(peer, 'capabilities exchange refused: Result-Code '
                        '%s%s%s' % (describe(result or 0),
                                    ' "%s"' % message if message else '',
                                    hint))
            return
        peer.state = 'open'
        LOG.info('Diameter peer %s: connection open', peer)
        self._pump()

    def _on_request(self, peer, msg):
        code = msg.header.command_code
        if code == dc.CMD_DEVICE_WATCHDOG:
            answer = commands.DeviceWatchdogAnswer()
        elif code == dc.CMD_DISCONNECT_PEER:
            answer = commands.DisconnectPeerAnswer()
        else:
            return  # nothing else is expected from a CDF
        answer.origin_host = self.origin_host.encode()
        answer.origin_realm = self.origin_realm.encode()
        answer.result_code = dc.E_RESULT_CODE_DIAMETER_SUCCESS
        if code == dc.CMD_DEVICE_WATCHDOG:
            answer.origin_state_id = self.origin_state_id
        self._send_message(peer, answer, answer_to=msg.header)
        if code == dc.CMD_DISCONNECT_PEER:
            self._on_dpr(peer, getattr(msg, 'disconnect_cause', None))

    def _on_dpr(self, peer, cause):
        """The peer leaves: no new request; close once answered."""
        if peer.state in ('closing', 'draining'):
            return
        peer.state = 'draining'
        name = DISCONNECT_CAUSES.get(cause, cause)
        self._peer_down(
            peer, 'disconnects (DPR, Disconnect-Cause %s) with %d request(s)'
            ' in flight' % (name, len(peer.in_flight)),
            delay=self.backoff_max if cause == 2 else None,
            level=logging.WARNING)
        if peer.in_flight:
            self._loop.call_later(min(self.timeout, DPR_GRACE),
                                  self._disconnect, peer, peer.transport)
        else:
            self._disconnect(peer, peer.transport)

    def _disconnect(self, peer, transport):
        """Close after a DPR; what is still in flight is requeued."""
        if peer.transport is not transport or transport is None:
            return  # closed already
        transport.close()  # the DPA is flushed first
        # A peer that does not read lets close() wait for ever
        self._loop.call_later(self.timeout, transport.abort)

    def _on_aca(self, peer, data, flags):
        hop = int.from_bytes(data[12:16], 'big')
        attempt = peer.in_flight.pop(hop, None)
        if attempt is None:
            return  # a late answer to a request given up
        record = attempt.record
        result, message = _scan_answer(data)
        if result == dc.E_RESULT_CODE_DIAMETER_SUCCESS:
            if peer.state != 'draining':
                self._peer_up(peer)
            self._acknowledged(record)
            if peer.state == 'draining' and not peer.in_flight:
                self._disconnect(peer, peer.transport)
            return
        detail = 'Result-Code %s%s' % (
            describe(result) if result is not None else 'missing',
            ' "%s"' % message if message else '')
        if result is not None and 5000 <= result < 6000:
            self._park(record, 'refused by Diameter peer %s: %s (session '
                       '%s, record number %s)' % (
                           peer, detail, record.attributes.get('Session-Id'),
                           record.attributes.get('Accounting-Record-Number')))
        else:
            self.stats['transient_errors'] += 1
            self._requeue(record)
            # Only a request sent since the peer was last marked down says
            # something new about it: a probe that fails doubles the
            # backoff, the rest of a refused burst does not.
            if attempt.epoch == peer.epoch:
                self._peer_down(peer, '%s error %s' % (
                    'protocol' if result and 3000 <= result < 4000
                    else 'transient', detail))
        if peer.state == 'draining' and not peer.in_flight:
            self._disconnect(peer, peer.transport)

    def _after_read(self):
        self._pump()

    # -- sending ---

    def _choose(self, now):
        """The peer for the next record, or None to wait.

        The first peer that works gets every record: a later one only
        while every earlier one is down (in its backoff). A peer being
        connected is waited for (at most ``timeout``).
        """
        for peer in self.peers:
            if peer.state == 'closed':
                if now >= peer.dead_until:
                    peer.state = 'connecting'
                    self._loop.create_task(self._connect(peer))
                    return None
                continue
            if peer.state in ('connecting', 'cer'):
                return None
            if peer.state != 'open':
                continue  # closing
            if peer.dead_until and now < peer.dead_until:
                continue  # refused records lately: fail over meanwhile
            if peer.dead_until and peer.in_flight:
                return None  # one record probes a peer after an error
            if len(peer.in_flight) < self.max_in_flight:
                return peer
            return None
        return None

    def _pump(self):
        if self._stopped:
            return
        now = time.monotonic()
        chunks = {}
        queue = self._queue
        while queue:
            peer = self._choose(now)
            if peer is None:
                break
            record = queue.popleft()
            try:
                raw = self._encode(peer, record)
            except Exception as exc:
                self._park(record, 'cannot be encoded: %s' % exc)
                continue
            chunks.setdefault(peer, []).append(raw)
            self.stats['sent'] += 1
            if record.resend:
                self.stats['resent'] += 1
            if peer.dead_until:
                break
        for peer, raws in chunks.items():
            peer.transport.write(b''.join(raws))

    def _encode(self, peer, record):
        avps = record.packet
        if avps is None:
            # Session-Id first (RFC 6733 section 8.8), then the routing
            rest = dict(record.attributes)
            first = drec.encode_avp('Session-Id', rest.pop('Session-Id'))
            avps = record.packet = (first + self._routing +
                                    drec.encode_avps(rest))
        hop = peer.next_hop()
        e2e = next(self._e2e) & 0xffffffff
        flags = FLAG_R | FLAG_P | (FLAG_T if record.resend else 0)
        raw = b''.join((
            HEADER.pack((1 << 24) | (20 + len(avps)),
                        (flags << 24) | CMD_ACCOUNTING),
            IDS.pack(drec.ACCT_APPLICATION_ID, hop, e2e), avps))
        peer.in_flight[hop] = _Attempt(record, time.monotonic(), peer.epoch)
        return raw

    # -- timers ---

    def _sweep(self, tick):
        now = time.monotonic()
        for peer in self.peers:
            if peer.state == 'cer' and now - peer.cer_sent > self.timeout:
                self._close(peer, 'no answer to the capabilities exchange '
                            'in %.1f s' % self.timeout)
            elif peer.state == 'open':
                oldest = min((a.sent for a in peer.in_flight.values()),
                             default=None)
                if oldest is not None and now - oldest > self.timeout:
                    self._close(peer, 'no answer to a request in %.1f s'
                                % self.timeout)
                elif peer.dwr_sent is not None:
                    if now - peer.dwr_sent > self.timeout:
                        self._close(peer, 'no answer to the device watchdog '
                                    'in %.1f s' % self.timeout)
                elif (not peer.in_flight and
                        now - peer.last_heard > self.watchdog_interval):
                    msg = commands.DeviceWatchdogRequest()
                    msg.origin_host = self.origin_host.encode()
                    msg.origin_realm = self.origin_realm.encode()
                    msg.origin_state_id = self.origin_state_id
                    peer.dwr_sent = now
                    self._send_message(peer, msg)
        self._pump()
        self._loop.call_later(tick, self._sweep, tick)
