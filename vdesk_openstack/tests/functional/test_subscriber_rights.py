"""A SIM login mints nothing that outlives the SIM, on a real Keystone.

Keystone runs as the sandbox deploys it: the ``aka`` method, the
subscriber role ``vdesk_subscriber`` and the policy file that
``vdesk-manage config render --target keystone-policy`` renders. A SIM
token, project-scoped or unscoped, is refused every credential a
subscriber could keep using after its SIM is swapped: application
credentials, EC2 credentials (both APIs), trusts. The same requests pass
on a Keystone server of the same deployment that runs Keystone's default
policy, as a deployment without the file did: they are real attacks.
"""

import os

import fixtures
from keystoneauth1 import session as ks_session
import requests
import testtools

from vdesk_openstack.client import v3aka
from vdesk_openstack.sandbox import aio
from vdesk_openstack.sandbox import keystone
from vdesk_openstack.tests import aka_keystone


class SubscriberRightsTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ks = aio.AllInOne().start()
        try:
            cls.url = cls.ks.url
            # The deployment before it shipped Keystone's policy file.
            cls.defaults_url = aka_keystone.start_keystone_with_policy(
                cls.ks.deployment, {}).url
            # One worker: Keystone's in-memory cache of role assignments
            # is per process (production shares memcached).
            cls.single_url = aka_keystone.start_keystone(
                cls.ks.deployment, workers=1).url
        except BaseException:
            cls.ks.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.ks.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.state_dir = self.useFixture(fixtures.TempDir()).path
        self.admin = self.ks.deployment.admin_session(self.url)

    def sim_token(self, sub, scoped=True, url=None):
        """A SIM login's token (project-scoped or unscoped) and its body."""
        scope = {}
        if scoped:
            scope = {'project_name': keystone.SUBSCRIBER_PROJECT,
                     'project_domain_name': keystone.SUBSCRIBER_DOMAIN}
        state = os.path.join(self.state_dir, sub.imsi + '.json')
        auth = v3aka.V3Aka(url or self.url, imsi=sub.imsi, k=sub.k,
                           opc=sub.opc, usim_state_file=state, **scope)
        access = auth.get_access(ks_session.Session(auth=auth))
        return access.auth_token, access

    def call(self, url, token, method, path, body):
        return requests.request(method, url + path, json=body, timeout=30,
                                headers={'X-Auth-Token': token})

    def minting_requests(self, user_id, project_id):
        """(what, method, path, body) of each credential a user may mint."""
        admin_id = self.admin.get(self.url + '/users', params={
            'name': 'admin'}).json()['users'][0]['id']
        return [
            ('application credential', 'POST',
             '/users/%s/application_credentials' % user_id,
             {'application_credential': {'name': 'kept-%s' % os.urandom(
                 4).hex()}}),
            ('EC2 credential', 'POST',
             '/users/%s/credentials/OS-EC2' % user_id,
             {'tenant_id': project_id}),
            ('credential of type ec2', 'POST', '/credentials',
             {'credential': {'type': 'ec2', 'user_id': user_id,
                             'project_id': project_id,
                             'blob': '{"access": "a%s", "secret": "s"}'
                                     % os.urandom(4).hex()}}),
            ('trust', 'POST', '/OS-TRUST/trusts',
             {'trust': {'trustor_user_id': user_id,
                        'trustee_user_id': admin_id,
                        'project_id': project_id, 'impersonation': True,
                        'roles': [{'name': keystone.SUBSCRIBER_ROLE}]}}),
        ]

    def test_sim_token_mints_no_credential(self):
        sub = self.ks.provision()
        token, access = self.sim_token(sub)
        user_id, project_id = access.user_id, access.project_id
        requests_ = self.minting_requests(user_id, project_id)
        for what, method, path, body in requests_:
            response = self.call(self.url, token, method, path, body)
            self.assertEqual(403, response.status_code,
                             '%s: %s' % (what, response.text))
        self.assertEqual([keystone.SUBSCRIBER_ROLE], access.role_names)
        self.assertEqual(['aka'], access._data['token']['methods'])
        # An unscoped SIM token carries no role; its method is enough.
        unscoped, access = self.sim_token(sub, scoped=False)
        self.assertEqual(['aka'], access._data['token']['methods'])
        self.assertFalse(access.role_names)
        for what, method, path, body in requests_:
            response = self.call(self.url, unscoped, method, path, body)
            self.assertEqual(403, response.status_code,
                             'unscoped, %s: %s' % (what, response.text))
        # ... which Keystone's defaults would let mint an EC2 credential.
        _, method, path, body = self.minting_requests(user_id,
                                                      project_id)[2]
        response = self.call(self.defaults_url, unscoped, method, path, body)
        self.assertEqual(201, response.status_code, response.text)
        # Keystone's default policy lets the SIM token mint them, but for
        # OS-EC2, which it keeps to member: there the own role is enough.
        for what, method, path, body in requests_:
            response = self.call(self.defaults_url, token, method, path,
                                 body)
            expected = 403 if what == 'EC2 credential' else 201
            self.assertEqual(expected, response.status_code,
                             'default policy, %s: %s' % (what,
                                                         response.text))

    def test_subscribers_hold_their_own_role_only(self):
        """A user of the member era gets the new role at its next login."""
        sub = self.ks.provision()
        url = self.single_url
        admin = self.ks.deployment.admin_session(url)
        domain = admin.get(url + '/domains', params={
            'name': keystone.SUBSCRIBER_DOMAIN}).json()['domains'][0]
        project = admin.get(url + '/projects', params={
            'name': keystone.SUBSCRIBER_PROJECT,
            'domain_id': domain['id']}).json()['projects'][0]
        user = admin.post(url + '/users', json={'user': {
            'name': sub.imsi, 'domain_id': domain['id']}}).json()['user']
        member = admin.get(url + '/roles', params={
            'name': 'member'}).json()['roles'][0]
        grant = '%s/projects/%s/users/%s/roles/%s' % (
            url, project['id'], user['id'], member['id'])
        admin.put(grant)

        token, access = self.sim_token(sub, url=url)
        self.assertEqual(user['id'], access.user_id)
        self.assertIn(keystone.SUBSCRIBER_ROLE, access.role_names)
        self.assertIn('member', access.role_names)
        # The operator's upgrade step: remove member.
        admin.delete(grant)
        token, access = self.sim_token(sub, url=url)
        self.assertEqual([keystone.SUBSCRIBER_ROLE], access.role_names)
