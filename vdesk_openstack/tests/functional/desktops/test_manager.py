"""Login, restore and release against Nova's real services (figs. 6-8)."""

import concurrent.futures
import time

from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import states
from vdesk_openstack.tests.functional.desktops import harness

NATIVE = {'client': 'native', 'display': {'protocol': 'spice'},
          'audio_out': True, 'audio_in': True, 'usb': True,
          'smartcard': True}


class DesktopLifecycleTest(harness.DesktopTestCase):

    def test_first_login_restore_and_release(self):
        imsi = self.add_subscriber('gold')
        session = self.manager.login(imsi, 'user-1', NATIVE)
        self.assertEqual(states.BUILDING, session['status'])
        self.assertFalse(session['restored'])
        desktop = self.store.get_desktop(imsi)
        uuid = desktop['instance_id']
        self.assertIsNotNone(uuid)
        # Idempotent while open: the same session comes back.
        again = self.manager.login(imsi, 'user-1', NATIVE)
        self.assertEqual(session['id'], again['id'])
        active = self.manager.wait_for(imsi, states.ACTIVE)
        self.assertEqual('spice-direct', active['console_type'])
        server = self.server(uuid)
        self.assertEqual('ACTIVE', server['status'])
        self.assertIn(server['OS-EXT-SRV-ATTR:host'], self.pool_hosts)
        self.assertEqual({'vdesk_subscriber': imsi,
                          'vdesk_desktop_id': desktop['id']},
                         server['metadata'])
        flavor = server['flavor']
        self.assertEqual(2, flavor['vcpus'])
        self.assertEqual(2048, flavor['ram'])
        self.assertEqual({'hw:sound_model': 'ich9',
                          'hw:usb_model': 'qemu-xhci',
                          'hw:redirected_usb_ports': '4',
                          'vdesk:tier': 'gold'},
                         flavor['extra_specs'])

        released = self.manager.logout(imsi)
        self.assertIn(released['status'], (states.RELEASING, states.ENDED))
        self.assertIsNone(self.manager.wait_for(imsi, states.ENDED))
        self._wait_for_status(server, 'SHELVED_OFFLOADED')
        self.assertEqual(states.RELEASED,
                         self.store.get_desktop(imsi)['status'])

        second = self.manager.login(imsi, 'user-1', {'client': 'browser'})
        self.assertEqual(states.RESTORING, second['status'])
        self.assertTrue(second['restored'])
        self.assertNotEqual(session['id'], second['id'])
        self.manager.wait_for(imsi, states.ACTIVE)
        self.assertEqual(uuid, self.store.get_desktop(imsi)['instance_id'])
        self.assertEqual('ACTIVE', self.server(uuid)['status'])
        self.manager.logout(imsi)
        self.manager.wait_for(imsi, states.ENDED)

        events = [e for e, _ in self.notifications(imsi)]
        self.assertEqual(['vdesk.session.start', 'vdesk.session.end',
                          'vdesk.session.start', 'vdesk.session.end'],
                         events)
        start = self.notifications(imsi)[0][1]
        self.assertEqual({'session_id': session['id'], 'subscriber': imsi,
                          'instance_id': uuid,
                          'project_id': self.api_fixture.project_id,
                          'vcpus': 2, 'memory_mb': 2048, 'disk_gb': 1,
                          'priority': 'gold', 'record_number': 0}, start)
        end = self.notifications(imsi)[1][1]
        self.assertEqual(1, end['record_number'])  # no interim between
        self.assertEqual('User-Request', end['terminate_cause'])
        self.assertGreaterEqual(end['duration_s'], 0)

    def test_concurrent_logins_of_one_subscriber_make_one_vm(self):
        imsi = self.add_subscriber('silver')
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            sessions = list(pool.map(
                lambda _: self.manager.login(imsi, 'u', {}), range(50)))
        self.assertEqual(1, len({s['id'] for s in sessions}))
        servers = self.admin_api.get_servers()
        mine = [s for s in servers if s['name'] == 'desktop-%s' % imsi]
        self.assertEqual(1, len(mine))

    def test_instance_deleted_behind_the_service_is_rebuilt(self):
        imsi = self.add_subscriber('bronze')
        self.manager.login(imsi, 'u', {})
        self.manager.wait_for(imsi, states.ACTIVE)
        old = self.store.get_desktop(imsi)['instance_id']
        self.manager.logout(imsi)
        self.manager.wait_for(imsi, states.ENDED)
        self.admin_api.delete_server(old)
        self._wait_until_deleted({'id': old})
        session = self.manager.login(imsi, 'u', {})
        self.assertTrue(session['rebuilt'])
        self.assertFalse(session['restored'])
        self.manager.wait_for(imsi, states.ACTIVE)
        desktop = self.store.get_desktop(imsi)
        self.assertNotEqual(old, desktop['instance_id'])
        self.assertEqual(1, desktop['generation'])

    def test_crash_between_create_and_store_is_adopted(self):
        imsi = self.add_subscriber('gold')
        real_open = self.store.open_session

        def crash_after_nova(*args, **kwargs):
            if (kwargs.get('desktop_values') or {}).get('instance_id'):
                raise RuntimeError('injected crash after Nova answered')
            return real_open(*args, **kwargs)

        self.store.open_session = crash_after_nova
        self.assertRaises(RuntimeError, self.manager.login, imsi, 'u', {})
        self.store.open_session = real_open
        self.assertIsNone(self.store.get_desktop(imsi)['instance_id'])
        tagged = [s for s in self.admin_api.get_servers()
                  if s['name'] == 'desktop-%s' % imsi]
        self.assertEqual(1, len(tagged))
        # The next login adopts the server instead of creating a second.
        self.manager.login(imsi, 'u', {})
        self.manager.wait_for(imsi, states.ACTIVE)
        self.assertEqual(tagged[0]['id'],
                         self.store.get_desktop(imsi)['instance_id'])
        self.assertEqual(1, len([s for s in self.admin_api.get_servers()
                                 if s['name'] == 'desktop-%s' % imsi]))

    def test_prewarm_restores_before_the_request_and_times_out(self):
        imsi = self.add_subscriber('gold')
        self.manager.login(imsi, 'u', {})
        self.manager.wait_for(imsi, states.ACTIVE)
        uuid = self.store.get_desktop(imsi)['instance_id']
        self.manager.logout(imsi)
        self.manager.wait_for(imsi, states.ENDED)
        self._wait_for_status({'id': uuid}, 'SHELVED_OFFLOADED')

        # Keystone announced the SIM login: the desktop comes back alone.
        self.assertTrue(self.manager.prewarm(imsi, 'u', {'usb': True}))
        self.assertFalse(self.manager.prewarm(imsi, 'u'))  # once
        self._wait_for_status({'id': uuid}, 'ACTIVE')
        session = self.manager.login(imsi, 'u', {})
        self.assertTrue(session['restored'])
        self.assertEqual(states.ACTIVE, self.manager.sync(session)['status'])
        self.manager.logout(imsi)
        self.manager.wait_for(imsi, states.ENDED)

        # Pre-warmed, never asked for: released after prewarm_timeout.
        self._wait_for_status({'id': uuid}, 'SHELVED_OFFLOADED')
        self.manager.prewarm(imsi)
        self._wait_for_status({'id': uuid}, 'ACTIVE')
        self.vconf.set_override('prewarm_timeout', 1, group='desktops')
        self.addCleanup(self.vconf.clear_override, 'prewarm_timeout',
                        group='desktops')
        time.sleep(1.5)
        self.manager.periodic()
        self._wait_for_status({'id': uuid}, 'SHELVED_OFFLOADED')
        self.assertEqual(states.RELEASED,
                         self.store.get_desktop(imsi)['status'])
        self.assertIsNone(self.store.get_open_session(imsi))

    def test_errors(self):
        self.assertRaises(exceptions.NoSession, self.manager.get_session,
                          '001019999999999')
        self.assertRaises(exceptions.NoPlan, self.manager.login,
                          '001019999999999', 'u', {})
        imsi = self.add_subscriber()
        for bad in ('x', {'bogus': 1}, {'client': 'tv'},
                    {'display': {'protocol': 'rdp'}},
                    {'display': {'monitors': 9}}, {'usb': 'yes'}):
            self.assertRaises(exceptions.Invalid, self.manager.login, imsi,
                              'u', bad)
        self.assertIsNone(self.store.get_desktop(imsi))
        self.manager.login(imsi, 'u', {})
        self.assertRaises(exceptions.NotActive, self.manager.console, imsi)
