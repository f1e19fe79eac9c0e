"""The API's dispatch, policy and error mapping, on a fake manager."""

import json
import os
from unittest import mock

import fixtures
from oslo_db import exception as db_exc
import testtools
import webob

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.desktops.api import app
from vdesk_openstack.desktops.api import faults
from vdesk_openstack.desktops.api import policy
from vdesk_openstack.desktops.api import v1
from vdesk_openstack.desktops import exceptions

IMSI = '001010000000001'
SESSION = {'id': 's1', 'desktop_id': 'd1', 'status': 'BUILDING',
           'restored': False, 'rebuilt': False,
           'console_type': 'spice-html5', 'capabilities': {},
           'started_at': None, 'active_at': None, 'ended_at': None,
           'fault': None}


class ApiTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.manager = mock.Mock()
        self.manager.store.get_desktop_by_id.return_value = {
            'instance_id': 'uuid-1'}
        self.manager.login.return_value = SESSION
        conf = vdesk_conf.make_vdesk_conf()
        self.app = app.Router(
            v1.API(self.manager, policy.Enforcer(conf)).routes())

    def request(self, method, path, user=IMSI, roles='vdesk_subscriber',
                body=None, domain='vdesk', project='subscribers',
                project_domain='vdesk', methods=('aka',)):
        req = webob.Request.blank(path, method=method)
        # What keystonemiddleware leaves beside the headers.
        req.environ['keystone.token_info'] = {'token': {
            'methods': list(methods)}}
        req.headers.update({'X-User-Name': user, 'X-User-Id': 'uid',
                            'X-User-Domain-Name': domain,
                            'X-Project-Name': project,
                            'X-Project-Domain-Name': project_domain,
                            'X-Project-Id': 'pid', 'X-Roles': roles})
        if body is not None:
            req.body = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
        response = req.get_response(self.app)
        return response, json.loads(response.body or b'null')

    def assertError(self, code, result):
        response, body = result
        self.assertEqual(code, response.status_int)
        self.assertEqual(code, body['error']['code'])
        self.assertEqual(response.status.split(' ', 1)[1],
                         body['error']['title'])
        return body['error']['message']

    def test_login_passes_the_token_user(self):
        response, body = self.request('POST', '/desktop/session',
                                      body={'capabilities': {'usb': True}})
        self.assertEqual(202, response.status_int)
        self.manager.login.assert_called_once_with(IMSI, 'uid',
                                                   {'usb': True})
        self.assertEqual('uuid-1', body['session']['desktop_id'])

    def test_malformed_bodies(self):
        for raw in (b'{', b'"x"', b'[' * 5000, b'\xff',
                    b'{"capabilities": {}, "imsi": "1"}'):
            self.assertError(400, self.request('POST', '/desktop/session',
                                               body=raw))
        self.manager.login.assert_not_called()

    def test_policy(self):
        self.assertError(403, self.request('GET', '/desktops'))
        self.assertError(403, self.request('GET', '/desktop/session',
                                           roles='admin,member'))
        self.assertError(403, self.request('GET', '/desktop/session',
                                           roles='reader'))
        # Another service's role is not the subscriber role.
        self.assertError(403, self.request('GET', '/desktop/session',
                                           roles='member,reader'))
        # Not from a SIM login: an application credential, a password.
        for methods in (('application_credential',), ('password',),
                        ('token',), ()):
            self.assertError(403, self.request('GET', '/desktop/session',
                                               methods=methods))
        message = self.assertError(403, self.request(
            'GET', '/desktop/session', user='alice'))
        self.assertIn('IMSI', message)
        # Same name, another domain or project: refused by the policy
        # rule, and by the code when a policy file widens the rule.
        for other in ({'domain': 'Default'}, {'project': 'admin'},
                      {'project_domain': 'Default'}):
            self.assertError(403, self.request('GET', '/desktop/session',
                                               **other))
        self.manager.get_session.assert_not_called()

    def test_domain_and_project_checked_beyond_the_policy(self):
        # An operator's policy file that forgot the domain and project.
        tmp = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(tmp, 'policy.yaml'), 'w') as f:
            f.write('"subscriber": "role:vdesk_subscriber"\n')
        with open(os.path.join(tmp, 'vdesk.conf'), 'w') as f:
            f.write('[oslo_policy]\npolicy_file = %s/policy.yaml\n' % tmp)
        conf = vdesk_conf.make_vdesk_conf([os.path.join(tmp, 'vdesk.conf')])
        enforcer = policy.Enforcer(conf)
        self.app = app.Router(v1.API(self.manager, enforcer).routes())
        message = self.assertError(403, self.request(
            'DELETE', '/desktop/session', domain='Default',
            project_domain='Default'))
        self.assertIn('domain "vdesk"', message)
        self.manager.logout.assert_not_called()

    def test_sim_login_checked_beyond_the_policy(self):
        # An operator's policy file that forgot the method and the role.
        tmp = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(tmp, 'policy.yaml'), 'w') as f:
            f.write('"subscriber": "user_domain_name:vdesk"\n')
        with open(os.path.join(tmp, 'vdesk.conf'), 'w') as f:
            f.write('[oslo_policy]\npolicy_file = %s/policy.yaml\n' % tmp)
        conf = vdesk_conf.make_vdesk_conf([os.path.join(tmp, 'vdesk.conf')])
        self.app = app.Router(v1.API(self.manager,
                                     policy.Enforcer(conf)).routes())
        message = self.assertError(403, self.request(
            'POST', '/desktop/session', body={},
            methods=('password', 'application_credential')))
        self.assertIn('SIM login', message)
        self.manager.login.assert_not_called()
        # A token rescoped from a SIM token keeps "aka".
        response, _ = self.request('POST', '/desktop/session', body={},
                                   methods=('token', 'aka'))
        self.assertEqual(202, response.status_int)

    def test_subscriber_role_is_a_setting(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(tmp, 'vdesk.conf'), 'w') as f:
            f.write('[vdesk_aka]\nsubscriber_role = ue\n')
        conf = vdesk_conf.make_vdesk_conf([os.path.join(tmp, 'vdesk.conf')])
        self.app = app.Router(v1.API(self.manager,
                                     policy.Enforcer(conf)).routes())
        self.assertError(403, self.request('POST', '/desktop/session',
                                           body={}))
        response, _ = self.request('POST', '/desktop/session', body={},
                                   roles='ue')
        self.assertEqual(202, response.status_int)

    def test_subscriber_calls_pass_the_user_id(self):
        self.manager.get_session.return_value = SESSION
        self.manager.logout.return_value = SESSION
        self.request('GET', '/desktop/session')
        self.manager.get_session.assert_called_once_with(IMSI, 'uid')
        self.request('DELETE', '/desktop/session')
        self.manager.logout.assert_called_once_with(IMSI, user_id='uid')
        self.manager.console.return_value = {'type': 'spice-html5',
                                             'url': 'http://x'}
        response, _ = self.request('GET', '/desktop/console')
        self.assertEqual('no-store', response.headers['Cache-Control'])
        self.manager.console.assert_called_once_with(IMSI, None, 'uid')
        self.manager.get_session.side_effect = exceptions.NotBound()
        self.assertError(403, self.request('GET', '/desktop/session'))

    def test_desktop_errors_keep_their_code(self):
        for error, code in ((exceptions.NoSession(), 404),
                            (exceptions.NotActive(), 409),
                            (exceptions.Busy(), 409),
                            (exceptions.Invalid('bad'), 400),
                            (exceptions.Unavailable(), 503)):
            self.manager.get_session.side_effect = error
            message = self.assertError(code, self.request(
                'GET', '/desktop/session'))
            self.assertEqual(str(error), message)

    def test_database_outage_is_503(self):
        for error in (db_exc.DBConnectionError('cannot connect to x:3306'),
                      db_exc.DBDeadlock()):
            self.manager.get_session.side_effect = error
            message = self.assertError(503, self.request(
                'GET', '/desktop/session'))
            self.assertIn('database is unavailable', message)
            self.assertNotIn('3306', message)

    def test_unexpected_errors_tell_nothing(self):
        for error in (RuntimeError('db password is hunter2'),
                      exceptions.DesktopError('internal detail')):
            self.manager.get_session.side_effect = error
            message = self.assertError(500, self.request(
                'GET', '/desktop/session'))
            self.assertEqual(faults.INTERNAL_MESSAGE, message)

    def test_admin_input(self):
        admin = {'roles': 'admin,member,reader', 'user': 'admin'}
        self.assertError(400, self.request('GET', '/desktops/x1', **admin))
        self.assertError(400, self.request('GET', '/desktops?limit=5000',
                                           **admin))
        self.assertError(400, self.request('GET', '/desktops?limit=1&limit=2',
                                           **admin))
        self.manager.store.get_desktop_and_session.return_value = (None,
                                                                   None)
        self.assertError(404, self.request('GET', '/desktops/%s' % IMSI,
                                           **admin))
        self.manager.delete.return_value = None
        response, _ = self.request('DELETE', '/desktops/%s' % IMSI, **admin)
        self.assertEqual(204, response.status_int)
        self.manager.delete.assert_called_once_with(IMSI)

    def test_console_arguments(self):
        for query in ('type=rdp', 'format=pdf', 'type=novnc&format=vv',
                      'other=1'):
            self.assertError(400, self.request(
                'GET', '/desktop/console?' + query))
        self.manager.console.assert_not_called()

    def test_dispatch(self):
        message = self.assertError(405, self.request('PUT',
                                                     '/desktop/session'))
        self.assertIn('POST', message)
        self.assertError(404, self.request('GET', '/nothing'))
