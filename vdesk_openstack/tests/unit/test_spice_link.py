"""The hand-made SPICE link handshake the real-cloud test probes with."""

import socket
import struct
import threading

import testtools

from vdesk_openstack.tests import spice_link


def _reply(error):
    body = (struct.pack('<I', error) + b'\0' * 162 +
            struct.pack('<III', 0, 0, 178))
    return spice_link.HEADER.pack(b'REDQ', 2, 2, len(body)) + body


class SpiceLinkTest(testtools.TestCase):

    def test_link_message(self):
        data = spice_link.link_message()
        magic, major, minor, size = spice_link.HEADER.unpack_from(data)
        self.assertEqual((b'REDQ', 2, 2), (magic, major, minor))
        self.assertEqual(len(data) - spice_link.HEADER.size, size)
        conn, channel, channel_id, common, caps, offset = \
            spice_link.LINK_MESS.unpack_from(data, spice_link.HEADER.size)
        self.assertEqual((0, spice_link.CHANNEL_MAIN, 0, 1, 0, 18),
                         (conn, channel, channel_id, common, caps, offset))

    def test_parse_reply(self):
        self.assertEqual('OK', spice_link.parse_link_reply(_reply(0)))
        self.assertEqual(spice_link.NEED_SECURED,
                         spice_link.parse_link_reply(_reply(5)))
        self.assertEqual('ERROR_99', spice_link.parse_link_reply(_reply(99)))
        self.assertRaises(ValueError, spice_link.parse_link_reply, b'REDQ')
        self.assertRaises(ValueError, spice_link.parse_link_reply,
                          b'HTTP/1.1 400 Bad Request\r\n\r\n')

    def test_link_against_a_server_that_requires_tls(self):
        server = socket.create_server(('127.0.0.1', 0))
        self.addCleanup(server.close)
        port = server.getsockname()[1]

        def answer():
            conn, _ = server.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(_reply(5))
        threading.Thread(target=answer, daemon=True).start()
        self.assertEqual(spice_link.NEED_SECURED,
                         spice_link.link('127.0.0.1', port))
        server.close()
        self.assertEqual('REFUSED', spice_link.link('127.0.0.1', port))
