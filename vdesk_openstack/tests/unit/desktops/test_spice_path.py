"""Where spice-direct consoles send subscribers (pure logic).

Nova sets no SPICE password on a desktop, so the console token is only
checked by a token-validating SPICE proxy. The service must point the
``.vv`` at that proxy when one is configured, point it at the hypervisor
only when the operator says so, and refuse spice-direct otherwise.
"""

import types

from oslo_config import cfg
import testtools

from vdesk_openstack.conf import desktops as desktops_conf
from vdesk_openstack.desktops import compute
from vdesk_openstack.desktops import exceptions

TOKEN = '4f1c2a9e-token'


class FakeResponse(object):

    def __init__(self, body, status=200):
        self.status_code = status
        self._body = body

    def json(self):
        return self._body


class FakeNovaProxy(object):
    """The two calls a spice-direct console makes to Nova's API."""

    def __init__(self):
        self.calls = []

    def post(self, path, json, microversion):
        self.calls.append(('POST', path))
        return FakeResponse({'remote_console': {
            'protocol': 'spice', 'type': json['remote_console']['type'],
            'url': 'http://127.0.0.1:13002/nova?token=%s' % TOKEN}})

    def get(self, path, microversion):
        self.calls.append(('GET', path))
        return FakeResponse({'console': {'host': '10.0.0.5', 'port': 5901,
                                         'tls_port': None}})


class SpicePathTest(testtools.TestCase):

    def _compute(self, **options):
        conf = cfg.ConfigOpts()
        desktops_conf.register_opts(conf)
        conf([], project='vdesk')
        for name, value in options.items():
            conf.set_override(name, value, group='desktops')
        nova = FakeNovaProxy()
        return compute.Compute(types.SimpleNamespace(compute=nova),
                               conf), nova, conf

    def test_proxy_gets_the_subscriber_and_resolves_the_token(self):
        comp, nova, conf = self._compute(spice_proxy_host='spice.example.net',
                                         spice_proxy_tls_port=443)
        console = comp.console('server-1', 'spice-direct')
        self.assertEqual(('spice.example.net', None, 443, TOKEN),
                         (console['host'], console['port'],
                          console['tls_port'], console['password']))
        # The proxy resolves the token with Nova: the hypervisor's
        # address is not handed to the subscriber.
        self.assertEqual([('POST', '/servers/server-1/remote-consoles')],
                         nova.calls)
        self.assertEqual(compute.PROXY, compute.warn_about_spice_path(conf))

    def test_hypervisor_only_when_the_operator_says_so(self):
        comp, nova, conf = self._compute(spice_direct_to_hypervisor=True)
        console = comp.console('server-1', 'spice-direct')
        self.assertEqual(('10.0.0.5', 5901, TOKEN),
                         (console['host'], console['port'],
                          console['password']))
        self.assertEqual(compute.HYPERVISOR,
                         compute.warn_about_spice_path(conf))

    def test_refused_without_proxy_or_consent(self):
        comp, nova, conf = self._compute()
        e = self.assertRaises(exceptions.Unavailable, comp.console,
                              'server-1', 'spice-direct')
        self.assertIn('no SPICE proxy', str(e))
        self.assertEqual([], nova.calls)  # nothing asked of Nova
        self.assertIsNone(compute.warn_about_spice_path(conf))
        # HTML5 consoles stay available.
        html5 = comp.console('server-1', 'spice-html5')
        self.assertEqual('spice-html5', html5['type'])

    def test_proxy_host_without_port_is_not_a_proxy(self):
        comp, nova, conf = self._compute(spice_proxy_host='spice.example.net')
        self.assertRaises(exceptions.Unavailable, comp.console,
                          'server-1', 'spice-direct')
