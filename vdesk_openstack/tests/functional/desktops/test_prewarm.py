"""Pre-warm end to end: a SIM login alone brings the desktop back.

A real Keystone with the ``aka`` method announces each successful SIM
login on a real RabbitMQ; the desktop engine's login listener receives it
and starts restoring the subscriber's desktop in Nova's real services --
before the UE has asked the desktop service for anything.
"""

import os
import socket
import time
import uuid

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from oslo_config import fixture as config_fixture
import oslo_messaging

from vdesk_openstack.client import v3aka
from vdesk_openstack.desktops import listener as listener_mod
from vdesk_openstack.desktops import states
from vdesk_openstack.sandbox import aio
from vdesk_openstack.sandbox import keystone
from vdesk_openstack.tests.functional.desktops import harness
from vdesk_openstack.tests.functional import rabbit
from vdesk_openstack.tests import services


class PrewarmTest(harness.DesktopTestCase):

    pool_hosts = ('pool1',)
    other_hosts = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keystone = None
        try:
            socket.create_connection(('127.0.0.1', 5672), 1).close()
        except OSError:
            return  # setUp reports it (fails in CI, skips elsewhere)
        # A vhost of this class: another test's Keystone announcing a
        # login of the same test IMSI must not pre-warm these desktops.
        vhost = rabbit.PrivateVhost()
        vhost.setUp()
        cls.addClassCleanup(vhost.cleanUp)
        cls.rabbit_url = vhost.url
        cls.keystone = aio.AllInOne(notification_url=cls.rabbit_url).start()
        cls.addClassCleanup(cls.keystone.stop)

    def setUp(self):
        services.require(self, 'rabbitmq')
        super().setUp()
        self.sim = self.keystone.provision(plan='bronze')
        self.hss.add_subscriber(self.sim.imsi, bytes.fromhex(self.sim.k),
                                bytes.fromhex(self.sim.opc), plan='bronze')
        transport = oslo_messaging.get_notification_transport(
            self.vconf, url=self.rabbit_url)
        self.addCleanup(transport.cleanup)
        listener = listener_mod.start_logins(
            self.vconf, self.manager, transport,
            pool='vdesk-test-%s' % uuid.uuid4().hex)
        self.addCleanup(listener_mod.stop, listener)

    def sim_login(self, capabilities):
        """Log in to Keystone with the SIM; the Keystone user id."""
        auth = v3aka.V3Aka(
            self.keystone.url, imsi=self.sim.imsi, k=self.sim.k,
            opc=self.sim.opc, project_name=keystone.SUBSCRIBER_PROJECT,
            project_domain_name=keystone.SUBSCRIBER_DOMAIN,
            usim_state_file=os.path.join(self.keystone.workdir,
                                         'usim-%s.json' % self.sim.imsi),
            capabilities=capabilities)
        session = ks_session.Session(auth=auth)
        session.get_token()
        return session.get_user_id()

    def released_desktop(self):
        """A first SIM login and desktop session, then a logout.

        The desktop is bound to the SIM user's Keystone id, as the API
        binds it; announcements of that user pre-warm it.
        """
        imsi = self.sim.imsi
        user_id = self.sim_login({})
        self.manager.login(imsi, user_id, {})
        self.manager.wait_for(imsi, states.ACTIVE)
        instance = self.store.get_desktop(imsi)['instance_id']
        self.assertEqual(user_id, self.store.get_desktop(imsi)['user_id'])
        self.manager.logout(imsi)
        self.manager.wait_for(imsi, states.ENDED)
        self._wait_for_status({'id': instance}, 'SHELVED_OFFLOADED')
        return imsi, user_id, instance

    def test_sim_login_alone_restores_the_desktop(self):
        imsi, user_id, instance = self.released_desktop()

        self.assertEqual(user_id, self.sim_login({'client': 'browser'}))
        # Nobody called the desktop service: the announcement did it.
        self._wait_for_status({'id': instance}, 'ACTIVE', timeout=60)
        self.assertIsNone(self.store.get_open_session(imsi))
        started = time.monotonic()
        session = self.manager.login(imsi, user_id, {'client': 'browser'})
        self.assertTrue(session['restored'])
        self.assertEqual(states.ACTIVE, self.manager.wait_for(
            imsi, states.ACTIVE)['status'])
        self.assertLess(time.monotonic() - started, 30)
        self.assertEqual(instance, self.store.get_desktop(imsi)['instance_id'])

    def test_failed_sim_login_announces_nothing(self):
        imsi, _, instance = self.released_desktop()
        impostor = v3aka.V3Aka(
            self.keystone.url, imsi=imsi, k=os.urandom(16).hex(),
            opc=self.sim.opc, project_name=keystone.SUBSCRIBER_PROJECT,
            project_domain_name=keystone.SUBSCRIBER_DOMAIN)
        self.assertRaises(ks_exc.AuthorizationFailure, ks_session.Session(
            auth=impostor).get_token)
        time.sleep(3)
        self.assertEqual('SHELVED_OFFLOADED',
                         self.server(instance)['status'])

    def release_unclaimed(self, imsi, instance, timeout=60):
        """Run the engine's periodic pass until the pre-warm is released."""
        deadline = time.monotonic() + timeout
        while self.store.get_desktop(imsi)['status'] != states.RELEASED:
            self.assertLess(time.monotonic(), deadline,
                            'pre-warm of %s not released' % imsi)
            time.sleep(0.5)
            self.manager.periodic()
        self._wait_for_status({'id': instance}, 'SHELVED_OFFLOADED')

    def test_repeated_sim_logins_get_bounded_free_prewarm(self):
        imsi, user_id, instance = self.released_desktop()
        fixture = self.useFixture(config_fixture.Config(self.vconf))
        fixture.config(group='desktops', prewarm_timeout=1,
                       prewarm_max_unclaimed=2)
        for _ in range(2):
            self.sim_login({})
            self._wait_for_status({'id': instance}, 'ACTIVE', timeout=60)
            self.release_unclaimed(imsi, instance)
        # The budget is spent: more SIM logins run nothing uncharged.
        for _ in range(2):
            self.sim_login({})
        time.sleep(3)
        self.assertEqual('SHELVED_OFFLOADED',
                         self.server(instance)['status'])
        desktop = self.store.get_desktop(imsi)
        self.assertEqual(states.RELEASED, desktop['status'])
        self.assertEqual(2, desktop['unclaimed_prewarms'])

        # Asking for the desktop works as ever, charged from ACTIVE on.
        self.manager.login(imsi, user_id, {})
        self.manager.wait_for(imsi, states.ACTIVE)
        self.manager.logout(imsi)
        self.manager.wait_for(imsi, states.ENDED)
        self._wait_for_status({'id': instance}, 'SHELVED_OFFLOADED')
        self.assertEqual(['vdesk.session.start', 'vdesk.session.end'] * 2,
                         [e for e, _ in self.notifications(imsi)])
        # A claimed session does not buy new free pre-warms.
        self.sim_login({})
        time.sleep(3)
        self.assertEqual('SHELVED_OFFLOADED',
                         self.server(instance)['status'])
