"""Every status Nova reports gives the desktop service a defined outcome.

Operators pause, suspend, stop, rescue and (soft-)delete servers; guests
shut themselves down. Against Nova's real services (fake computes), each
of these is met with an action or a decision -- never by waiting out
``[desktops] build_timeout`` (set far beyond the waits here):

========================  ==========================  =====================
Status while active       The session                 The next login
========================  ==========================  =====================
SHUTOFF (from inside)     released, User-Request      unshelves
PAUSED / SUSPENDED        ended, Admin-Reset          unpauses / resumes
SOFT_DELETED              ended, Admin-Reset          restores
RESCUE                    ended, Admin-Reset          409 until unrescued
========================  ==========================  =====================

A logout of a paused desktop shelves it from there.
"""

from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import reconciler as reconciler_mod
from vdesk_openstack.desktops import states
from vdesk_openstack.tests.functional.desktops import harness

# Far beyond every wait below: reaching ACTIVE proves nothing timed out.
BUILD_TIMEOUT = 3600
WAIT = 60


class NovaStatesTest(harness.DesktopTestCase):

    pool_hosts = ('pool1', 'pool2')
    other_hosts = ()

    def setUp(self):
        # Deleting a server keeps it SOFT_DELETED for an hour.
        self.flags(reclaim_instance_interval=3600)
        super().setUp()
        self.vconf.set_override('build_timeout', BUILD_TIMEOUT,
                                group='desktops')
        self.reconciler = reconciler_mod.Reconciler(self.manager)
        self.addCleanup(self.vconf.clear_override, 'build_timeout',
                        group='desktops')

    def active(self, imsi=None):
        imsi = imsi or self.add_subscriber('bronze')
        self.manager.login(imsi, 'user-%s' % imsi, {})
        self.manager.wait_for(imsi, states.ACTIVE, timeout=WAIT)
        return imsi, self.store.get_desktop(imsi)['instance_id']

    def act(self, uuid, action, status):
        if action == 'delete':
            self.admin_api.delete_server(uuid)
        else:
            self.admin_api.post_server_action(uuid, {action: None})
        self._wait_for_status({'id': uuid}, status)

    def ended_by_engine(self, imsi, cause):
        session = self.store.get_open_session(imsi)
        # The engine's reconcile pass lists Nova and finds the server
        # stopped (Nova's notification would say so at once).
        self.assertEqual(1, self.reconciler.run_once()['stopped'])
        self.manager.wait_for(imsi, states.ENDED, timeout=WAIT)
        ended = self.store.get_session(session['id'])
        self.assertEqual(cause, ended['terminate_cause'])
        return ended

    def assert_charged(self, imsi, count=1):
        events = [e for e, _ in self.notifications(imsi)]
        self.assertEqual(['vdesk.session.start', 'vdesk.session.end']
                         * count, events)

    def login_again(self, imsi, uuid):
        session = self.manager.login(imsi, 'user-%s' % imsi, {})
        self.assertTrue(session['restored'])
        self.manager.wait_for(imsi, states.ACTIVE, timeout=WAIT)
        self.assertEqual('ACTIVE', self.server(uuid)['status'])
        self.assertEqual(uuid, self.store.get_desktop(imsi)['instance_id'])

    def test_paused_suspended_and_soft_deleted_come_back(self):
        for action, status, undo in (
                ('pause', 'PAUSED', 'unpause'),
                ('suspend', 'SUSPENDED', 'resume'),
                ('delete', 'SOFT_DELETED', 'restore')):
            imsi, uuid = self.active()
            self.act(uuid, action, status)
            self.ended_by_engine(imsi, states.CAUSE_ADMIN_RESET)
            desktop = self.store.get_desktop(imsi)
            self.assertEqual(states.ERROR, desktop['status'])
            self.assertIn(status, desktop['fault'])
            self.assertEqual(status, self.server(uuid)['status'])
            self.assert_charged(imsi)
            # The next login brings the same server back by one action.
            self.login_again(imsi, uuid)

    def test_shut_down_from_inside_is_a_logout(self):
        imsi, uuid = self.active()
        self.act(uuid, 'os-stop', 'SHUTOFF')
        self.ended_by_engine(imsi, states.CAUSE_USER_REQUEST)
        self._wait_for_status({'id': uuid}, 'SHELVED_OFFLOADED')
        self.assertEqual(states.RELEASED,
                         self.store.get_desktop(imsi)['status'])
        self.assert_charged(imsi)
        self.login_again(imsi, uuid)

    def test_rescue_refuses_logins_until_the_operator_ends_it(self):
        imsi, uuid = self.active()
        self.act(uuid, 'rescue', 'RESCUE')
        self.ended_by_engine(imsi, states.CAUSE_ADMIN_RESET)
        e = self.assertRaises(exceptions.Unusable, self.manager.login, imsi,
                              'user-%s' % imsi, {})
        self.assertEqual(409, e.code)
        self.assertIsNone(self.store.get_open_session(imsi))
        self.act(uuid, 'unrescue', 'ACTIVE')
        session = self.manager.login(imsi, 'user-%s' % imsi, {})
        self.manager.wait_for(imsi, states.ACTIVE, timeout=WAIT)
        self.assertTrue(session['restored'])

    def test_logout_of_a_paused_desktop_shelves_it(self):
        imsi, uuid = self.active()
        self.act(uuid, 'pause', 'PAUSED')
        self.manager.logout(imsi, user_id='user-%s' % imsi)
        self.manager.wait_for(imsi, states.ENDED, timeout=WAIT)
        self._wait_for_status({'id': uuid}, 'SHELVED_OFFLOADED')
        self.assertEqual(states.RELEASED,
                         self.store.get_desktop(imsi)['status'])
        self.assert_charged(imsi)

    def test_another_user_cannot_act_on_the_desktop(self):
        imsi, uuid = self.active()
        for call in (lambda: self.manager.get_session(imsi, 'intruder'),
                     lambda: self.manager.console(imsi, None, 'intruder'),
                     lambda: self.manager.logout(imsi, user_id='intruder'),
                     lambda: self.manager.login(imsi, 'intruder', {})):
            self.assertRaises(exceptions.NotBound, call)
        self.assertEqual(states.ACTIVE,
                         self.store.get_open_session(imsi)['status'])
        self.assertEqual('ACTIVE', self.server(uuid)['status'])
