"""Unit tests of the OSC plugin's pure parts (flags -> capabilities)."""

import argparse

import testtools

from vdesk_openstack.client.osc import commands
from vdesk_openstack.desktops import capabilities


class LoginFlagsTest(testtools.TestCase):

    def parse(self, *argv):
        cmd = commands.Login(app=None, app_args=None)
        return cmd.get_parser('openstack desktop login').parse_args(argv)

    def test_defaults_are_a_native_spice_client_with_sound(self):
        caps = commands.capabilities_from(self.parse())
        self.assertEqual({'client': 'native',
                          'display': {'protocol': 'spice', 'monitors': 1},
                          'audio_out': True, 'audio_in': False,
                          'usb': False, 'smartcard': False}, caps)
        # What the CLI sends is what the service accepts.
        self.assertEqual(caps, capabilities.parse(caps))
        self.assertEqual('spice-direct', capabilities.console_type(caps))

    def test_browser_vnc_with_devices(self):
        caps = commands.capabilities_from(self.parse(
            '--browser', '--protocol', 'vnc', '--monitors', '2',
            '--no-audio', '--microphone', '--usb', '--smartcard'))
        self.assertEqual('browser', caps['client'])
        self.assertEqual({'protocol': 'vnc', 'monitors': 2},
                         caps['display'])
        self.assertEqual((False, True, True, True),
                         (caps['audio_out'], caps['audio_in'], caps['usb'],
                          caps['smartcard']))
        self.assertEqual('novnc', capabilities.console_type(
            capabilities.parse(caps)))

    def test_bad_flags(self):
        self.assertRaises(SystemExit, self.parse, '--monitors', '5')
        self.assertRaises(SystemExit, self.parse, '--native', '--browser')
        self.assertRaises(SystemExit, self.parse, '--protocol', 'rdp')
        self.assertIsInstance(self.parse(), argparse.Namespace)
