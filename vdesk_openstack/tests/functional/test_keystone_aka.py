"""SIM login against a real Keystone over HTTP (contract 4.2).

Keystone runs as gunicorn worker processes on loopback with the ``aka``
method enabled in keystone.conf; the HSS is the embedded sqlite one. The
UE side is either the real ``v3aka`` keystoneauth1 plugin or raw HTTP for
the malformed and hostile cases.
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import time

import fixtures
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
import requests
import testtools

from vdesk_openstack.aka import sqn as aka_sqn
from vdesk_openstack.aka import usim as aka_usim
from vdesk_openstack.aka import vectors
from vdesk_openstack.client import v3aka
from vdesk_openstack.sandbox import aio

SCOPE = {'project': {'name': 'subscribers', 'domain': {'name': 'vdesk'}}}


def aka_body(imsi, **answer):
    data = {'user': {'name': imsi}}
    data.update(answer)
    return {'auth': {'identity': {'methods': ['aka'], 'aka': data},
                     'scope': SCOPE}}


class KeystoneAkaTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ks = aio.AllInOne(max_failures=3).start()

    @classmethod
    def tearDownClass(cls):
        cls.ks.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.tokens_url = self.ks.url + '/auth/tokens'
        self.state_dir = self.useFixture(fixtures.TempDir()).path

    # -- helpers ----------------------------------------------------------
    def plugin(self, sub, url=None, state='usim.json', **kwargs):
        return v3aka.V3Aka(
            url or self.ks.url, imsi=sub.imsi, k=sub.k, opc=sub.opc,
            project_name='subscribers', project_domain_name='vdesk',
            usim_state_file=os.path.join(self.state_dir, state), **kwargs)

    def login(self, sub, **kwargs):
        auth = self.plugin(sub, **kwargs)
        return auth.get_access(ks_session.Session(auth=auth))

    def challenge(self, imsi, url=None):
        resp = requests.post((url or self.ks.url) + '/auth/tokens',
                             json=aka_body(imsi), timeout=30)
        self.assertEqual(401, resp.status_code, resp.text)
        identity = resp.json()['error']['identity']
        self.assertEqual(['aka'], identity['methods'])
        return identity['aka']

    def answer(self, imsi, context, url=None, **answer):
        return requests.post((url or self.ks.url) + '/auth/tokens',
                             json=aka_body(imsi, context=context, **answer),
                             timeout=30)

    def usim_res(self, sub, challenge, usim=None):
        usim = usim or aka_usim.Usim(bytes.fromhex(sub.k),
                                     bytes.fromhex(sub.opc))
        return usim.authenticate(bytes.fromhex(challenge['rand']),
                                 bytes.fromhex(challenge['autn'])).res.hex()

    def admin(self):
        return self.ks.deployment.admin_session(self.ks.url)

    def user_exists(self, imsi):
        users = self.admin().get(self.ks.url + '/users',
                                 params={'name': imsi}).json()['users']
        return bool(users)

    # -- happy paths ------------------------------------------------------
    def test_first_login_creates_user_and_second_login_works(self):
        sub = self.ks.provision()
        self.assertFalse(self.user_exists(sub.imsi))
        ref = self.login(sub)
        self.assertEqual(sub.imsi, ref.username)
        self.assertEqual('subscribers', ref.project_name)
        self.assertIn('member', ref.role_names)
        self.assertTrue(self.user_exists(sub.imsi))
        second = self.login(sub)
        self.assertEqual(ref.user_id, second.user_id)
        self.assertNotEqual(ref.auth_token, second.auth_token)
        # The token is a real one: Keystone validates it.
        resp = self.admin().get(self.ks.url + '/auth/tokens',
                                headers={'X-Subject-Token':
                                         second.auth_token})
        token = resp.json()['token']
        self.assertEqual(sub.imsi, token['user']['name'])
        self.assertEqual(['aka'], token['methods'])

    def test_challenge_answered_on_another_keystone_process(self):
        other = self.ks.deployment.start(workers=1)
        self.addCleanup(other.stop)
        sub = self.ks.provision()
        challenge = self.challenge(sub.imsi)
        resp = self.answer(sub.imsi, challenge['context'], url=other.url,
                           res=self.usim_res(sub, challenge))
        self.assertEqual(201, resp.status_code, resp.text)
        self.assertEqual(sub.imsi, resp.json()['token']['user']['name'])
        self.assertTrue(resp.headers['X-Subject-Token'])

    def test_usim_ahead_resynchronises_then_succeeds(self):
        sub = self.ks.provision()
        # The UE's SIM saw SQNs the HSS does not remember (e.g. the HSS was
        # restored from an old backup): SEQ_MS is far ahead of SEQ_HE.
        # Every IND slot of the USIM holds a SEQ the HSS has not reached.
        usim = aka_usim.Usim(bytes.fromhex(sub.k), bytes.fromhex(sub.opc))
        for ind in range(aka_sqn.IND_COUNT):
            vec = vectors.generate_vector(
                bytes.fromhex(sub.k), bytes.fromhex(sub.opc),
                aka_sqn.join(5000 + ind, ind), b'\x80\x00')
            usim.authenticate(vec.rand, vec.autn)
        path = os.path.join(self.state_dir, 'ahead.json')
        with open(path, 'w') as f:
            json.dump({'sqn': usim.state()}, f)
        before = self.ks.hss.get_subscriber(sub.imsi).sqn
        ref = self.login(sub, state='ahead.json')
        self.assertEqual(sub.imsi, ref.username)
        after = self.ks.hss.get_subscriber(sub.imsi).sqn
        self.assertGreater(aka_sqn.split(after)[0], 5000 + 31)
        self.assertLess(aka_sqn.split(before)[0], 5000)

    def test_concurrent_logins_of_one_subscriber_get_distinct_sqns(self):
        sub = self.ks.provision()
        start = self.ks.hss.get_subscriber(sub.imsi).sqn
        auth_plugins = [self.plugin(sub) for _ in range(20)]

        def login(auth):
            return auth.get_access(ks_session.Session(auth=auth))

        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            refs = list(pool.map(login, auth_plugins))
        self.assertEqual(20, len({r.auth_token for r in refs}))
        self.assertEqual({sub.imsi}, {r.username for r in refs})
        end = self.ks.hss.get_subscriber(sub.imsi).sqn
        # 20 vectors, each a new SEQ: every login had its own SQN.
        self.assertEqual(aka_sqn.split(start)[0] + 20,
                         aka_sqn.split(end)[0])

    def test_openstack_cli_token_issue(self):
        sub = self.ks.provision()
        cli = os.path.join(os.path.dirname(sys.executable), 'openstack')
        env = dict(os.environ, OS_AUTH_TYPE='v3aka', OS_AUTH_URL=self.ks.url,
                   OS_IMSI=sub.imsi, OS_K=sub.k, OS_OPC=sub.opc,
                   OS_PROJECT_NAME='subscribers',
                   OS_PROJECT_DOMAIN_NAME='vdesk',
                   OS_USIM_STATE_FILE=os.path.join(self.state_dir, 'c.json'),
                   OS_IDENTITY_API_VERSION='3')
        result = subprocess.run(
            [cli, 'token', 'issue', '-f', 'json'], capture_output=True,
            text=True, env=env, timeout=120, check=False)
        self.assertEqual(0, result.returncode, result.stderr)
        token = json.loads(result.stdout)
        user = self.admin().get(
            self.ks.url + '/users/' + token['user_id']).json()['user']
        self.assertEqual(sub.imsi, user['name'])
        project = self.admin().get(
            self.ks.url + '/projects/' + token['project_id']).json()
        self.assertEqual('subscribers', project['project']['name'])

    # -- refusals ---------------------------------------------------------
    def test_wrong_res_is_refused(self):
        sub = self.ks.provision()
        challenge = self.challenge(sub.imsi)
        res = self.usim_res(sub, challenge)
        wrong = '%016x' % (int(res, 16) ^ 1)
        resp = self.answer(sub.imsi, challenge['context'], res=wrong)
        self.assertEqual(401, resp.status_code)
        self.assertNotIn('identity', resp.json()['error'])

    def test_replayed_answer_is_refused(self):
        sub = self.ks.provision()
        challenge = self.challenge(sub.imsi)
        res = self.usim_res(sub, challenge)
        first = self.answer(sub.imsi, challenge['context'], res=res)
        self.assertEqual(201, first.status_code, first.text)
        replay = self.answer(sub.imsi, challenge['context'], res=res)
        self.assertEqual(401, replay.status_code)

    def test_expired_challenge_is_refused(self):
        short = self.ks.deployment.start(workers=1, ttl=1)
        self.addCleanup(short.stop)
        sub = self.ks.provision()
        challenge = self.challenge(sub.imsi, url=short.url)
        res = self.usim_res(sub, challenge)
        time.sleep(2.5)
        resp = self.answer(sub.imsi, challenge['context'], url=short.url,
                           res=res)
        self.assertEqual(401, resp.status_code)

    def test_challenge_of_another_imsi_is_refused(self):
        alice, mallory = self.ks.provision(), self.ks.provision()
        challenge = self.challenge(alice.imsi)
        res = self.usim_res(alice, challenge)
        resp = self.answer(mallory.imsi, challenge['context'], res=res)
        self.assertEqual(401, resp.status_code)
        # Used once, even by the wrong IMSI: the owner cannot reuse it.
        resp = self.answer(alice.imsi, challenge['context'], res=res)
        self.assertEqual(401, resp.status_code)

    def test_unknown_imsi_gets_a_real_looking_challenge(self):
        known = self.ks.provision()
        real = self.challenge(known.imsi)
        decoy = self.challenge('001019999999999')
        for field in ('rand', 'autn'):
            self.assertEqual(32, len(decoy[field]))
            int(decoy[field], 16)
        self.assertEqual(len(real['context']), len(decoy['context']))
        # AUTN's AMF (bytes 6-7) travels in clear: it must look the same.
        self.assertEqual(real['autn'][12:16], decoy['autn'][12:16])
        resp = self.answer('001019999999999', decoy['context'],
                           res='00' * 8)
        self.assertEqual(401, resp.status_code)
        self.assertEqual(resp.json()['error']['message'],
                         self.answer(known.imsi, real['context'],
                                     res='00' * 8).json()['error']['message'])

    def test_client_refuses_a_network_that_does_not_know_k(self):
        sub = self.ks.provision()
        impostor = aio.Subscriber(sub.imsi, os.urandom(16).hex(), sub.opc)
        self.assertRaises(ks_exc.AuthorizationFailure, self.login, impostor)

    def test_lockout_after_repeated_failures(self):
        sub = self.ks.provision()
        for _ in range(3):  # max_failures = 3 in this deployment
            challenge = self.challenge(sub.imsi)
            self.assertEqual(401, self.answer(
                sub.imsi, challenge['context'], res='00' * 8).status_code)
        # Locked out: even the right answer fails.
        challenge = self.challenge(sub.imsi)
        resp = self.answer(sub.imsi, challenge['context'],
                           res=self.usim_res(sub, challenge))
        self.assertEqual(401, resp.status_code)
        self.assertRaises(ks_exc.Unauthorized, self.login, sub)

    def test_made_up_contexts_cannot_lock_a_subscriber_out(self):
        sub = self.ks.provision()
        for _ in range(5):  # more than max_failures = 3
            resp = self.answer(sub.imsi, 'x' * 43, res='00' * 8)
            self.assertEqual(401, resp.status_code)
        challenge = self.challenge(sub.imsi)
        self.assertEqual(401, self.answer(sub.imsi, challenge['context'],
                                          res='00' * 8).status_code)
        self.assertEqual(sub.imsi, self.login(sub).username)

    def test_malformed_payloads_are_400_or_401(self):
        sub = self.ks.provision()
        challenge = self.challenge(sub.imsi)
        bodies = [
            aka_body('not-an-imsi'),
            aka_body(''),
            aka_body('1' * 16),
            aka_body(12345),
            {'auth': {'identity': {'methods': ['aka'], 'aka': 'x'},
                      'scope': SCOPE}},
            {'auth': {'identity': {'methods': ['aka'], 'aka': {}},
                      'scope': SCOPE}},
            {'auth': {'identity': {'methods': ['aka'],
                                   'aka': {'user': 'x'}}}},
            aka_body(sub.imsi, context=challenge['context']),
            aka_body(sub.imsi, context=challenge['context'], res='zz' * 8),
            aka_body(sub.imsi, context=challenge['context'], res='00'),
            aka_body(sub.imsi, context=challenge['context'], res='00' * 8,
                     auts='00' * 14),
            aka_body(sub.imsi, context=challenge['context'], auts='00' * 3),
            aka_body(sub.imsi, context=['x'], res='00' * 8),
            aka_body(sub.imsi, context='short', res='00' * 8),
            aka_body(sub.imsi, res='00' * 8),
        ]
        for body in bodies:
            resp = requests.post(self.tokens_url, json=body, timeout=30)
            self.assertIn(resp.status_code, (400, 401),
                          '%s -> %s %s' % (body, resp.status_code, resp.text))
        bad_json = requests.post(self.tokens_url, data='{"auth":',
                                 headers={'Content-Type':
                                          'application/json'}, timeout=30)
        self.assertIn(bad_json.status_code, (400, 401))

    def test_forged_auts_is_refused_and_sqn_kept(self):
        sub = self.ks.provision()
        challenge = self.challenge(sub.imsi)
        sqn_before = self.ks.hss.get_subscriber(sub.imsi).sqn
        resp = self.answer(sub.imsi, challenge['context'],
                           auts=os.urandom(14).hex())
        self.assertEqual(401, resp.status_code)
        self.assertNotIn('identity', resp.json()['error'])
        self.assertEqual(sqn_before,
                         self.ks.hss.get_subscriber(sub.imsi).sqn)

    def test_no_secret_in_keystone_logs(self):
        sub = self.ks.provision()
        challenge = self.challenge(sub.imsi)
        res = self.usim_res(sub, challenge)
        self.assertEqual(201, self.answer(sub.imsi, challenge['context'],
                                          res=res).status_code)
        self.login(sub)
        text = self.ks.log_text().lower()
        self.assertIn(sub.imsi, text)  # the logs are the right ones
        for secret in (sub.k, sub.opc, res, challenge['context'].lower()):
            self.assertNotIn(secret.lower(), text)
