"""The GSUP client's pool, failover, backoff and deadlines, on fake sockets.

The fake HLR speaks the real protocol (IPA frames, CCM identity exchange,
GSUP encoded by pyosmocom) over an in-memory socket; the functional tests
do the same against osmo-hlr.
"""

import socket
import threading

from osmocom.gsup import message as gsup
import testtools

from vdesk_openstack.hss.gsup import client
from vdesk_openstack.hss.gsup import ipa
from vdesk_openstack.hss.gsup import protocol

ID_GET = bytes.fromhex('0011fe0401080107010201030104010501010100')
IMSI = '001010000000001'


def sai_result(imsi, rand=b'r' * 16):
    msg = gsup.GsupMessage.from_dict({
        'msg_type': 'SEND_AUTH_INFO_RESULT',
        'ies': [{'imsi': imsi}, {'auth_tuple': [
            {'rand': rand}, {'ik': b'i' * 16}, {'ck': b'c' * 16},
            {'autn': b'a' * 6 + b'\x00\x00' + b'm' * 8},
            {'res': b'x' * 8}]}]})
    return ipa.gsup_frame(msg.to_bytes())


class FakeHlrSocket(object):
    """A connected socket to a fake HLR.

    ``mode``: 'ok' answers every request; 'silent' never answers; 'mute'
    never even sends ID_GET; 'eof' closes after the identity exchange;
    'other-imsi' answers for another IMSI.
    """

    def __init__(self, hlr, server, mode):
        self.hlr, self.server, self.mode = hlr, server, mode
        self.inbox = bytearray() if mode == 'mute' else bytearray(ID_GET)
        self.reader = ipa.FrameReader()
        self.closed = False
        self.timeout = None
        self.names = []

    def settimeout(self, value):
        self.timeout = value

    def setsockopt(self, *args):
        pass

    def sendall(self, data):
        if self.closed:
            raise BrokenPipeError('closed')
        for proto, body in self.reader.feed(data):
            if proto == ipa.PROTO_CCM and body[0] == ipa.CCM_ID_RESP:
                self.names.append(ipa.parse_id_resp(body[1:])[0])
            elif proto == ipa.PROTO_OSMO:
                self.hlr.requests.append((self.server, body[1:]))
                imsi = gsup.GsupMessage.from_bytes(
                    body[1:]).to_dict()['ies'][0]['imsi']
                if self.mode == 'ok':
                    self.inbox += ipa.ccm_frame(ipa.CCM_PING)
                    self.inbox += sai_result(imsi)
                elif self.mode == 'other-imsi':
                    self.inbox += sai_result('001019999999999')

    def recv(self, size):
        if self.inbox:
            data = bytes(self.inbox[:size])
            del self.inbox[:size]
            return data
        if self.mode == 'eof' or self.closed:
            return b''
        raise socket.timeout('timed out')

    def close(self):
        self.closed = True


class FakeNetwork(object):
    """``connect`` for the client: per-server behaviour, counts."""

    def __init__(self, modes):
        self.modes = dict(modes)  # server -> mode or 'down'
        self.connects = []
        self.requests = []
        self.sockets = []
        self.lock = threading.Lock()

    def connect(self, server, timeout=None):
        with self.lock:
            self.connects.append(server)
        mode = self.modes[server]
        if mode == 'down':
            raise ConnectionRefusedError(111, 'Connection refused')
        sock = FakeHlrSocket(self, server, mode)
        self.sockets.append(sock)
        return sock


A = ('127.0.0.2', 4222)
B = ('127.0.0.3', 4222)


class GsupClientTest(testtools.TestCase):

    def make(self, modes, servers=(A, B), **kwargs):
        net = FakeNetwork(modes)
        kwargs.setdefault('timeout', 0.2)
        gsup_client = client.GsupClient(list(servers), 'vdesk',
                                        connect=net.connect, **kwargs)
        return net, gsup_client

    def test_parse_servers(self):
        self.assertEqual([('127.0.0.1', 4222), ('hlr.example', 4223),
                          ('::1', 4222)],
                         client.parse_servers(['127.0.0.1:4222',
                                               ' hlr.example:4223',
                                               '[::1]:4222', '']))
        self.assertEqual([('hlr', 4222)], client.parse_servers(['hlr']))
        for bad in (['hlr:x'], ['hlr:0'], [':4222'], [], ['']):
            self.assertRaises(ValueError, client.parse_servers, bad)

    def test_connection_is_reused_and_named_uniquely(self):
        net, gsup_client = self.make({A: 'ok', B: 'ok'},
                                     max_connections=2)
        for _ in range(6):
            answer = gsup_client.send_auth_info(IMSI)
            self.assertEqual(IMSI, answer.imsi)
            self.assertEqual(b'x' * 8, answer.vectors[0].xres)
        # Two connections (the pool's size), rotated; all to A.
        self.assertEqual([A, A], net.connects)
        self.assertEqual(6, len(net.requests))
        names = [s.names[0] for s in net.sockets]
        self.assertEqual(2, len(set(names)))
        for name in names:
            self.assertTrue(name.startswith('vdesk-'), name)
        self.assertEqual({3}, {sum(1 for srv, _ in net.requests
                                   if srv == A) // 2})

    def test_failover_to_the_second_server_and_backoff(self):
        net, gsup_client = self.make({A: 'down', B: 'ok'},
                                     max_connections=1)
        self.assertTrue(gsup_client.send_auth_info(IMSI).ok)
        self.assertEqual([A, B], net.connects)
        self.assertFalse(gsup_client.backoff.available(0))
        self.assertTrue(gsup_client.backoff.available(1))
        # While A is in backoff, its connection to B is kept.
        self.assertTrue(gsup_client.send_auth_info(IMSI).ok)
        self.assertEqual([A, B], net.connects)
        self.assertEqual([B, B], [srv for srv, _ in net.requests])

    def test_back_to_the_first_server_once_its_backoff_expired(self):
        net, gsup_client = self.make({A: 'down', B: 'ok'},
                                     max_connections=1,
                                     backoff_initial=0.0)
        gsup_client.send_auth_info(IMSI)
        net.modes[A] = 'ok'
        gsup_client.send_auth_info(IMSI)
        self.assertEqual([A, B, A], net.connects)
        self.assertEqual([B, A], [srv for srv, _ in net.requests])

    def test_backoff_doubles_up_to_the_maximum(self):
        now = [100.0]
        backoff = client.Backoff(2, initial=0.5, maximum=3.0,
                                 clock=lambda: now[0])
        self.assertEqual([0.5, 1.0, 2.0, 3.0, 3.0],
                         [backoff.failed(0) for _ in range(5)])
        self.assertEqual([1, 0], backoff.order())
        now[0] += 3.0
        self.assertEqual([0, 1], backoff.order())
        backoff.failed(0)
        backoff.failed(1)
        now[0] += 0.1
        # Every server in backoff: all tried anyway, soonest first.
        self.assertEqual([1, 0], backoff.order())
        backoff.succeeded(0)
        self.assertEqual([0, 1], backoff.order())

    def test_all_down_is_unavailable_naming_them(self):
        net, gsup_client = self.make({A: 'down', B: 'down'})
        e = self.assertRaises(client.HlrUnavailable,
                              gsup_client.send_auth_info, IMSI)
        self.assertIn('127.0.0.2:4222', str(e))
        self.assertIn('127.0.0.3:4222', str(e))
        # Still tried at the next request (all in backoff): an HLR that
        # is back is used at once.
        net.modes[B] = 'ok'
        self.assertTrue(gsup_client.send_auth_info(IMSI).ok)

    def test_silent_hlr_times_out_and_its_connection_is_dropped(self):
        net, gsup_client = self.make({A: 'silent'}, servers=(A,))
        e = self.assertRaises(client.HlrUnavailable,
                              gsup_client.send_auth_info, IMSI)
        self.assertIn('127.0.0.2:4222 did not answer within 0.2 s', str(e))
        self.assertTrue(net.sockets[0].closed)
        net.modes[A] = 'ok'
        self.assertTrue(gsup_client.send_auth_info(IMSI).ok)
        self.assertEqual(2, len(net.connects))

    def test_hlr_without_identity_request_times_out(self):
        net, gsup_client = self.make({A: 'mute'}, servers=(A,))
        e = self.assertRaises(client.HlrUnavailable,
                              gsup_client.send_auth_info, IMSI)
        self.assertIn('did not answer within', str(e))
        self.assertEqual([], net.requests)

    def test_pooled_connection_closed_by_the_hlr_is_replaced(self):
        net, gsup_client = self.make({A: 'ok'}, servers=(A,),
                                     max_connections=1)
        gsup_client.send_auth_info(IMSI)
        net.sockets[0].mode = 'eof'  # HLR restarted
        net.sockets[0].closed = True
        self.assertTrue(gsup_client.send_auth_info(IMSI).ok)
        self.assertEqual([A, A], net.connects)
        self.assertTrue(gsup_client.backoff.available(0))

    def test_answer_for_another_imsi_is_never_returned(self):
        net, gsup_client = self.make({A: 'other-imsi'}, servers=(A,))
        e = self.assertRaises(client.HlrUnavailable,
                              gsup_client.send_auth_info, IMSI)
        self.assertIn('answer for another IMSI', str(e))
        self.assertTrue(net.sockets[0].closed)

    def test_busy_pool_makes_requests_wait_then_time_out(self):
        net, gsup_client = self.make({A: 'ok'}, servers=(A,),
                                     max_connections=1, timeout=0.1)
        held = gsup_client._checkout(float('inf'))
        self.assertIsNone(held)  # the one slot, taken
        e = self.assertRaises(client.HlrUnavailable,
                              gsup_client.send_auth_info, IMSI)
        self.assertIn('all 1 connections to the HLR busy', str(e))

    def test_concurrent_requests_use_distinct_connections(self):
        net, gsup_client = self.make({A: 'ok'}, servers=(A,),
                                     max_connections=4, timeout=2.0)
        results = []
        threads = [threading.Thread(
            target=lambda: results.append(gsup_client.send_auth_info(IMSI)))
            for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(16, len(results))
        self.assertTrue(all(r.ok for r in results))
        self.assertLessEqual(len(net.connects), 4)
        self.assertEqual(16, len(net.requests))

    def test_unknown_message_types_are_skipped(self):
        net, gsup_client = self.make({A: 'ok'}, servers=(A,),
                                     max_connections=1)
        gsup_client.send_auth_info(IMSI)
        sock = net.sockets[0]
        # An unsolicited InsertSubscriberData before the answer.
        insert = gsup.GsupMessage.from_dict({
            'msg_type': 'INSERT_DATA_REQUEST', 'ies': [{'imsi': IMSI}]})
        sock.inbox += ipa.gsup_frame(insert.to_bytes())
        self.assertTrue(gsup_client.send_auth_info(IMSI).ok)

    def test_send_auth_info_error_is_an_answer(self):
        net, gsup_client = self.make({A: 'ok'}, servers=(A,),
                                     max_connections=1)
        gsup_client.send_auth_info(IMSI)
        sock = net.sockets[0]
        sock.mode = 'silent'
        sock.inbox += ipa.gsup_frame(bytes.fromhex(
            '09010800010100000000f1020102'))
        answer = gsup_client.send_auth_info(IMSI)
        self.assertEqual(protocol.CAUSE_IMSI_UNKNOWN, answer.cause)

    def test_unusable_answer_keeps_the_connection(self):
        net, gsup_client = self.make({A: 'ok'}, servers=(A,),
                                     max_connections=1)
        gsup_client.send_auth_info(IMSI)
        sock = net.sockets[0]
        sock.mode = 'silent'
        # GSM triplet only: no UMTS parameters.
        sock.inbox += ipa.gsup_frame(bytes.fromhex(
            '0a010800010100000000f1030c2004aaaaaaaa2104bbbbbbbb'))
        e = self.assertRaises(client.HlrUnavailable,
                              gsup_client.send_auth_info, IMSI)
        self.assertIn('unusable answer', str(e))
        self.assertFalse(sock.closed)
        self.assertTrue(gsup_client.backoff.available(0))
        sock.mode = 'ok'
        self.assertTrue(gsup_client.send_auth_info(IMSI).ok)
        self.assertEqual(1, len(net.connects))
