"""remote-viewer (.vv) files of spice-direct consoles."""

import configparser

import testtools

from vdesk_openstack.desktops.api import console_file
from vdesk_openstack.desktops import exceptions

CONSOLE = {'type': 'spice-direct', 'url': 'http://proxy/?token=abc',
           'host': '192.0.2.10', 'port': 5900, 'tls_port': 5901,
           'password': 'abc-123'}


def parse(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


class ConsoleFileTest(testtools.TestCase):

    def test_full_file(self):
        viewer = parse(console_file.render(CONSOLE, 'Desktop 001'))[
            'virt-viewer']
        self.assertEqual({'type': 'spice', 'host': '192.0.2.10',
                          'port': '5900', 'tls-port': '5901',
                          'password': 'abc-123', 'title': 'Desktop 001',
                          'delete-this-file': '1', 'enable-usbredir': '1',
                          'enable-usb-autoshare': '1',
                          'enable-smartcard': '1',
                          'toggle-fullscreen': 'shift+f11',
                          'release-cursor': 'shift+f12',
                          'secure-attention': 'ctrl+alt+end'},
                         dict(viewer))

    def test_tls_only_and_plain_only(self):
        tls = parse(console_file.render(dict(CONSOLE, port=None)))
        self.assertNotIn('port', tls['virt-viewer'])
        self.assertEqual('5901', tls['virt-viewer']['tls-port'])
        plain = parse(console_file.render(dict(CONSOLE, tls_port=None)))
        self.assertNotIn('tls-port', plain['virt-viewer'])

    def test_no_endpoint_is_unavailable(self):
        for console in (dict(CONSOLE, host=None),
                        dict(CONSOLE, port=None, tls_port=None)):
            self.assertRaises(exceptions.Unavailable, console_file.render,
                              console)

    def test_values_cannot_inject_keys(self):
        for key, value in (('host', 'h\nenable-usbredir=0'),
                           ('password', 'p\r\nhost=evil'),
                           ('port', '59\n00'), ('port', 70000),
                           ('tls_port', True), ('host', '')):
            self.assertRaises(exceptions.Unavailable, console_file.render,
                              dict(CONSOLE, **{key: value}))
