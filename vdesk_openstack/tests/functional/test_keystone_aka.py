"""SIM login against a real Keystone over HTTP.

Keystone runs as gunicorn worker processes on loopback with the ``aka``
method enabled in keystone.conf; the HSS is the embedded sqlite one. The
UE side is either the real ``v3aka`` keystoneauth1 plugin or raw HTTP for
the malformed and hostile cases.
"""

import concurrent.futures
import http.client
import json
import os
import subprocess
import sys
import time

import fixtures
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
import requests
import sqlalchemy as sa
import testtools

from vdesk_openstack.aka import sqn as aka_sqn
from vdesk_openstack.aka import usim as aka_usim
from vdesk_openstack.aka import vectors
from vdesk_openstack.client import v3aka
from vdesk_openstack.hss.sql import models
from vdesk_openstack.sandbox import aio
from vdesk_openstack.tests import aka_keystone

SCOPE = {'project': {'name': 'subscribers', 'domain': {'name': 'vdesk'}}}
# The operator's AMF in the test deployment: not the built-in 8000, so a
# decoy that ignored the configuration would show.
OPERATOR_AMF = 'b9b9'


def post_from(address, url, body, headers=None):
    """POST ``body`` to ``url`` from loopback source ``address``."""
    parsed = requests.utils.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                      timeout=30,
                                      source_address=(address, 0))
    try:
        conn.request('POST', parsed.path, body=json.dumps(body),
                     headers=dict(headers or {},
                                  **{'Content-Type': 'application/json'}))
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def aka_body(imsi, **answer):
    data = {'user': {'name': imsi}}
    data.update(answer)
    return {'auth': {'identity': {'methods': ['aka'], 'aka': data},
                     'scope': SCOPE}}


class KeystoneAkaTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ks = aio.AllInOne().start()
        try:
            # The operator's vdesk.conf sets its AMF; the rate bounds leave
            # room for the tests' bursts, and an IMSI keeps enough
            # challenges for 20 concurrent logins (the bound tests start
            # servers of their own).
            cls.vdesk_conf = os.path.join(cls.ks.workdir, 'vdesk-amf.conf')
            with open(cls.ks.vdesk_conf_file) as src:
                text = src.read()
            with open(cls.vdesk_conf, 'w') as f:
                f.write(text + 'amf = %s\n' % OPERATOR_AMF)
            cls.server = aka_keystone.start_keystone(
                cls.ks.deployment, workers=2,
                vdesk_config_file=cls.vdesk_conf,
                outstanding_challenges_per_imsi=32,
                challenges_per_address=10000)
        except BaseException:
            cls.ks.stop()
            raise
        cls.url = cls.server.url

    @classmethod
    def tearDownClass(cls):
        cls.ks.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.tokens_url = self.url + '/auth/tokens'
        self.state_dir = self.useFixture(fixtures.TempDir()).path

    # -- helpers ----------------------------------------------------------
    def plugin(self, sub, url=None, state='usim.json', **kwargs):
        return v3aka.V3Aka(
            url or self.url, imsi=sub.imsi, k=sub.k, opc=sub.opc,
            project_name='subscribers', project_domain_name='vdesk',
            usim_state_file=os.path.join(self.state_dir, state), **kwargs)

    def login(self, sub, **kwargs):
        auth = self.plugin(sub, **kwargs)
        return auth.get_access(ks_session.Session(auth=auth))

    def challenge(self, imsi, url=None):
        resp = requests.post((url or self.url) + '/auth/tokens',
                             json=aka_body(imsi), timeout=30)
        self.assertEqual(401, resp.status_code, resp.text)
        identity = resp.json()['error']['identity']
        self.assertEqual(['aka'], identity['methods'])
        return identity['aka']

    def answer(self, imsi, context, url=None, **answer):
        return requests.post((url or self.url) + '/auth/tokens',
                             json=aka_body(imsi, context=context, **answer),
                             timeout=30)

    def usim_res(self, sub, challenge, usim=None):
        usim = usim or aka_usim.Usim(bytes.fromhex(sub.k),
                                     bytes.fromhex(sub.opc))
        return usim.authenticate(bytes.fromhex(challenge['rand']),
                                 bytes.fromhex(challenge['autn'])).res.hex()

    def admin(self):
        return self.ks.deployment.admin_session(self.url)

    def sqn(self, imsi):
        return self.ks.hss.get_subscriber(imsi).sqn

    def count_rows(self, model, *where):
        with self.ks.hss.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(
                model).where(*where)).scalar_one()

    def user_exists(self, imsi):
        users = self.admin().get(self.url + '/users',
                                 params={'name': imsi}).json()['users']
        return bool(users)

    # -- happy paths ------------------------------------------------------
    def test_first_login_creates_user_and_second_login_works(self):
        sub = self.ks.provision()
        self.assertFalse(self.user_exists(sub.imsi))
        ref = self.login(sub)
        self.assertEqual(sub.imsi, ref.username)
        self.assertEqual('subscribers', ref.project_name)
        self.assertEqual(['vdesk_subscriber'], ref.role_names)
        self.assertTrue(self.user_exists(sub.imsi))
        second = self.login(sub)
        self.assertEqual(ref.user_id, second.user_id)
        self.assertNotEqual(ref.auth_token, second.auth_token)
        # The token is a real one: Keystone validates it.
        resp = self.admin().get(self.url + '/auth/tokens',
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
        env = dict(os.environ, OS_AUTH_TYPE='v3aka', OS_AUTH_URL=self.url,
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
            self.url + '/users/' + token['user_id']).json()['user']
        self.assertEqual(sub.imsi, user['name'])
        project = self.admin().get(
            self.url + '/projects/' + token['project_id']).json()
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
        short = self.ks.deployment.start(workers=1, challenge_ttl=1)
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
        real_resp = requests.post(self.tokens_url, json=aka_body(known.imsi),
                                  timeout=30)
        decoy_resp = requests.post(self.tokens_url,
                                   json=aka_body('001019999999999'),
                                   timeout=30)
        # Same status, same body shape, same size, same headers.
        self.assertEqual(401, real_resp.status_code)
        self.assertEqual(401, decoy_resp.status_code)
        self.assertEqual(len(real_resp.content), len(decoy_resp.content))

        def shape(value):
            if isinstance(value, dict):
                return {k: shape(v) for k, v in value.items()}
            return (type(value).__name__, len(str(value)))

        real_body, decoy_body = real_resp.json(), decoy_resp.json()
        self.assertEqual(shape(real_body), shape(decoy_body))
        self.assertEqual(sorted(real_resp.headers), sorted(decoy_resp.headers))
        real = real_body['error']['identity']['aka']
        decoy = decoy_body['error']['identity']['aka']
        for field in ('rand', 'autn'):
            int(decoy[field], 16)
        # AUTN's AMF (bytes 6-7) travels in clear: the decoy's is the
        # operator's configured one.
        self.assertEqual(OPERATOR_AMF, decoy['autn'][12:16])
        self.assertEqual('8000', real['autn'][12:16])  # provisioned so
        resp = self.answer('001019999999999', decoy['context'],
                           res='00' * 8)
        self.assertEqual(401, resp.status_code)
        self.assertEqual(resp.json()['error']['message'],
                         self.answer(known.imsi, real['context'],
                                     res='00' * 8).json()['error']['message'])

    def test_decoy_amf_matches_a_subscriber_with_the_operator_amf(self):
        sub = aio.make_subscriber(9000)
        self.ks.hss.add_subscriber(sub.imsi, bytes.fromhex(sub.k),
                                   bytes.fromhex(sub.opc),
                                   amf=bytes.fromhex(OPERATOR_AMF))
        real = self.challenge(sub.imsi)
        decoy = self.challenge('001019999999998')
        self.assertEqual(real['autn'][12:16], decoy['autn'][12:16])
        self.assertEqual(sub.imsi, self.login(sub).username)

    def test_client_refuses_a_network_that_does_not_know_k(self):
        sub = self.ks.provision()
        impostor = aio.Subscriber(sub.imsi, os.urandom(16).hex(), sub.opc)
        self.assertRaises(ks_exc.AuthorizationFailure, self.login, impostor)

    def test_strangers_wrong_answers_do_not_lock_the_sim_out(self):
        sub = self.ks.provision()
        for _ in range(20):
            challenge = self.challenge(sub.imsi)
            resp = self.answer(sub.imsi, challenge['context'],
                               res=os.urandom(8).hex())
            self.assertEqual(401, resp.status_code)
        for _ in range(5):  # and made-up contexts
            resp = self.answer(sub.imsi, 'x' * 43, res='00' * 8)
            self.assertEqual(401, resp.status_code)
        self.assertEqual(sub.imsi, self.login(sub).username)

    def test_usim_far_behind_resynchronises_by_lowering_sqn_he(self):
        # The HSS ran more than DELTA ahead of the SIM (restored from a
        # newer backup, or SIM swapped back): a fresh USIM refuses every
        # challenge (Annex C.2.1) until SQN_HE is reset to its SQN_MS.
        far = aka_sqn.join(aka_sqn.DELTA + 1000, 0)
        sub = self.ks.provision(sqn=far)
        ref = self.login(sub)
        self.assertEqual(sub.imsi, ref.username)
        after = self.sqn(sub.imsi)
        self.assertLess(after, far)
        self.assertLess(aka_sqn.split(after)[0], 10)
        # And the next login needs no resync.
        self.assertEqual(sub.imsi, self.login(sub).username)
        self.assertEqual(aka_sqn.split(after)[0] + 1,
                         aka_sqn.split(self.sqn(sub.imsi))[0])

    # -- rate bounds ------------------------------------------------------
    def assert_generic_refusal(self, resp):
        self.assertEqual(401, resp.status_code, resp.text)
        body = resp.json()
        self.assertNotIn('identity', body['error'])
        # Exactly the body of any other refusal, e.g. a wrong RES.
        sub = self.ks.provision()
        challenge = self.challenge(sub.imsi)
        wrong = self.answer(sub.imsi, challenge['context'], res='00' * 8)
        self.assertEqual(wrong.json(), body)

    def counter(self, subject):
        with self.ks.hss.engine.connect() as conn:
            return conn.execute(sa.select(
                models.AkaChallengeCount.hits).where(
                models.AkaChallengeCount.subject == subject)).scalar()

    def test_strangers_challenge_requests_do_not_lock_the_sim_out(self):
        # Default bounds: whatever they are, a stranger asking for an
        # IMSI's challenges does not stop its SIM from logging in.
        server = aka_keystone.start_keystone(self.ks.deployment, workers=2)
        self.addCleanup(server.stop)
        url = server.url + '/auth/tokens'
        victim = self.ks.provision()

        def flood(count):
            for _ in range(count):
                status, _ = post_from('127.0.0.2', url,
                                      aka_body(victim.imsi))
                self.assertEqual(401, status)

        flood(30)
        self.assertEqual(victim.imsi,
                         self.login(victim, url=server.url).username)
        # The stranger floods between the SIM's two steps: it pushes out
        # its own challenges, not the SIM's.
        challenge = self.challenge(victim.imsi, url=server.url)
        flood(30)
        resp = self.answer(victim.imsi, challenge['context'],
                           url=server.url,
                           res=self.usim_res(victim, challenge))
        self.assertEqual(201, resp.status_code, resp.text)
        # What is kept for the IMSI is bounded (default 5), whatever the
        # flood, and an unknown IMSI is treated alike.
        imsi_rows = models.AkaChallenge.imsi == victim.imsi
        self.assertLessEqual(self.count_rows(models.AkaChallenge, imsi_rows),
                             5)
        for _ in range(12):
            status, body = post_from('127.0.0.2', url,
                                     aka_body('001019999999997'))
            self.assertIn('identity', body['error'])
        self.assertEqual(5, self.count_rows(
            models.AkaChallenge,
            models.AkaChallenge.imsi == '001019999999997'))

    def test_challenge_flood_hits_the_bounds_of_address_and_total(self):
        flood = aka_keystone.start_keystone(
            self.ks.deployment, workers=2, challenges_per_address=4,
            challenges_total=6, challenge_rate_window=3600)
        self.addCleanup(flood.stop)
        url = flood.url + '/auth/tokens'
        subs = [self.ks.provision() for _ in range(2)]
        for imsi in (subs[0].imsi, '001019999999996', subs[0].imsi,
                     '001019999999995'):
            status, body = post_from('127.0.0.1', url, aka_body(imsi))
            self.assertEqual(401, status)
            self.assertIn('identity', body['error'])
        sqn = self.sqn(subs[1].imsi)
        status, body = post_from('127.0.0.1', url, aka_body(subs[1].imsi))
        self.assertEqual(401, status)
        self.assertNotIn('identity', body['error'])
        # Refused for the address: its IMSI got no SQN, and the total did
        # not count it.
        self.assertEqual(sqn, self.sqn(subs[1].imsi))
        self.assertEqual(4, self.counter('total'))
        # Another address still gets its challenge, up to the total.
        for _ in range(2):
            status, body = post_from('127.0.0.2', url,
                                     aka_body(subs[1].imsi))
            self.assertIn('identity', body['error'])
        self.assertGreater(self.sqn(subs[1].imsi), sqn)
        for address in ('127.0.0.2', '127.0.0.4'):
            status, body = post_from(address, url, aka_body(subs[1].imsi))
            self.assertEqual(401, status)
            self.assertNotIn('identity', body['error'])
        self.assertEqual(6, self.counter('total'))
        self.assertEqual(4, self.counter('addr:127.0.0.1'))
        self.assertEqual(3, self.counter('addr:127.0.0.2'))

    def test_forwarded_for_is_read_from_trusted_proxies_only(self):
        server = aka_keystone.start_keystone(
            self.ks.deployment, workers=2, challenges_per_address=3,
            challenge_rate_window=3600,
            trusted_proxies='127.0.0.3, 127.0.0.64/26')
        self.addCleanup(server.stop)
        url = server.url + '/auth/tokens'
        imsi = self.ks.provision().imsi

        def ask(peer, forwarded_for):
            status, body = post_from(peer, url, aka_body(imsi),
                                     {'X-Forwarded-For': forwarded_for})
            self.assertEqual(401, status)
            return 'identity' in body['error']

        # A client that writes X-Forwarded-For itself is its own address,
        # whatever it writes.
        self.assertEqual([True, True, True, False, False], [
            ask('127.0.0.1', '203.0.113.%d' % i) for i in range(5)])
        self.assertEqual(3, self.counter('addr:127.0.0.1'))
        self.assertIsNone(self.counter('addr:203.0.113.0'))
        # Behind a trusted proxy: the hop it added, not what its client
        # wrote to the left of it.
        self.assertEqual([True, True, True, False], [
            ask('127.0.0.3', '192.0.2.%d, 198.51.100.1' % i)
            for i in range(4)])
        self.assertEqual(3, self.counter('addr:198.51.100.1'))
        self.assertIsNone(self.counter('addr:192.0.2.0'))
        # The proxy's other clients are counted apart; proxies in a chain
        # (the second from the trusted network) are skipped.
        self.assertTrue(ask('127.0.0.3', '198.51.100.2'))
        self.assertTrue(ask('127.0.0.3', '198.51.100.3, 127.0.0.70'))
        self.assertEqual(1, self.counter('addr:198.51.100.3'))
        self.assertIsNone(self.counter('addr:127.0.0.3'))
        self.assertIsNone(self.counter('addr:127.0.0.70'))

    def test_malformed_trusted_proxy_stops_keystone_with_a_message(self):
        try:
            server = aka_keystone.start_keystone(
                self.ks.deployment, workers=1,
                trusted_proxies='127.0.0.3, proxy.example.net')
        except RuntimeError as e:  # died before its port opened
            log_path = str(e).rpartition('(see ')[2].rstrip(')')
        else:  # gunicorn's port opens before its worker boots
            self.addCleanup(server.stop)
            self.assertNotEqual(0, server.process.wait(timeout=120))
            log_path = server.log_path
        with open(log_path) as f:
            log = f.read()
        self.assertIn('Worker failed to boot', log)
        self.assertIn('trusted_proxies', log)
        self.assertIn("'proxy.example.net' is not an IP address or network",
                      log)

    def test_ipv6_client_with_a_port_is_counted_by_its_network(self):
        server = aka_keystone.start_keystone(
            self.ks.deployment, workers=2, challenges_per_address=3,
            challenge_rate_window=3600, trusted_proxies='127.0.0.3')
        self.addCleanup(server.stop)
        url = server.url + '/auth/tokens'
        imsi = self.ks.provision().imsi
        hops = ['[2001:db8:1:2::1]:4711', '[2001:db8:1:2::99]:4712',
                '[2001:0db8:0001:0002:ffff:ffff:ffff:ffff]:65535',
                '[2001:db8:1:2::1]:4713']
        got = []
        for hop in hops:
            status, body = post_from('127.0.0.3', url, aka_body(imsi),
                                     {'X-Forwarded-For': hop})
            self.assertEqual(401, status)
            got.append('identity' in body['error'])
        # One host's /64, whatever its address or port: one subject.
        self.assertEqual([True, True, True, False], got)
        self.assertEqual(3, self.counter('addr:2001:db8:1:2::/64'))
        # And the longest text an IPv6 hop with a port can be has its row.
        status, body = post_from(
            '127.0.0.3', url, aka_body(imsi), {'X-Forwarded-For': (
                '[2001:db8:ffff:ffff:ffff:ffff:255.255.255.255]:65535')})
        self.assertIn('identity', body['error'])
        self.assertEqual(1, self.counter('addr:2001:db8:ffff:ffff::/64'))

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
