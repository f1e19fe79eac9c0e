"""A release revokes the desktop's consoles before freeing its SPICE port.

Kerbside's terminate call is made against a loopback HTTP server standing
in for Kerbside's API (the real one is in the real-cloud functional test);
the manager's ordering on fake Nova answers.
"""

import contextlib
import http.server
import json
import threading
import types
from unittest import mock

import jwt
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from vdesk_openstack.conf import desktops as desktops_conf
from vdesk_openstack.desktops import compute
from vdesk_openstack.desktops import consoles
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import manager as manager_mod
from vdesk_openstack.desktops import states

SECRET = 'kerbside-seed'
SERVER = '8a9c3c2e-5f2e-4c55-a0a6-1d2f3e4a5b6c'


def _conf(**options):
    conf = cfg.ConfigOpts()
    desktops_conf.register_opts(conf)
    conf([], project='vdesk')
    for name, value in options.items():
        conf.set_override(name, value, group='desktops')
    return conf


class TokenTest(testtools.TestCase):

    def test_token_is_a_jwt_kerbside_accepts(self):
        token = consoles.api_token(SECRET, now=1000000)
        # What flask-jwt-extended checks: HS256 signature, expiry, "sub"
        # and "type"; no administrator claim.
        claims = jwt.decode(token, SECRET, algorithms=['HS256'],
                            options={'verify_exp': False})
        self.assertEqual(consoles.TOKEN_SUBJECT, claims['sub'])
        self.assertEqual('access', claims['type'])
        self.assertEqual(1000000 + consoles.TOKEN_LIFETIME, claims['exp'])
        self.assertNotIn('kerbside_admin', claims)
        self.assertRaises(jwt.InvalidSignatureError, jwt.decode, token,
                          'another-seed', algorithms=['HS256'],
                          options={'verify_exp': False})
        self.assertRaises(jwt.ExpiredSignatureError, jwt.decode,
                          consoles.api_token(SECRET, now=1000),
                          SECRET, algorithms=['HS256'])

    def test_terminate_url_quotes_its_parts(self):
        self.assertEqual(
            'https://k.example/console/vdesk/%s/terminate' % SERVER,
            consoles.terminate_url('https://k.example/', 'vdesk', SERVER))
        self.assertEqual('https://k.example/console/a%2Fb/..%2Fx/terminate',
                         consoles.terminate_url('https://k.example', 'a/b',
                                                '../x'))


class StartUpTest(testtools.TestCase):

    def test_kerbside_without_its_secret_is_refused(self):
        conf = _conf(kerbside_url='http://127.0.0.1:13002')
        e = self.assertRaises(consoles.NotRevocable,
                              compute.warn_about_spice_path, conf)
        self.assertIn('kerbside_auth_secret', str(e))
        conf.set_override('kerbside_auth_secret', SECRET, group='desktops')
        self.assertEqual(compute.KERBSIDE,
                         compute.warn_about_spice_path(conf))

    def test_nova_tokens_as_passwords_are_refused(self):
        conf = _conf(spice_proxy_host='spice.example.net',
                     spice_proxy_port=5901)
        e = self.assertRaises(consoles.NotRevocable,
                              compute.warn_about_spice_path, conf)
        self.assertIn('Use Kerbside', str(e))


class StubKerbsideApi(object):
    """Kerbside's terminate call, answering ``status``."""

    def __init__(self, test, status=200):
        stub = self
        self.calls = []
        self.status = status

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                stub.calls.append((self.path,
                                   self.headers.get('Authorization')))
                data = json.dumps({'result': 'ok',
                                   'tokens': ['secret-token']}).encode()
                self.send_response(stub.status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()
        test.addCleanup(self.server.server_close)
        test.addCleanup(self.server.shutdown)
        self.url = 'http://127.0.0.1:%d' % self.server.server_port


class RevokeTest(testtools.TestCase):

    def _compute(self, stub, **options):
        options.setdefault('kerbside_auth_secret', SECRET)
        conf = _conf(kerbside_url=stub.url, **options)
        return compute.Compute(types.SimpleNamespace(), conf)

    def test_terminates_the_servers_consoles_at_kerbside(self):
        stub = StubKerbsideApi(self)
        self._compute(stub).revoke_consoles(SERVER)
        [(path, auth)] = stub.calls
        self.assertEqual('/console/vdesk/%s/terminate' % SERVER, path)
        scheme, token = auth.split(' ', 1)
        self.assertEqual('Bearer', scheme)
        jwt.decode(token, SECRET, algorithms=['HS256'])

    def test_refused_or_unreachable_raises(self):
        stub = StubKerbsideApi(self, status=401)
        e = self.assertRaises(exceptions.BadGateway,
                              self._compute(stub).revoke_consoles, SERVER)
        self.assertEqual(502, e.code)
        stub.server.shutdown()
        stub.server.server_close()
        self.assertRaises(exceptions.Unavailable,
                          self._compute(stub).revoke_consoles, SERVER)

    def test_other_paths_have_nothing_to_revoke(self):
        conf = _conf(spice_direct_to_hypervisor=True)
        compute.Compute(types.SimpleNamespace(), conf).revoke_consoles(
            SERVER)  # no Kerbside, no call, no error


def _server(status, task=None):
    return types.SimpleNamespace(id='i1', status=status, task_state=task)


class ReleaseTest(testtools.TestCase):
    """The manager: consoles revoked before shelving, never after."""

    def setUp(self):
        super().setUp()
        conf = cfg.ConfigOpts()
        desktops_conf.register_opts(conf)
        conf([], project='vdesk-unit')
        self.useFixture(config_fixture.Config(conf))
        self.store = mock.Mock()
        self.compute = mock.Mock()
        locks = mock.Mock()
        locks.subscriber.side_effect = lambda imsi: contextlib.nullcontext()
        self.manager = manager_mod.DesktopManager(
            conf, self.store, mock.Mock(), self.compute, locks)

    def test_revoked_before_shelve(self):
        self.assertTrue(self.manager._put_away(_server('ACTIVE')))
        self.assertEqual([mock.call.revoke_consoles('i1'),
                          mock.call.shelve('i1')], self.compute.mock_calls)

    def test_not_shelved_while_a_console_may_live(self):
        for error in (exceptions.Unavailable(), exceptions.BadGateway()):
            self.compute.reset_mock()
            self.compute.revoke_consoles.side_effect = error
            self.assertFalse(self.manager._put_away(_server('ACTIVE')))
            self.assertFalse(self.manager._put_away(_server('SHELVED')))
            self.compute.shelve.assert_not_called()
            self.compute.shelve_offload.assert_not_called()
        # Kerbside back: the next pass shelves.
        self.compute.revoke_consoles.side_effect = None
        self.assertTrue(self.manager._put_away(_server('ACTIVE')))
        self.compute.shelve.assert_called_once_with('i1')

    def test_unclaimed_desktop_stays_unreleased_until_revoked(self):
        self.store.get_open_session.return_value = None
        self.compute.get_server.return_value = _server('ACTIVE')
        self.compute.revoke_consoles.side_effect = exceptions.Unavailable()
        desktop = {'id': 'd1', 'subscriber': '001010000000001',
                   'instance_id': 'i1', 'status': states.ACTIVE}
        self.store.get_desktop_by_id.return_value = desktop  # re-read
        self.manager._release_unclaimed(desktop)
        self.compute.shelve.assert_not_called()
        self.store.update_desktop.assert_not_called()  # looked at again

    def test_session_end_revokes_after_the_session_ended(self):
        session = {'id': 's1', 'subscriber': '001010000000001',
                   'charging': states.CHARGING_NONE}
        desktop = {'id': 'd1', 'instance_id': 'i1',
                   'status': states.ACTIVE}
        order = []
        self.store.end_session.side_effect = \
            lambda *a, **k: order.append('ended')
        self.compute.revoke_consoles.side_effect = \
            lambda *a: order.append('revoked')
        self.manager._end(session, desktop, states.CAUSE_ADMIN_RESET,
                          states.ERROR, 'instance i1 was PAUSED')
        self.assertEqual(['ended', 'revoked'], order)
        # Kerbside down then: the session still ends (charging stops).
        self.compute.revoke_consoles.side_effect = exceptions.Unavailable()
        self.manager._end(session, desktop, states.CAUSE_ADMIN_RESET)

    def test_console_made_during_a_release_is_revoked(self):
        session = {'id': 's1', 'desktop_id': 'd1',
                   'status': states.ACTIVE, 'console_type': 'spice-direct'}
        self.manager.get_session = mock.Mock(return_value=session)
        self.store.get_desktop_by_id.return_value = {'instance_id': 'i1'}
        self.store.get_session.return_value = dict(
            session, status=states.RELEASING)
        self.assertRaises(exceptions.NotActive, self.manager.console,
                          '001010000000001')
        self.assertEqual(['console', 'revoke_consoles'],
                         [c[0] for c in self.compute.mock_calls])

    def test_admin_delete_refused_while_consoles_live(self):
        self.store.get_desktop.return_value = {
            'id': 'd1', 'subscriber': '001010000000001',
            'instance_id': 'i1', 'status': states.RELEASED}
        self.store.get_open_session.return_value = {
            'id': 's1', 'subscriber': '001010000000001',
            'charging': states.CHARGING_NONE}
        self.compute.revoke_consoles.side_effect = exceptions.Unavailable()
        self.assertRaises(exceptions.Unavailable, self.manager.delete,
                          '001010000000001')
        self.compute.delete.assert_not_called()
        self.store.delete_desktop.assert_not_called()
        self.store.end_session.assert_not_called()  # nothing changed
