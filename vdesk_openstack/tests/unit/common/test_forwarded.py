"""Which address a request comes from, behind trusted proxies or not."""

import ipaddress

import testtools

from vdesk_openstack.common import forwarded

A = ipaddress.ip_address
PROXIES = [forwarded.network('10.0.0.0/24'), forwarded.network('10.9.9.9'),
           forwarded.network('2001:db8:f::/48')]


class ParseHopTest(testtools.TestCase):

    def test_addresses_with_and_without_port(self):
        for text, expected in [
                ('192.0.2.1', '192.0.2.1'),
                (' 192.0.2.1 ', '192.0.2.1'),
                ('192.0.2.1:4711', '192.0.2.1'),
                ('2001:db8::1', '2001:db8::1'),
                ('[2001:db8::1]', '2001:db8::1'),
                ('[2001:db8::1]:4711', '2001:db8::1'),
                ('[2001:0db8:0000:0000:0000:0000:0000:0001]:65535',
                 '2001:db8::1'),
                ('fe80::1%eth0', 'fe80::1'),
                ('[fe80::1%eth0]:80', 'fe80::1'),
                # IPv4-mapped: the IPv4 address it is.
                ('::ffff:192.0.2.7', '192.0.2.7'),
                ('[::ffff:192.0.2.7]:1', '192.0.2.7')]:
            self.assertEqual(A(expected), forwarded.parse_hop(text), text)

    def test_garbage_is_no_address(self):
        for text in ('', 'unknown', '_hidden', 'example.net',
                     '192.0.2.1:', '192.0.2.1:http', '192.0.2.1:65536',
                     '[2001:db8::1', '[2001:db8::1]x', '[2001:db8::1]:',
                     '2001:db8::1:4711:zz', '192.0.2.1, 192.0.2.2',
                     '999.0.2.1'):
            self.assertIsNone(forwarded.parse_hop(text), text)


class ClientAddressTest(testtools.TestCase):

    def client(self, peer, header, proxies=PROXIES):
        return forwarded.client_address(peer, header, proxies)

    def test_untrusted_peer_ignores_the_header(self):
        self.assertEqual(A('198.51.100.1'),
                         self.client('198.51.100.1', '203.0.113.9'))
        self.assertEqual(A('198.51.100.1'),
                         self.client('198.51.100.1', None))
        # No trusted proxy configured: never read.
        self.assertEqual(A('10.0.0.1'),
                         self.client('10.0.0.1', '203.0.113.9', []))

    def test_trusted_peer_gives_the_right_most_untrusted_hop(self):
        # The client wrote "1.2.3.4"; the proxy appended what it saw.
        self.assertEqual(A('203.0.113.9'),
                         self.client('10.0.0.5', '1.2.3.4, 203.0.113.9'))
        # Chains of trusted proxies are skipped, whatever their family.
        self.assertEqual(A('203.0.113.9'), self.client(
            '10.0.0.5', '1.2.3.4,203.0.113.9, 10.9.9.9,2001:db8:f::2'))
        # Several headers, as the WSGI server joins them.
        self.assertEqual(A('2001:db8:1::7'), self.client(
            '2001:db8:f::1', '1.2.3.4,[2001:db8:1::7]:4711'))

    def test_trusted_peer_without_a_header_is_the_client(self):
        for header in (None, '', ' , '):
            self.assertEqual(A('10.0.0.5'), self.client('10.0.0.5', header))

    def test_all_hops_trusted_gives_the_furthest(self):
        self.assertEqual(A('10.0.0.7'),
                         self.client('10.0.0.5', '10.0.0.7, 10.9.9.9'))

    def test_garbage_stops_at_the_last_trusted_hop(self):
        self.assertEqual(A('10.9.9.9'), self.client(
            '10.0.0.5', '203.0.113.9, unknown, 10.9.9.9'))
        self.assertEqual(A('10.0.0.5'),
                         self.client('10.0.0.5', '203.0.113.9, nonsense'))

    def test_peer_that_is_no_address(self):
        self.assertIsNone(self.client('', '203.0.113.9'))
        self.assertIsNone(self.client(None, '203.0.113.9'))
        self.assertIsNone(self.client('unix:/run/ks.sock', '203.0.113.9'))

    def test_ipv4_mapped_peer_matches_an_ipv4_proxy(self):
        self.assertEqual(A('203.0.113.9'),
                         self.client('::ffff:10.0.0.5', '203.0.113.9'))


class KeyTest(testtools.TestCase):

    def test_ipv4_is_itself_ipv6_its_network(self):
        self.assertEqual('192.0.2.1', forwarded.key(A('192.0.2.1')))
        self.assertEqual('2001:db8:1:2::/64',
                         forwarded.key(A('2001:db8:1:2:aaaa::1')))
        self.assertEqual('2001:db8::/48',
                         forwarded.key(A('2001:db8:0:ffff::1'), 48))
        self.assertEqual('2001:db8::1', forwarded.key(A('2001:db8::1'), 128))
        self.assertIsNone(forwarded.key(None))

    def test_longest_key_fits_the_column(self):
        longest = forwarded.key(A('ffff:ffff:ffff:ffff:ffff:ffff:ffff:'
                                  'ffff'), 127)
        self.assertLessEqual(len(longest), 43)


class NetworkTest(testtools.TestCase):

    def test_addresses_and_networks(self):
        self.assertEqual(ipaddress.ip_network('10.0.0.0/8'),
                         forwarded.network('10.1.2.3/8'))
        self.assertEqual(ipaddress.ip_network('2001:db8::1/128'),
                         forwarded.network(' 2001:db8::1 '))

    def test_bad_value_names_itself(self):
        error = self.assertRaises(ValueError, forwarded.network,
                                  'proxy.example.net')
        self.assertIn('proxy.example.net', str(error))
