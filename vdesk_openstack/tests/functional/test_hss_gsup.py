"""SIM login through the operator's HLR: a real osmo-hlr, a real Keystone.

osmo-hlr runs on a loopback address of its own with its own database; the
subscribers' K and OPc are provisioned in it over its VTY and nowhere
else. Keystone (gunicorn worker processes, over HTTP) runs the ``aka``
method with ``[hss] driver = gsup``; the HSS SQL database keeps the
challenges and the IMSI -> plan map. The UE is the real ``v3aka`` plugin
with its software USIM, or raw HTTP.
"""

import concurrent.futures
import contextlib
import io
import json
import os
import signal
import textwrap

import fixtures
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
import requests
import testtools

from vdesk_openstack.aka import exceptions as aka_exc
from vdesk_openstack.aka import milenage
from vdesk_openstack.aka import sqn as aka_sqn
from vdesk_openstack.aka import usim as aka_usim
from vdesk_openstack.aka import vectors
from vdesk_openstack.client import v3aka
from vdesk_openstack.cmd import manage
from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack import hss
from vdesk_openstack.hss import exceptions as hss_exc
from vdesk_openstack.sandbox import aio
from vdesk_openstack.sandbox import hlr as osmo_hlr
from vdesk_openstack.tests import aka_keystone
from vdesk_openstack.tests import services

SCOPE = {'project': {'name': 'subscribers', 'domain': {'name': 'vdesk'}}}
UNKNOWN_IMSI = '001019999999999'
# Short, so the hung-HLR test stays quick; a loaded CI machine still
# answers a loopback GSUP request in a few milliseconds.
TIMEOUT = 1.5


def aka_body(imsi, **answer):
    data = {'user': {'name': imsi}}
    data.update(answer)
    return {'auth': {'identity': {'methods': ['aka'], 'aka': data},
                     'scope': SCOPE}}


def write_gsup_conf(path, system, servers, timeout=TIMEOUT):
    """vdesk.conf of the gsup driver on ``system``'s HSS database."""
    with open(path, 'w') as f:
        f.write(textwrap.dedent('''\
            [hss]
            driver = gsup
            connection = sqlite:///{w}/hss.sqlite
            [hss_gsup]
            servers = {servers}
            ipa_name = vdesk-test
            timeout = {timeout}
            ''').format(w=system.workdir, servers=','.join(servers),
                        timeout=timeout))
    return path


class GsupKeystoneTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hlr = cls.ks = None
        if osmo_hlr.find_binary() is None:
            return  # setUp fails (CI) or skips the tests
        cls.hlr = osmo_hlr.OsmoHlr().start()
        try:
            cls.ks = aio.AllInOne().start()
            cls.gsup_conf = write_gsup_conf(
                os.path.join(cls.ks.workdir, 'vdesk-gsup.conf'), cls.ks,
                [cls.hlr.gsup_server])
            cls.driver = hss.get_driver(
                vdesk_conf.make_vdesk_conf([cls.gsup_conf]))
            cls.server = aka_keystone.start_keystone(
                cls.ks.deployment, workers=2,
                vdesk_config_file=cls.gsup_conf,
                outstanding_challenges_per_imsi=32,
                challenges_per_address=100000)
        except BaseException:
            cls.tearDownClass()
            raise
        cls.url = cls.server.url
        cls.count = 0

    @classmethod
    def tearDownClass(cls):
        if cls.ks is not None:
            cls.ks.stop()
        if cls.hlr is not None:
            cls.hlr.cleanup()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        services.require(self, 'osmo-hlr')
        self.state_dir = self.useFixture(fixtures.TempDir()).path
        if not self.hlr.running:  # a failed outage test left it down
            self.hlr.start()

    # -- helpers ----------------------------------------------------------
    def provision(self, plan='gold'):
        """A SIM whose K/OPc live in osmo-hlr only; mapped to ``plan``."""
        type(self).count += 1
        sub = aio.make_subscriber(5000 + self.count)
        self.hlr.provision(sub.imsi, sub.k, sub.opc)
        self.driver.add_subscriber(sub.imsi, plan=plan)
        sub.plan = plan
        return sub

    def plugin(self, sub, url=None, state='usim.json'):
        return v3aka.V3Aka(
            url or self.url, imsi=sub.imsi, k=sub.k, opc=sub.opc,
            project_name='subscribers', project_domain_name='vdesk',
            usim_state_file=os.path.join(self.state_dir, state))

    def login(self, sub, url=None, state='usim.json', plugin=None):
        auth = plugin or self.plugin(sub, url=url, state=state)
        return auth.get_access(ks_session.Session(auth=auth))

    def challenge(self, imsi, url=None):
        resp = requests.post((url or self.url) + '/auth/tokens',
                             json=aka_body(imsi), timeout=30)
        self.assertEqual(401, resp.status_code, resp.text)
        return resp.json()['error']['identity']['aka']

    def answer(self, imsi, context, url=None, **answer):
        return requests.post((url or self.url) + '/auth/tokens',
                             json=aka_body(imsi, context=context, **answer),
                             timeout=30)

    def assert_generic_refusal(self, resp, url=None):
        self.assertEqual(401, resp.status_code, resp.text)
        error = resp.json()['error']
        self.assertNotIn('identity', error)
        # Word for word the refusal of a made-up challenge.
        made_up = self.answer('001010000000000', 'x' * 43, url=url,
                              res='00' * 8)
        self.assertEqual(made_up.json(), resp.json())

    def record_sqns(self, auth, sub):
        """Record the SQN of every challenge ``auth``'s USIM accepts."""
        accepted = []
        opener = milenage.Milenage(bytes.fromhex(sub.k),
                                   bytes.fromhex(sub.opc))
        original = auth._usim.authenticate

        def authenticate(rand, autn):
            result = original(rand, autn)
            accepted.append(opener.open_autn(rand, autn)[0])
            return result

        auth._usim.authenticate = authenticate
        return accepted

    # -- logins -----------------------------------------------------------
    def test_first_login_uses_the_hlr_vectors(self):
        sub = self.provision(plan='silver')
        self.assertEqual(0, self.hlr.get_sqn(sub.imsi))
        auth = self.plugin(sub)
        accepted = self.record_sqns(auth, sub)
        ref = self.login(sub, plugin=auth)
        self.assertEqual(sub.imsi, ref.username)
        self.assertEqual(['vdesk_subscriber'], ref.role_names)
        # The vector the USIM accepted is the one osmo-hlr issued last.
        self.assertEqual([self.hlr.get_sqn(sub.imsi)], accepted)
        self.assertEqual('silver', self.driver.get_plan(sub.imsi).name)
        # And again (same USIM state), with the next SQN.
        again = self.plugin(sub)
        next_accepted = self.record_sqns(again, sub)
        self.login(sub, plugin=again)
        self.assertEqual([self.hlr.get_sqn(sub.imsi)], next_accepted)
        self.assertEqual(aka_sqn.split(accepted[0])[0] + 1,
                         aka_sqn.split(next_accepted[0])[0])

    def test_usim_accepts_the_autn_of_an_independent_auc(self):
        # AUTN computed by osmo-hlr's MILENAGE (libosmocore), checked by
        # our USIM, and our XRES digest from the HLR's XRES.
        sub = self.provision()
        challenge = self.challenge(sub.imsi)
        usim = aka_usim.Usim(bytes.fromhex(sub.k), bytes.fromhex(sub.opc))
        answer = usim.authenticate(bytes.fromhex(challenge['rand']),
                                   bytes.fromhex(challenge['autn']))
        self.assertEqual('0000', challenge['autn'][12:16])  # osmo-hlr AMF
        self.assertEqual(
            self.hlr.get_sqn(sub.imsi),
            aka_sqn.SqnArray.from_dict(usim.state()).highest())
        resp = self.answer(sub.imsi, challenge['context'],
                           res=answer.res.hex())
        self.assertEqual(201, resp.status_code, resp.text)
        self.assertEqual(sub.imsi, resp.json()['token']['user']['name'])
        # A USIM with another K refuses the network (MAC failure).
        stranger = aka_usim.Usim(os.urandom(16), bytes.fromhex(sub.opc))
        challenge = self.challenge(sub.imsi)
        self.assertRaises(aka_exc.MacFailure, stranger.authenticate,
                          bytes.fromhex(challenge['rand']),
                          bytes.fromhex(challenge['autn']))

    def test_usim_ahead_of_the_hlr_resynchronises(self):
        sub = self.provision()
        # The SIM saw SQNs the HLR does not remember (restored backup).
        usim = aka_usim.Usim(bytes.fromhex(sub.k), bytes.fromhex(sub.opc))
        for ind in range(aka_sqn.IND_COUNT):
            vec = vectors.generate_vector(
                bytes.fromhex(sub.k), bytes.fromhex(sub.opc),
                aka_sqn.join(7000 + ind, ind), b'\x00\x00')
            usim.authenticate(vec.rand, vec.autn)
        with open(os.path.join(self.state_dir, 'ahead.json'), 'w') as f:
            json.dump({'sqn': usim.state()}, f)
        auth = self.plugin(sub, state='ahead.json')
        accepted = self.record_sqns(auth, sub)
        self.assertEqual(sub.imsi, self.login(sub, plugin=auth).username)
        # osmo-hlr restarted its SQN above the USIM's (6.3.5).
        seq = aka_sqn.split(self.hlr.get_sqn(sub.imsi))[0]
        self.assertGreater(seq, 7000 + 31)
        self.assertEqual(1, len(accepted))
        self.assertGreater(aka_sqn.split(accepted[0])[0], 7000 + 31)

    def test_forged_auts_is_refused_and_sqn_kept(self):
        sub = self.provision()
        challenge = self.challenge(sub.imsi)
        before = self.hlr.get_sqn(sub.imsi)
        # A first AUTS of a login gets a fresh challenge (the HLR is not
        # asked to resynchronise, its SQN only moves on by one)...
        resp = self.answer(sub.imsi, challenge['context'],
                           auts=os.urandom(14).hex())
        self.assertEqual(401, resp.status_code)
        fresh = resp.json()['error']['identity']['aka']
        self.assertEqual(aka_sqn.split(before)[0] + 1,
                         aka_sqn.split(self.hlr.get_sqn(sub.imsi))[0])
        before = self.hlr.get_sqn(sub.imsi)
        # ... a second one goes to the HLR, which finds MAC-S wrong.
        resp = self.answer(sub.imsi, fresh['context'],
                           auts=os.urandom(14).hex())
        self.assert_generic_refusal(resp)
        self.assertEqual(before, self.hlr.get_sqn(sub.imsi))
        self.assert_logged('%s refused: invalid AUTS' % sub.imsi)

    def test_unknown_imsi_gets_the_decoy_a_known_one_would(self):
        known = self.provision()
        real = requests.post(self.url + '/auth/tokens',
                             json=aka_body(known.imsi), timeout=30)
        decoy = requests.post(self.url + '/auth/tokens',
                              json=aka_body(UNKNOWN_IMSI), timeout=30)
        self.assertEqual(401, real.status_code)
        self.assertEqual(401, decoy.status_code)
        self.assertEqual(len(real.content), len(decoy.content))

        def shape(value):
            if isinstance(value, dict):
                return {k: shape(v) for k, v in value.items()}
            return (type(value).__name__, len(str(value)))

        self.assertEqual(shape(real.json()), shape(decoy.json()))
        self.assertEqual(sorted(real.headers), sorted(decoy.headers))
        real_aka = real.json()['error']['identity']['aka']
        decoy_aka = decoy.json()['error']['identity']['aka']
        # The AMF in clear is the one the HLR's vectors carry.
        self.assertEqual(real_aka['autn'][12:16], decoy_aka['autn'][12:16])
        self.assertNotEqual(real_aka['rand'], decoy_aka['rand'])
        resp = self.answer(UNKNOWN_IMSI, decoy_aka['context'], res='00' * 8)
        self.assert_generic_refusal(resp)
        # osmo-hlr was asked about it (and created nobody).
        self.assertIn('IMSI-%s' % UNKNOWN_IMSI, self.hlr.log_text())

    def user_exists(self, imsi):
        admin = self.ks.deployment.admin_session(self.url)
        return bool(admin.get(self.url + '/users',
                              params={'name': imsi}).json()['users'])

    def hlr_only(self, mapped_without_plan=False):
        """A SIM of the operator's HLR that vdesk maps to no plan."""
        type(self).count += 1
        sub = aio.make_subscriber(5000 + self.count)
        self.hlr.provision(sub.imsi, sub.k, sub.opc)
        if mapped_without_plan:  # (the CLI refuses it, the driver not)
            self.driver.add_subscriber(sub.imsi)
        return sub

    def test_sim_of_the_hlr_without_a_plan_gets_the_decoy(self):
        known = self.provision()
        for sim in (self.hlr_only(),
                    self.hlr_only(mapped_without_plan=True)):
            before = self.hlr.get_sqn(sim.imsi)
            real = requests.post(self.url + '/auth/tokens',
                                 json=aka_body(known.imsi), timeout=30)
            decoy = requests.post(self.url + '/auth/tokens',
                                  json=aka_body(sim.imsi), timeout=30)
            self.assertEqual(real.status_code, decoy.status_code)
            self.assertEqual(len(real.content), len(decoy.content))
            decoy_aka = decoy.json()['error']['identity']['aka']
            self.assertEqual(
                real.json()['error']['identity']['aka']['autn'][12:16],
                decoy_aka['autn'][12:16])
            # The HLR was asked (an unmapped IMSI costs a round trip), but
            # its vector was not handed out: the SIM finds no valid MAC.
            self.assertGreater(self.hlr.get_sqn(sim.imsi), before)
            usim = aka_usim.Usim(bytes.fromhex(sim.k),
                                 bytes.fromhex(sim.opc))
            self.assertRaises(aka_exc.MacFailure, usim.authenticate,
                              bytes.fromhex(decoy_aka['rand']),
                              bytes.fromhex(decoy_aka['autn']))
            self.assert_generic_refusal(self.answer(
                sim.imsi, decoy_aka['context'], res='00' * 8))
            # The real SIM cannot log in, and no Keystone user appears.
            self.assertRaises(ks_exc.AuthorizationFailure, self.login, sim)
            self.assertFalse(self.user_exists(sim.imsi))
        self.assertEqual(known.imsi, self.login(known).username)
        self.assertTrue(self.user_exists(known.imsi))

    def test_junk_auts_gets_one_answer_whoever_the_imsi(self):
        imsis = {'subscriber': self.provision().imsi,
                 'hlr only': self.hlr_only().imsi,
                 'unknown': UNKNOWN_IMSI}
        firsts, seconds = {}, {}
        for name, imsi in imsis.items():
            challenge = self.challenge(imsi)
            firsts[name] = self.answer(imsi, challenge['context'],
                                       auts=os.urandom(14).hex())
            error = firsts[name].json()['error']
            if 'identity' in error:
                seconds[name] = self.answer(
                    imsi, error['identity']['aka']['context'],
                    auts=os.urandom(14).hex())

        def shape(value):
            if isinstance(value, dict):
                return {k: shape(v) for k, v in value.items()}
            return (type(value).__name__, len(str(value)))

        # A first AUTS of a login: a fresh challenge for every IMSI.
        for name in imsis:
            self.assertEqual(
                (401, len(firsts['subscriber'].content),
                 shape(firsts['subscriber'].json())),
                (firsts[name].status_code, len(firsts[name].content),
                 shape(firsts[name].json())), name)
        # A second one: the generic refusal for every IMSI.
        self.assertEqual(set(imsis), set(seconds))
        for name in imsis:
            self.assert_generic_refusal(seconds[name])

    def test_wrong_res_is_refused(self):
        sub = self.provision()
        challenge = self.challenge(sub.imsi)
        usim = aka_usim.Usim(bytes.fromhex(sub.k), bytes.fromhex(sub.opc))
        res = usim.authenticate(bytes.fromhex(challenge['rand']),
                                bytes.fromhex(challenge['autn'])).res.hex()
        wrong = '%016x' % (int(res, 16) ^ 1)
        self.assert_generic_refusal(
            self.answer(sub.imsi, challenge['context'], res=wrong))
        # Consumed: even the right RES does not revive it.
        self.assert_generic_refusal(
            self.answer(sub.imsi, challenge['context'], res=res))

    def test_concurrent_logins_of_one_subscriber_get_distinct_sqns(self):
        sub = self.provision()
        plugins = [self.plugin(sub) for _ in range(20)]
        accepted = [self.record_sqns(auth, sub) for auth in plugins]
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            refs = list(pool.map(lambda auth: self.login(sub, plugin=auth),
                                 plugins))
        self.assertEqual(20, len({r.auth_token for r in refs}))
        self.assertEqual({sub.imsi}, {r.username for r in refs})
        # Each login's final answer came from a vector of its own.
        finals = [sqns[-1] for sqns in accepted]
        self.assertEqual(20, len(set(finals)))
        self.assertGreaterEqual(aka_sqn.split(
            self.hlr.get_sqn(sub.imsi))[0], 20)

    # -- Keystone processes -------------------------------------------------
    def test_two_keystone_processes_share_vectors_without_reuse(self):
        other = aka_keystone.start_keystone(
            self.ks.deployment, workers=1, vdesk_config_file=self.gsup_conf,
            outstanding_challenges_per_imsi=32,
            challenges_per_address=100000)
        self.addCleanup(other.stop)
        sub = self.provision()
        usim = aka_usim.Usim(bytes.fromhex(sub.k), bytes.fromhex(sub.opc))
        seen = set()
        for first, second in ((self.url, other.url), (other.url, self.url),
                              (other.url, other.url), (self.url, self.url)):
            challenge = self.challenge(sub.imsi, url=first)
            self.assertNotIn(challenge['rand'], seen)
            seen.add(challenge['rand'])
            res = usim.authenticate(bytes.fromhex(challenge['rand']),
                                    bytes.fromhex(challenge['autn'])).res
            resp = self.answer(sub.imsi, challenge['context'], url=second,
                               res=res.hex())
            self.assertEqual(201, resp.status_code, resp.text)
            # Used once: the other process refuses it again.
            replay = self.answer(sub.imsi, challenge['context'],
                                 url=first, res=res.hex())
            self.assert_generic_refusal(replay)
        # Concurrent logins spread over both processes: all distinct.
        plugins = [self.plugin(sub, url=(self.url, other.url)[i % 2],
                               state='both.json') for i in range(8)]
        accepted = [self.record_sqns(auth, sub) for auth in plugins]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda auth: self.login(sub, plugin=auth),
                          plugins))
        finals = [sqns[-1] for sqns in accepted]
        self.assertEqual(8, len(set(finals)))

    # -- HLR failures -------------------------------------------------------
    def keystone_log(self):
        return self.ks.log_text()

    def assert_logged(self, text, level=None):
        lines = [line for line in self.keystone_log().splitlines()
                 if text in line and (level is None or level in line)]
        self.assertTrue(lines, '%r not in the Keystone logs' % text)

    def test_hlr_down_gives_401_then_logins_work_when_it_is_back(self):
        sub = self.provision()
        self.login(sub)  # the connection is pooled
        self.addCleanup(lambda: self.hlr.running or self.hlr.start())
        self.hlr.stop()
        for _ in range(4):  # on both workers
            resp = requests.post(self.url + '/auth/tokens',
                                 json=aka_body(sub.imsi), timeout=30)
            self.assert_generic_refusal(resp)
        self.assert_logged(self.hlr.gsup_server, level=' ERROR ')
        self.hlr.start()
        # Same Keystone processes, no restart.
        for _ in range(4):
            self.assertEqual(sub.imsi, self.login(sub).username)

    def test_hung_hlr_gives_401_within_the_timeout(self):
        sub = self.provision()
        self.login(sub)
        self.hlr.process.send_signal(signal.SIGSTOP)
        try:
            resp = requests.post(self.url + '/auth/tokens',
                                 json=aka_body(sub.imsi), timeout=30)
            self.assert_generic_refusal(resp)
            self.assertLess(resp.elapsed.total_seconds(), 30)
        finally:
            self.hlr.process.send_signal(signal.SIGCONT)
        self.assert_logged('%s did not answer within' % self.hlr.gsup_server,
                           level=' ERROR ')
        self.assertEqual(sub.imsi, self.login(sub).username)

    def test_failover_to_the_second_hlr_when_the_first_is_down(self):
        down = osmo_hlr.free_loopback_address()  # nothing listens there
        conf = write_gsup_conf(
            os.path.join(self.ks.workdir, 'vdesk-failover.conf'), self.ks,
            ['%s:4222' % down, self.hlr.gsup_server])
        server = aka_keystone.start_keystone(
            self.ks.deployment, workers=1, vdesk_config_file=conf,
            outstanding_challenges_per_imsi=32,
            challenges_per_address=100000)
        self.addCleanup(server.stop)
        sub = self.provision()
        for _ in range(3):
            self.assertEqual(sub.imsi,
                             self.login(sub, url=server.url).username)
        self.assert_logged('HLR %s:4222 unreachable' % down)
        self.assertGreaterEqual(aka_sqn.split(
            self.hlr.get_sqn(sub.imsi))[0], 3)

    def test_no_secret_in_logs(self):
        sub = self.provision()
        challenge = self.challenge(sub.imsi)
        usim = aka_usim.Usim(bytes.fromhex(sub.k), bytes.fromhex(sub.opc))
        res = usim.authenticate(bytes.fromhex(challenge['rand']),
                                bytes.fromhex(challenge['autn'])).res.hex()
        self.assertEqual(201, self.answer(sub.imsi, challenge['context'],
                                          res=res).status_code)
        text = self.keystone_log().lower()
        self.assertIn(sub.imsi, text)
        for secret in (sub.k, sub.opc, res):
            self.assertNotIn(secret.lower(), text)

    # -- provisioning ---------------------------------------------------------
    def manage(self, *args):
        err = io.StringIO()
        out = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = manage.main(['--config-file', self.gsup_conf] +
                               list(args))
        return code, out.getvalue(), err.getvalue()

    def test_manage_maps_a_subscriber_and_refuses_secrets(self):
        code, out, err = self.manage('subscriber', 'add', '--imsi',
                                     '001010000077777', '--plan', 'bronze')
        self.assertEqual(0, code, err)
        self.assertEqual('bronze', json.loads(out)['plan'])
        self.assertEqual('bronze',
                         self.driver.get_plan('001010000077777').name)
        code, out, err = self.manage(
            'subscriber', 'add', '--imsi', '001010000077778', '--k',
            '00' * 16, '--opc', '11' * 16, '--plan', 'bronze')
        self.assertEqual(manage.EXIT_USAGE, code)
        self.assertIn('keeps K, OPc and the SQN in the operator\'s HLR',
                      err)
        self.assertNotIn('00' * 16, err)
        self.assertIsNone(self.driver.get_plan('001010000077778'))
        # Without a plan the SIM could not log in: refused.
        code, out, err = self.manage('subscriber', 'add', '--imsi',
                                     '001010000077779')
        self.assertEqual(manage.EXIT_USAGE, code)
        self.assertIn('needs --plan', err)
        self.assertRaises(hss_exc.SubscriberNotFound,
                          self.driver.get_subscriber, '001010000077779')
        code, out, err = self.manage('subscriber', 'add', '--imsi',
                                     '001010000077777', '--plan', 'gold')
        self.assertEqual(manage.EXIT_USAGE, code)
        self.assertIn('already exists', err)
