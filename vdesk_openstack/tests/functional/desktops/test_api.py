"""The desktop API over HTTP: real Keystone tokens, Nova's real services.

Subscribers log in to Keystone with their SIM and use the API as a UE
does: first login builds the desktop, logout shelves and
offloads it, the next login restores the same instance; consoles; one
subscriber never reaches another's desktop; operators manage every
desktop; malformed requests are refused with 4xx answers.
"""

import configparser
import time
from unittest import mock

from vdesk_openstack.desktops import states
from vdesk_openstack.sandbox import keystone
from vdesk_openstack.tests import aka_keystone
from vdesk_openstack.tests.functional.desktops import api_fixture

NATIVE = {'client': 'native', 'display': {'protocol': 'spice'},
          'audio_out': True, 'audio_in': True, 'usb': True,
          'smartcard': True}
SESSION = '/v1/desktop/session'
CONSOLE = '/v1/desktop/console'
UNKNOWN_IMSI = '001019999999999'


class DesktopApiTest(api_fixture.ApiTestCase):

    def _server_status(self, instance_id):
        return self.admin_api.get_server(instance_id)['status']

    def _still_building(self):
        """Nova keeps reporting the desktop as BUILD for a while."""
        real = self.compute.get_server

        def get_server(server_id):
            server = real(server_id)
            return mock.Mock(id=server.id, status='BUILD') if server \
                else server
        return mock.patch.object(self.compute, 'get_server', get_server)

    def test_login_console_logout_and_restore(self):
        sub = self.subscribers[0]
        self.assertError(404, self.call('GET', SESSION, sub))
        self.assertError(404, self.call('GET', CONSOLE, sub))
        self.assertError(404, self.call('DELETE', SESSION, sub))

        with self._still_building():
            response = self.call('POST', SESSION, sub,
                                 json={'capabilities': NATIVE})
            self.assertEqual(202, response.status_code, response.text)
            first = response.json()['session']
            self.assertEqual('BUILDING', first['status'])
            # A console only once the desktop is active.
            self.assertError(409, self.call('GET', CONSOLE, sub))
        self.assertFalse(first['restored'])
        self.assertFalse(first['rebuilt'])
        self.assertEqual('spice-direct', first['console_type'])
        uuid = self.store.get_desktop(sub.imsi)['instance_id']
        self.assertEqual(uuid, first['desktop_id'])
        # Idempotent while the session is open.
        again = self.call('POST', SESSION, sub, json={'capabilities': {}})
        self.assertEqual(202, again.status_code)
        self.assertEqual(first['id'], again.json()['session']['id'])

        active = self.wait_for_session(sub, 'ACTIVE')
        self.assertEqual(first['id'], active['id'])
        self.assertEqual(uuid, active['desktop_id'])
        self.assertEqual('ACTIVE', self._server_status(uuid))

        direct = self.call('GET', CONSOLE, sub)
        self.assertEqual(200, direct.status_code, direct.text)
        console = direct.json()['console']
        self.assertEqual('spice-direct', console['type'])
        self.assertTrue(console['password'])
        self.assertTrue(console['host'])
        for kind in ('spice-html5', 'novnc'):
            response = self.call('GET', CONSOLE, sub, params={'type': kind})
            self.assertEqual(200, response.status_code, response.text)
            self.assertEqual(kind, response.json()['console']['type'])
            self.assertIn('token', response.json()['console']['url'])
        vv = self.call('GET', CONSOLE, sub, params={'format': 'vv'})
        self.assertEqual(200, vv.status_code, vv.text)
        self.assertTrue(vv.headers['Content-Type'].startswith('text/plain'))
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(vv.text)
        viewer = parser['virt-viewer']
        self.assertEqual('spice', viewer['type'])
        self.assertTrue(viewer['host'])
        self.assertTrue('port' in viewer or 'tls-port' in viewer)
        self.assertTrue(viewer['password'])
        self.assertEqual('1', viewer['delete-this-file'])
        self.assertEqual('1', viewer['enable-usbredir'])
        self.assertEqual('1', viewer['enable-smartcard'])
        for params in ({'type': 'rdp'}, {'format': 'xml'},
                       {'type': 'novnc', 'format': 'vv'}, {'bogus': '1'}):
            self.assertError(400, self.call('GET', CONSOLE, sub,
                                            params=params))

        response = self.call('DELETE', SESSION, sub)
        self.assertEqual(202, response.status_code, response.text)
        self.assertIn(response.json()['session']['status'],
                      ('RELEASING', 'ENDED'))
        self.wait_for_session(sub, None)
        self._wait_for_status({'id': uuid}, 'SHELVED_OFFLOADED')
        self.assertError(404, self.call('DELETE', SESSION, sub))

        response = self.call('POST', SESSION, sub,
                             json={'capabilities': {'client': 'browser'}})
        self.assertEqual(202, response.status_code, response.text)
        second = response.json()['session']
        self.assertEqual('RESTORING', second['status'])
        self.assertTrue(second['restored'])
        self.assertEqual(uuid, second['desktop_id'])
        self.assertNotEqual(first['id'], second['id'])
        self.assertEqual('spice-html5', second['console_type'])
        self.wait_for_session(sub, 'ACTIVE')
        self.assertEqual('ACTIVE', self._server_status(uuid))
        self.assertEqual(202, self.call('DELETE', SESSION, sub).status_code)
        self.wait_for_session(sub, None)

    def test_subscribers_are_isolated_and_admin_manages_all(self):
        a, b = self.subscribers
        admin = self.admin
        response = self.call('POST', SESSION, b, json={})
        self.assertEqual(202, response.status_code, response.text)
        b_uuid = response.json()['session']['desktop_id']

        # A has nothing, and nothing names B's desktop for A.
        self.assertError(404, self.call('GET', SESSION, a))
        self.assertError(404, self.call('GET', CONSOLE, a))
        self.assertError(404, self.call('DELETE', SESSION, a))
        for method, path in (('GET', '/v1/desktops'),
                             ('GET', '/v1/desktops/%s' % b.imsi),
                             ('POST', '/v1/desktops/%s/release' % b.imsi),
                             ('DELETE', '/v1/desktops/%s' % b.imsi)):
            self.assertError(403, self.call(method, path, a))
        # An operator is not a subscriber.
        self.assertError(403, self.call('POST', SESSION, admin, json={}))
        self.assertEqual(states.BUILDING,
                         self.store.get_open_session(b.imsi)['status'])

        response = self.call('POST', SESSION, a, json={})
        self.assertEqual(202, response.status_code, response.text)
        a_uuid = response.json()['session']['desktop_id']
        self.assertNotEqual(a_uuid, b_uuid)
        self.wait_for_session(a, 'ACTIVE')
        self.wait_for_session(b, 'ACTIVE')

        listing = self.call('GET', '/v1/desktops', admin)
        self.assertEqual(200, listing.status_code, listing.text)
        mapping = {d['subscriber']: d['desktop_id']
                   for d in listing.json()['desktops']}
        self.assertEqual({a.imsi: a_uuid, b.imsi: b_uuid}, mapping)
        page = self.call('GET', '/v1/desktops', admin,
                         params={'limit': 1}).json()
        self.assertEqual(1, len(page['desktops']))
        next_href = page['desktops_links'][0]['href']
        self.assertTrue(next_href.startswith(self.url + '/v1/desktops?'))
        rest = self.http.get(next_href, headers={
            'X-Auth-Token': admin.token}).json()['desktops']
        self.assertEqual(sorted(mapping)[1:],
                         [d['subscriber'] for d in rest])
        active = self.call('GET', '/v1/desktops', admin,
                           params={'status': 'ACTIVE'}).json()['desktops']
        self.assertEqual(2, len(active))
        for params in ({'limit': 0}, {'limit': 'x'}, {'status': 'HAPPY'},
                       {'marker': 'abc'}):
            self.assertError(400, self.call('GET', '/v1/desktops', admin,
                                            params=params))

        shown = self.call('GET', '/v1/desktops/%s' % b.imsi, admin)
        self.assertEqual(200, shown.status_code, shown.text)
        desktop = shown.json()['desktop']
        self.assertEqual(b_uuid, desktop['desktop_id'])
        self.assertEqual('ACTIVE', desktop['session']['status'])
        self.assertError(404, self.call('GET', '/v1/desktops/%s'
                                        % UNKNOWN_IMSI, admin))
        self.assertError(400, self.call('GET', '/v1/desktops/not-an-imsi',
                                        admin))

        released = self.call('POST', '/v1/desktops/%s/release' % b.imsi,
                             admin)
        self.assertEqual(202, released.status_code, released.text)
        self.wait_for_session(b, None)
        self._wait_for_status({'id': b_uuid}, 'SHELVED_OFFLOADED')
        # Nothing open any more: a release is a no-op.
        again = self.call('POST', '/v1/desktops/%s/release' % b.imsi, admin)
        self.assertEqual(202, again.status_code)
        self.assertIsNone(again.json()['session'])

        deleted = self.call('DELETE', '/v1/desktops/%s' % a.imsi, admin)
        self.assertEqual(204, deleted.status_code, deleted.text)
        self.assertEqual(b'', deleted.content)
        self.assertError(404, self.call('GET', SESSION, a))
        self.assertError(404, self.call('GET', '/v1/desktops/%s' % a.imsi,
                                        admin))
        self._wait_until_deleted({'id': a_uuid})
        for method, path in (('POST', '/v1/desktops/%s/release'),
                             ('DELETE', '/v1/desktops/%s')):
            self.assertError(404, self.call(method, path % UNKNOWN_IMSI,
                                            admin))

    def test_malformed_requests_and_missing_tokens(self):
        sub = self.subscribers[0]
        for method, path in (('POST', SESSION), ('GET', SESSION),
                             ('GET', CONSOLE), ('GET', '/v1/desktops')):
            self.assertEqual(401, self.call(method, path).status_code)
            forged = api_fixture.Caller('forged', 'gAAAAAnot-a-token')
            self.assertEqual(401, self.call(method, path,
                                            forged).status_code)

        versions = self.call('GET', '/')
        self.assertEqual(200, versions.status_code)
        self.assertEqual('v1', versions.json()['versions'][0]['id'])
        self.assertEqual(200, self.call('GET', '/healthcheck').status_code)

        bad_bodies = [
            (b'not json', 'not valid JSON'),
            (b'[1, 2]', 'JSON object'),
            (b'\xff\xfe\xfa', 'not valid JSON'),
            (b'[' * 20000, 'not valid JSON'),
            (b'{"capabilities": "all"}', 'must be an object'),
            (b'{"capabilities": {"bogus": 1}}', 'bogus'),
            (b'{"capabilities": {"display": {"monitors": 99}}}',
             'monitors'),
            (b'{"capabilities": {"usb": "yes"}}', 'usb'),
            (b'{"imsi": "001010000000002"}', 'imsi'),
        ]
        for body, message in bad_bodies:
            self.assertError(400, self.call(
                'POST', SESSION, sub, data=body,
                headers={'Content-Type': 'application/json'}), message)
        self.assertError(413, self.call('POST', SESSION, sub,
                                        data=b' ' * (65 * 1024)))
        self.assertIsNone(self.store.get_desktop(sub.imsi))

        error = self.assertError(405, self.call('PUT', SESSION, sub))
        self.assertIn('DELETE', error['message'])
        self.assertError(404, self.call('GET', '/v1/desktop/nothing', sub))
        self.assertError(404, self.call('GET', '/v2/desktops', sub))

    # -- attacks ------------------------------------------------------------
    def _keystone_user(self, domain_id, name, project_id, role='member'):
        """A password user of ``domain_id`` with ``role`` on a project."""
        url = self.keystone.url
        admin = self.keystone.deployment.admin_session(url)
        user = admin.post(url + '/users', json={'user': {
            'name': name, 'domain_id': domain_id,
            'password': 'intruder-pw'}}).json()['user']  # nosec: test only
        self.addCleanup(admin.delete, url + '/users/' + user['id'])
        role_id = admin.get(url + '/roles', params={'name': role}).json()[
            'roles'][0]['id']
        admin.put('%s/projects/%s/users/%s/roles/%s'
                  % (url, project_id, user['id'], role_id))
        return user

    def _project(self, domain_id, name):
        url = self.keystone.url
        admin = self.keystone.deployment.admin_session(url)
        project = admin.post(url + '/projects', json={'project': {
            'name': name, 'domain_id': domain_id}}).json()['project']

        def remove():
            admin.patch(url + '/projects/' + project['id'],
                        json={'project': {'enabled': False}})
            admin.delete(url + '/projects/' + project['id'])
        self.addCleanup(remove)
        return project

    def _password_token(self, user_name, domain_id, project_id):
        response = self.http.post(self.keystone.url + '/auth/tokens', json={
            'auth': {'identity': {'methods': ['password'], 'password': {
                'user': {'name': user_name, 'domain': {'id': domain_id},
                         'password': 'intruder-pw'}}},
                     'scope': {'project': {'id': project_id}}}})
        self.assertEqual(201, response.status_code, response.text)
        return response.headers['X-Subject-Token']

    def _assert_refused_and_untouched(self, victim, intruder, codes):
        before = self.store.get_open_session(victim.imsi)
        for method, path in (('GET', SESSION), ('GET', CONSOLE),
                             ('DELETE', SESSION), ('POST', SESSION)):
            kwargs = {'json': {}} if method == 'POST' else {}
            if path == CONSOLE:
                kwargs['params'] = {'format': 'vv'}
            response = self.call(method, path, intruder, **kwargs)
            self.assertIn(response.status_code, codes, response.text)
            self.assertNotIn('password', response.text)
        after = self.store.get_open_session(victim.imsi)
        self.assertEqual((before['id'], before['status']),
                         (after['id'], after['status']))

    def test_same_name_users_elsewhere_get_nothing(self):
        victim = self.subscribers[1]
        response = self.call('POST', SESSION, victim, json={})
        self.assertEqual(202, response.status_code, response.text)
        self.wait_for_session(victim, 'ACTIVE')
        url = self.keystone.url
        admin = self.keystone.deployment.admin_session(url)
        vdesk_domain = admin.get(url + '/domains', params={
            'name': 'vdesk'}).json()['domains'][0]['id']

        # 1. Another domain: same user name, member on its own project.
        other = self._project('default', 'tenant-of-%s' % victim.imsi)
        self._keystone_user('default', victim.imsi, other['id'])
        intruder = api_fixture.Caller('other-domain', self._password_token(
            victim.imsi, 'default', other['id']))
        self._assert_refused_and_untouched(victim, intruder, (403,))

        # 2. The subscriber domain, but another project.
        side = self._project(vdesk_domain, 'side-%s' % victim.imsi[-4:])
        user = self._keystone_user(vdesk_domain,
                                   'x%s' % victim.imsi[-6:], side['id'])
        intruder = api_fixture.Caller('other-project', self._password_token(
            user['name'], vdesk_domain, side['id']))
        self._assert_refused_and_untouched(victim, intruder, (403,))

        # 3. The right domain and project, the right name -- another user:
        # the victim's user renamed, another user renamed to its IMSI,
        # which the victim's SIM login now gives a token of.
        project = admin.get(url + '/projects', params={
            'name': 'subscribers', 'domain_id': vdesk_domain}).json()[
            'projects'][0]
        renamed = self._keystone_user(vdesk_domain, 'y%s' % victim.imsi[-6:],
                                      project['id'])
        real = admin.get(url + '/users', params={
            'name': victim.imsi, 'domain_id': vdesk_domain}).json()[
            'users'][0]
        admin.patch(url + '/users/' + real['id'], json={'user': {
            'name': 'parked-%s' % victim.imsi}})
        self.addCleanup(admin.patch, url + '/users/' + real['id'],
                        json={'user': {'name': victim.imsi}})
        admin.patch(url + '/users/' + renamed['id'], json={'user': {
            'name': victim.imsi}})
        self.addCleanup(admin.patch, url + '/users/' + renamed['id'],
                        json={'user': {'name': renamed['name']}})
        # A new Keystone process: none has the old name cached.
        fresh = aka_keystone.start_keystone(self.keystone.deployment,
                                            workers=1)
        self.addCleanup(fresh.stop)
        intruder = api_fixture.Caller('renamed',
                                      self.sim_login(1, url=fresh.url))
        self._assert_refused_and_untouched(victim, intruder, (403,))
        self.assertEqual(real['id'],
                         self.store.get_desktop(victim.imsi)['user_id'])

    def test_desktop_that_cannot_be_recovered_is_a_409(self):
        sub = self.subscribers[1]
        response = self.call('POST', SESSION, sub, json={})
        self.assertEqual(202, response.status_code, response.text)
        uuid = self.wait_for_session(sub, 'ACTIVE')['desktop_id']
        self.assertEqual(202, self.call('DELETE', SESSION, sub).status_code)
        self.wait_for_session(sub, None)
        self._wait_for_status({'id': uuid}, 'SHELVED_OFFLOADED')
        # ERROR while shelved and offloaded: no host to reboot it on.
        self.admin_api.post_server_action(
            uuid, {'os-resetState': {'state': 'error'}})
        self.assertError(409, self.call('POST', SESSION, sub, json={}),
                         'operator has been alerted')
        desktop = self.call('GET', '/v1/desktops/%s' % sub.imsi,
                            self.admin).json()['desktop']
        # Not replaced: the same server, waiting for an operator.
        self.assertEqual((uuid, 'FAILED'), (desktop['desktop_id'],
                                            desktop['recovery']))

    def test_only_a_sim_login_opens_a_desktop(self):
        """Credentials that outlive the SIM open no desktop."""
        sub = self.subscribers[0]
        url = self.keystone.url
        admin = self.keystone.deployment.admin_session(url)
        domain = admin.get(url + '/domains', params={
            'name': keystone.SUBSCRIBER_DOMAIN}).json()['domains'][0]['id']
        user_id = admin.get(url + '/users', params={
            'name': sub.imsi, 'domain_id': domain}).json()['users'][0]['id']
        project = admin.get(url + '/projects', params={
            'name': keystone.SUBSCRIBER_PROJECT,
            'domain_id': domain}).json()['projects'][0]['id']
        calls = (('POST', SESSION), ('GET', SESSION), ('GET', CONSOLE),
                 ('DELETE', SESSION))

        # 1. An application credential made with the SIM token: refused by
        # Keystone's policy here; made where Keystone runs its defaults
        # (a deployment without the policy file), refused by the API.
        path = '/users/%s/application_credentials' % user_id
        body = {'application_credential': {'name': 'outlives-the-sim'}}
        headers = {'X-Auth-Token': sub.token}
        response = self.http.post(url + path, json=body, headers=headers)
        self.assertEqual(403, response.status_code, response.text)
        defaults = aka_keystone.start_keystone_with_policy(
            self.keystone.deployment, {})
        self.addCleanup(defaults.stop)
        response = self.http.post(defaults.url + path, json=body,
                                  headers=headers)
        self.assertEqual(201, response.status_code, response.text)
        credential = response.json()['application_credential']
        response = self.http.post(url + '/auth/tokens', json={'auth': {
            'identity': {'methods': ['application_credential'],
                         'application_credential': {
                             'id': credential['id'],
                             'secret': credential['secret']}}}})
        self.assertEqual(201, response.status_code, response.text)
        kept = api_fixture.Caller('application-credential',
                                  response.headers['X-Subject-Token'])
        for method, path in calls:
            self.assertError(403, self.call(method, path, kept, json={}))

        # 2. A password an operator gave the subscriber's user.
        admin.patch(url + '/users/' + user_id, json={'user': {
            'password': 'intruder-pw'}})  # nosec: test only
        # Keystone revoked the user's tokens with the password change, to
        # the second: a token issued within that second would be revoked
        # too. Then a new SIM login, whose token the next tests use.
        time.sleep(1.1)
        sub.token = self.sim_login(0)
        password = api_fixture.Caller('password', self._password_token(
            sub.imsi, domain, project))
        for method, path in calls:
            self.assertError(403, self.call(method, path, password,
                                            json={}))
        self.assertIsNone(self.store.get_desktop(sub.imsi))

        # A token rescoped from the SIM login's is still the SIM login's.
        response = self.http.post(url + '/auth/tokens', json={'auth': {
            'identity': {'methods': ['token'], 'token': {'id': sub.token}},
            'scope': {'project': {'id': project}}}})
        self.assertEqual(201, response.status_code, response.text)
        rescoped = api_fixture.Caller('rescoped',
                                      response.headers['X-Subject-Token'])
        self.assertError(404, self.call('GET', SESSION, rescoped))
