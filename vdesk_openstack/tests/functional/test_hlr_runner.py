"""The sandbox's osmo-hlr keeps its SIM secrets to itself (real osmo-hlr).

Its database holds every SIM's K and OPc, and its VTY can read and change
subscribers; a loopback port is reachable by every user of the host.
"""

import os
import socket
import stat
import time

import testtools

from vdesk_openstack.sandbox import hlr as osmo_hlr
from vdesk_openstack.tests import services

IMSI = '001010000000099'
K = '465b5ce8b199b49faa5f0a2ee238a6bc'
OPC = 'cd63cb71954a9f4e48a5994e37a02baf'


def _read_for(sock, seconds):
    sock.settimeout(0.2)
    data, deadline = b'', time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            break
        data += chunk
    return data


class HlrRunnerTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        services.require(self, 'osmo-hlr')
        self.hlr = osmo_hlr.OsmoHlr().start()
        self.addCleanup(self.hlr.cleanup)
        self.hlr.provision(IMSI, K, OPC)

    def mode(self, path):
        return stat.S_IMODE(os.stat(path).st_mode)

    def test_files_are_private(self):
        self.assertEqual(0o700, self.mode(self.hlr.workdir))
        self.assertEqual(0o600, self.mode(self.hlr.config_file))

    def test_vty_without_the_password_shows_nothing(self):
        with socket.create_connection(self.hlr.gsup_address[:1] +
                                      (osmo_hlr.VTY_PORT,), timeout=5) as s:
            _read_for(s, 0.5)
            for line in (b'enable', b'show subscriber imsi ' +
                         IMSI.encode(), b''):
                s.sendall(line + b'\n')
            answer = _read_for(s, 1.0)
        self.assertNotIn(b'OsmoHLR>', answer)
        self.assertNotIn(b'OsmoHLR#', answer)
        self.assertNotIn(IMSI.encode(), answer.replace(
            b'show subscriber imsi ' + IMSI.encode(), b''))
        self.assertNotIn(K.encode(), answer)
        # The runner itself, with the password, still provisions.
        self.assertIn(IMSI, self.hlr.vty('show subscriber imsi %s'
                                         % IMSI)[0])
