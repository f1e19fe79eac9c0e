"""Where spice-direct consoles send subscribers.

Nova sets no SPICE password on a desktop, so the console token is only
checked by a token-validating SPICE proxy. With Kerbside, the service
exchanges Nova's token at Kerbside's API (here a real HTTP server on
loopback standing in for it) and hands its ``.vv`` out unchanged; with
another proxy it points the ``.vv`` at that proxy; it points the ``.vv``
at the hypervisor only when the operator says so, and refuses
spice-direct otherwise. Kerbside down, hung or refusing is a 503 or 502
with a JSON error, and Nova's token appears in no log line.
"""

import http.server
import io
import json
import logging
import socket
import threading
import time
import types
import urllib.parse

import fixtures
from oslo_config import cfg
from oslo_log import formatters
from oslo_log import log as oslo_log
import testtools
import webob

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.conf import desktops as desktops_conf
from vdesk_openstack.desktops.api import app
from vdesk_openstack.desktops.api import console_file
from vdesk_openstack.desktops.api import faults
from vdesk_openstack.desktops.api import policy
from vdesk_openstack.desktops.api import v1
from vdesk_openstack.desktops import compute
from vdesk_openstack.desktops import consoles
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


class ComputeMixin(object):

    def _compute(self, **options):
        conf = cfg.ConfigOpts()
        desktops_conf.register_opts(conf)
        conf([], project='vdesk')
        for name, value in options.items():
            conf.set_override(name, value, group='desktops')
        nova = FakeNovaProxy()
        return compute.Compute(types.SimpleNamespace(compute=nova),
                               conf), nova, conf


class SpicePathTest(ComputeMixin, testtools.TestCase):
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
        # But Nova's token outlives a logout: refused at start-up.
        e = self.assertRaises(consoles.NotRevocable,
                              compute.warn_about_spice_path, conf)
        self.assertIn('spice_proxy_host', str(e))

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


# -- Kerbside -----------------------------------------------------------------
# What Kerbside's GET /nova-console.vv answers: a .vv naming its own proxy,
# with its own password, CA (one line, "\n" escaped) and host subject.
KERBSIDE_VV = (
    '[virt-viewer]\n'
    'type=spice\n'
    'host=kerbside.example.net\n'
    'port=5901\n'
    'tls-port=5900\n'
    'password=Kb7yq0kerbsidetoken\n'
    'delete-this-file=1\n'
    'fullscreen=0\n'
    'title=server-1 via proxy session ID s3ss10n\n'
    'tls-ciphers=DEFAULT\n'
    'ca=-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\n'
    'host-subject=C=US,O=Example,CN=Kerbside Proxy\n')


class StubKerbside(object):
    """Kerbside's token exchange on a loopback port, answering ``reply``.

    ``reply`` is (status, content type, body), or None to accept the
    request and never answer (a hung Kerbside).
    """

    def __init__(self, test, reply):
        stub = self
        self.tokens = []
        self.reply = reply
        self.release = threading.Event()
        test.addCleanup(self.release.set)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                parsed = urllib.parse.urlsplit(self.path)
                stub.tokens.append((parsed.path, urllib.parse.parse_qs(
                    parsed.query).get('token')))
                if stub.reply is None:
                    stub.release.wait(10)
                    return
                status, ctype, body = stub.reply
                data = body.encode()
                self.send_response(status)
                self.send_header('Content-Type', ctype)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.server.daemon_threads = True
        thread = threading.Thread(target=self.server.serve_forever,
                                  daemon=True)
        thread.start()
        test.addCleanup(self.server.server_close)
        test.addCleanup(self.server.shutdown)
        self.url = 'http://127.0.0.1:%d' % self.server.server_port


class FakeManager(object):
    """The manager's console(), on the real Compute (glue only)."""

    def __init__(self, comp):
        self.comp = comp

    def console(self, subscriber, console_type, user_id):
        return self.comp.console('server-1', console_type)


class KerbsideTest(ComputeMixin, testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(
            name=compute.__name__, level=logging.INFO))
        # What the services write: oslo.log's formatter, which appends the
        # exception being handled to a warning or an error.
        log_conf = cfg.ConfigOpts()
        oslo_log.register_options(log_conf)
        log_conf([], project='vdesk')
        self.service_log = io.StringIO()
        handler = logging.StreamHandler(self.service_log)
        handler.setFormatter(formatters.ContextFormatter(
            config=log_conf, project='vdesk', version='test'))
        for name in (compute.__name__, faults.__name__):
            logger = logging.getLogger(name)
            logger.addHandler(handler)
            self.addCleanup(logger.removeHandler, handler)

    def _kerbside(self, reply=(200, 'application/x-virt-viewer',
                               KERBSIDE_VV), **options):
        stub = StubKerbside(self, reply)
        options.setdefault('kerbside_auth_secret', 'seed')
        comp, nova, conf = self._compute(kerbside_url=stub.url + '/',
                                         **options)
        return comp, nova, conf, stub

    def _api(self, comp):
        conf = vdesk_conf.make_vdesk_conf()
        return app.Router(v1.API(FakeManager(comp),
                                 policy.Enforcer(conf)).routes())

    def _get(self, router, path):
        req = webob.Request.blank(path)
        req.environ['keystone.token_info'] = {'token': {'methods': ['aka']}}
        req.headers.update({'X-User-Name': '001010000000001',
                            'X-User-Id': 'uid', 'X-User-Domain-Name': 'vdesk',
                            'X-Project-Name': 'subscribers',
                            'X-Project-Domain-Name': 'vdesk',
                            'X-Project-Id': 'pid',
                            'X-Roles': 'vdesk_subscriber'})
        return req.get_response(router)

    def test_kerbside_vv_is_passed_through(self):
        comp, nova, conf, stub = self._kerbside()
        console = comp.console('server-1', 'spice-direct')
        # Nova's token went to Kerbside, and only there.
        self.assertEqual([('/nova-console.vv', [TOKEN])], stub.tokens)
        self.assertEqual([('POST', '/servers/server-1/remote-consoles')],
                         nova.calls)
        self.assertEqual(KERBSIDE_VV, console['vv'])
        self.assertEqual(
            ('kerbside.example.net', 5901, 5900, 'Kb7yq0kerbsidetoken',
             'C=US,O=Example,CN=Kerbside Proxy'),
            (console['host'], console['port'], console['tls_port'],
             console['password'], console['host_subject']))
        self.assertEqual('-----BEGIN CERTIFICATE-----\nMIIB\n'
                         '-----END CERTIFICATE-----\n', console['ca'])
        self.assertNotIn(TOKEN, repr(console))
        self.assertEqual(KERBSIDE_VV, console_file.render(console))
        self.assertEqual(compute.KERBSIDE,
                         compute.warn_about_spice_path(conf))

    def test_api_gives_kerbside_vv_unchanged_and_json_without_it(self):
        comp, nova, conf, stub = self._kerbside()
        router = self._api(comp)
        response = self._get(router,
                             '/desktop/console?type=spice-direct&format=vv')
        self.assertEqual(200, response.status_int)
        self.assertEqual(KERBSIDE_VV, response.text)
        self.assertEqual('no-store', response.headers['Cache-Control'])
        response = self._get(router, '/desktop/console?type=spice-direct')
        self.assertEqual(200, response.status_int)
        body = json.loads(response.body)['console']
        self.assertEqual({'type', 'host', 'port', 'tls_port', 'password',
                          'ca', 'host_subject'}, set(body))
        self.assertNotIn(TOKEN, response.text)

    def test_kerbside_takes_precedence_over_other_paths(self):
        comp, nova, conf, stub = self._kerbside(
            spice_proxy_host='spice.example.net', spice_proxy_tls_port=443,
            spice_direct_to_hypervisor=True)
        self.assertEqual('kerbside.example.net',
                         comp.console('server-1', 'spice-direct')['host'])
        self.assertEqual(compute.KERBSIDE,
                         compute.warn_about_spice_path(conf))
        self.assertIn('spice_proxy_host and spice_direct_to_hypervisor are '
                      'ignored', self.log.output)

    def _assert_no_token_logged(self):
        self.assertNotIn(TOKEN, self.log.output)
        self.assertNotIn(TOKEN, self.service_log.getvalue())

    def test_kerbside_down_is_503(self):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]  # closed again: nothing listens
        comp, nova, conf = self._compute(
            kerbside_url='http://127.0.0.1:%d' % port)
        e = self.assertRaises(exceptions.Unavailable, comp.console,
                              'server-1', 'spice-direct')
        self.assertEqual(503, e.code)
        self.assertIn('SPICE console proxy is unavailable', str(e))
        self.assertIn('unreachable', self.log.output)
        self._assert_no_token_logged()
        self.assertNotIn(TOKEN, str(e))
        # Through the API: a JSON error, not a 500.
        response = self._get(self._api(comp),
                             '/desktop/console?type=spice-direct&format=vv')
        self.assertEqual(503, response.status_int)
        self.assertEqual(503, json.loads(response.body)['error']['code'])
        self.assertNotIn(TOKEN, response.text)

    def test_kerbside_hung_times_out_as_503(self):
        comp, nova, conf, stub = self._kerbside(reply=None,
                                                kerbside_timeout=0.5)
        started = time.monotonic()
        e = self.assertRaises(exceptions.Unavailable, comp.console,
                              'server-1', 'spice-direct')
        self.assertLess(time.monotonic() - started, 8)
        self.assertEqual(503, e.code)
        self._assert_no_token_logged()

    def test_kerbside_refusing_the_token_is_502(self):
        for status in (404, 401, 500):
            comp, nova, conf, stub = self._kerbside(reply=(
                status, 'application/json',
                json.dumps({'error': 'nova token not found',
                            'status': status})))
            e = self.assertRaises(exceptions.BadGateway, comp.console,
                                  'server-1', 'spice-direct')
            self.assertEqual(502, e.code)
            self.assertIn('refused the console (%d)' % status, str(e))
            self.assertIn('nova token not found', self.log.output)
            self._assert_no_token_logged()
            response = self._get(self._api(comp),
                                 '/desktop/console?type=spice-direct&'
                                 'format=vv')
            self.assertEqual(502, response.status_int)
            self.assertEqual('Bad Gateway',
                             json.loads(response.body)['error']['title'])

    def test_kerbside_answer_that_is_no_vv_is_502(self):
        for body in ('<html>maintenance</html>', '[virt-viewer]\ntype=vnc\n'
                     'host=h\nport=1\npassword=p\n',
                     '[virt-viewer]\ntype=spice\nhost=h\npassword=p\n',
                     '[virt-viewer]\ntype=spice\nhost=h\nport=99999\n'
                     'password=p\n', 'x' * (compute.KERBSIDE_MAX_VV + 1)):
            comp, nova, conf, stub = self._kerbside(
                reply=(200, 'text/html', body))
            self.assertRaises(exceptions.BadGateway, comp.console,
                              'server-1', 'spice-direct')
        self._assert_no_token_logged()

    def test_token_scrubbed_from_errors(self):
        self.assertEqual(
            'Unable to connect to http://k/nova-console.vv?token=***',
            compute._scrub('Unable to connect to http://k/nova-console.vv'
                           '?token=%s' % TOKEN, TOKEN, ''))
