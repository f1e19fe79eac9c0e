"""A server in ERROR is recovered, never replaced by a blank desktop.

Against Nova's real services (fake computes): the subscriber's next login
asks Nova for a hard reboot of the very server and restores it; when the
hypervisor cannot bring it back, or Nova refuses, the subscriber gets a
409 and an operator an ERROR line and a count on every reconciler pass --
and the server, with its disk, is left as it is.
"""

from nova.virt import fake as nova_fake

from vdesk_openstack.desktops import compute as compute_mod
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import reconciler as reconciler_mod
from vdesk_openstack.desktops import states
from vdesk_openstack.tests.functional.desktops import harness

WAIT = 60
# The fake hypervisor's own methods, to put back.
_fake_reboot = nova_fake.FakeDriver.reboot
_fake_spawn = nova_fake.FakeDriver.spawn


def _broken_reboot(driver, context, instance, *args, **kwargs):
    """The hypervisor loses the guest and cannot start it again."""
    driver.instances.pop(instance.uuid, None)
    raise RuntimeError('injected hypervisor failure')


class RecoveryTest(harness.DesktopTestCase):

    pool_hosts = ('pool1',)
    other_hosts = ()

    def setUp(self):
        super().setUp()
        self.reconciler = reconciler_mod.Reconciler(self.manager)

    def active(self):
        imsi = self.add_subscriber('bronze')
        self.manager.login(imsi, 'u', {})
        self.manager.wait_for(imsi, states.ACTIVE, timeout=WAIT)
        return imsi, self.store.get_desktop(imsi)['instance_id']

    def put_in_error(self, uuid):
        # Nova sets the state at once (and records no fault).
        self.admin_api.post_server_action(
            uuid, {'os-resetState': {'state': 'error'}})
        self.assertEqual('ERROR', self.server(uuid)['status'])

    def errored_while_active(self):
        imsi, uuid = self.active()
        self.put_in_error(uuid)
        self.assertEqual(1, self.reconciler.run_once()['lost'])
        self.assertIsNone(self.store.get_open_session(imsi))
        return imsi, uuid

    def tagged(self, imsi):
        return [s['id'] for s in self.admin_api.get_servers(detail=True)
                if s['metadata'].get(compute_mod.META_SUBSCRIBER) == imsi]

    def test_error_server_is_recovered_at_login_not_replaced(self):
        imsi, uuid = self.errored_while_active()
        session = self.manager.login(imsi, 'u', {})
        self.manager.wait_for(imsi, states.ACTIVE, timeout=WAIT)
        desktop = self.store.get_desktop(imsi)
        self.assertEqual(uuid, desktop['instance_id'])
        self.assertTrue(session['restored'])
        self.assertFalse(session['rebuilt'])
        self.assertEqual(0, desktop['generation'])
        self.assertIsNone(desktop['recovery'])
        self.assertEqual([uuid], self.tagged(imsi))
        self.assertEqual('ACTIVE', self.server(uuid)['status'])
        self.assertIn('reboot', [a['action'] for a in
                                 self.api.get_instance_actions(uuid)])
        self.assertEqual(['vdesk.session.start', 'vdesk.session.end',
                          'vdesk.session.start'],
                         [e for e, _ in self.notifications(imsi)])
        self.assertEqual(0, self.reconciler.run_once()['unrecovered'])

    def test_failed_recovery_is_a_409_and_an_alert(self):
        imsi, uuid = self.errored_while_active()
        self.stub_out('nova.virt.fake.FakeDriver.reboot', _broken_reboot)
        session = self.manager.login(imsi, 'u', {})
        self.assertEqual(states.RESTORING, session['status'])
        # Nova reports the server in ERROR again: the session fails.
        self.assertRaises(exceptions.DesktopError, self.manager.wait_for,
                          imsi, states.ACTIVE, timeout=WAIT)
        desktop = self.store.get_desktop(imsi)
        self.assertEqual(states.RECOVERY_FAILED, desktop['recovery'])
        self.assertIn('needs an operator', self.stdlog.logger.output)
        # Every later login: 409 at once, the server left alone.
        for _ in range(2):
            e = self.assertRaises(exceptions.Unrecoverable,
                                  self.manager.login, imsi, 'u', {})
            self.assertEqual(409, e.code)
            self.assertIn('operator has been alerted', str(e))
        self.assertEqual(1, self.reconciler.run_once()['unrecovered'])
        self.assertEqual([uuid], self.tagged(imsi))
        self.assertEqual('ERROR', self.server(uuid)['status'])
        self.assertEqual(uuid, self.store.get_desktop(imsi)['instance_id'])

        # The operator repairs the server in Nova: the same desktop is back.
        self.stub_out('nova.virt.fake.FakeDriver.reboot', _fake_reboot)
        self.admin_api.post_server_action(
            uuid, {'os-resetState': {'state': 'active'}})
        self.admin_api.post_server_action(uuid, {'reboot': {'type': 'HARD'}})
        self._wait_for_status({'id': uuid}, 'ACTIVE')
        session = self.manager.login(imsi, 'u', {})
        self.manager.wait_for(imsi, states.ACTIVE, timeout=WAIT)
        self.assertEqual(uuid, self.store.get_desktop(imsi)['instance_id'])
        self.assertIsNone(self.store.get_desktop(imsi)['recovery'])
        self.assertEqual(0, self.reconciler.run_once()['unrecovered'])

    def test_nova_refusing_the_recovery_is_a_409(self):
        # Released: shelved and offloaded, so no host to reboot it on.
        imsi, uuid = self.active()
        self.manager.logout(imsi)
        self.manager.wait_for(imsi, states.ENDED, timeout=WAIT)
        self._wait_for_status({'id': uuid}, 'SHELVED_OFFLOADED')
        self.put_in_error(uuid)
        e = self.assertRaises(exceptions.Unrecoverable, self.manager.login,
                              imsi, 'u', {})
        self.assertEqual(409, e.code)
        self.assertIsNone(self.store.get_open_session(imsi))
        desktop = self.store.get_desktop(imsi)
        self.assertEqual((uuid, states.ERROR, states.RECOVERY_FAILED),
                         (desktop['instance_id'], desktop['status'],
                          desktop['recovery']))
        self.assertIn('recovery failed', desktop['fault'])
        self.assertRaises(exceptions.Unrecoverable, self.manager.login,
                          imsi, 'u', {})
        self.assertEqual([uuid], self.tagged(imsi))

    def test_a_server_that_never_ran_is_replaced(self):
        # A first build that failed holds nothing of the subscriber's.
        imsi = self.add_subscriber('bronze')
        self.flags(max_attempts=1, group='scheduler')
        self.stub_out('nova.virt.fake.FakeDriver.spawn', _broken_spawn)
        self.manager.login(imsi, 'u', {})
        self.assertRaises(exceptions.DesktopError, self.manager.wait_for,
                          imsi, states.ACTIVE, timeout=WAIT)
        failed = self.store.get_desktop(imsi)['instance_id']
        self.assertEqual('ERROR', self.server(failed)['status'])
        self.stub_out('nova.virt.fake.FakeDriver.spawn', _fake_spawn)
        session = self.manager.login(imsi, 'u', {})
        self.assertTrue(session['rebuilt'])
        self.manager.wait_for(imsi, states.ACTIVE, timeout=WAIT)
        self.assertNotEqual(failed,
                            self.store.get_desktop(imsi)['instance_id'])
        self._wait_until_deleted({'id': failed})


def _broken_spawn(driver, *args, **kwargs):
    raise RuntimeError('injected spawn failure')
