"""The manager's decisions for each Nova status, on fake Nova answers.

The functional tests drive the common statuses through Nova's real
services; here every status, with and without a task, is checked against
the outcome the operations guide promises.
"""

import contextlib
import datetime
import types
from unittest import mock

from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from vdesk_openstack.conf import desktops as desktops_conf
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import manager as manager_mod
from vdesk_openstack.desktops import states


def _server(status, task=None):
    return types.SimpleNamespace(id='i1', status=status, task_state=task)


class ManagerStatesTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        conf = cfg.ConfigOpts()
        desktops_conf.register_opts(conf)
        conf([], project='vdesk-unit')
        self.useFixture(config_fixture.Config(conf))
        self.store = mock.Mock()
        self.compute = mock.Mock()
        self.locks = mock.Mock()
        self.locks.subscriber.side_effect = \
            lambda imsi: contextlib.nullcontext()
        self.manager = manager_mod.DesktopManager(
            conf, self.store, mock.Mock(), self.compute, self.locks)
        self.desktop = {'id': 'd1', 'subscriber': '001010000000001',
                        'instance_id': 'i1', 'status': states.RELEASED,
                        'generation': 0}

    def test_login_brings_each_stopped_status_back_with_one_action(self):
        for status, action in (
                ('SHELVED', 'unshelve'), ('SHELVED_OFFLOADED', 'unshelve'),
                ('SHUTOFF', 'start'), ('PAUSED', 'unpause'),
                ('SUSPENDED', 'resume'), ('SOFT_DELETED', 'restore')):
            self.compute.reset_mock()
            self.compute.get_server.return_value = _server(status)
            result = self.manager._bring_up(self.desktop, None, {})
            self.assertEqual((states.RESTORING, True, False, False),
                             result[:4], status)
            getattr(self.compute, action).assert_called_once_with('i1')

    def test_login_waits_for_what_moves_by_itself(self):
        for server in [_server(s) for s in states.NOVA_TRANSITIONAL] + [
                _server('SHELVED_OFFLOADED', 'unshelving'),
                _server('ACTIVE', 'rebooting')]:
            self.compute.reset_mock()
            self.compute.get_server.return_value = server
            result = self.manager._bring_up(self.desktop, None, {})
            self.assertEqual((states.RESTORING, True, False, False),
                             result[:4], server)
            for action in ('unshelve', 'start', 'unpause', 'resume',
                           'restore'):
                getattr(self.compute, action).assert_not_called()

    def test_login_to_a_running_desktop_is_ready(self):
        for status in states.NOVA_RUNNING:
            self.compute.get_server.return_value = _server(status)
            self.assertTrue(self.manager._bring_up(self.desktop, None,
                                                   {})[3])

    def test_login_refused_at_once_for_held_desktops(self):
        self.compute.get_server.return_value = _server('RESCUE')
        self.assertRaises(exceptions.Unusable, self.manager._bring_up,
                          self.desktop, None, {})
        self.compute.get_server.return_value = _server('UNKNOWN')
        self.assertRaises(exceptions.Unavailable, self.manager._bring_up,
                          self.desktop, None, {})

    def test_release_outcomes(self):
        gone = self.manager._gone
        self.assertEqual((states.RELEASED, None), gone(None))
        self.assertEqual((states.RELEASED, None),
                         gone(_server('SHELVED_OFFLOADED')))
        for status in ('ERROR', 'RESCUE', 'UNKNOWN', 'SOFT_DELETED'):
            outcome = gone(_server(status))
            self.assertEqual(states.ERROR, outcome[0])
            self.assertIn(status, outcome[1])
        for status in ('ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED',
                       'SHELVED', 'BUILD', 'VERIFY_RESIZE'):
            self.assertIsNone(gone(_server(status)), status)

    def test_put_away_shelves_idle_servers_only(self):
        for status in ('ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED'):
            self.compute.reset_mock()
            self.manager._put_away(_server(status))
            self.compute.shelve.assert_called_once_with('i1')
        self.compute.reset_mock()
        self.manager._put_away(_server('SHELVED'))
        self.compute.shelve_offload.assert_called_once_with('i1')
        self.compute.reset_mock()
        for server in (_server('ACTIVE', 'unshelving'), _server('BUILD'),
                       _server('MIGRATING')):
            self.manager._put_away(server)
        self.compute.shelve.assert_not_called()
        self.compute.shelve_offload.assert_not_called()
        # Nova refusing (a resize to confirm) is tried again later.
        self.compute.shelve.side_effect = exceptions.Busy()
        self.manager._put_away(_server('VERIFY_RESIZE'))

    def test_unclaimed_desktop_still_building_is_not_released(self):
        self.store.get_open_session.return_value = None
        desktop = dict(self.desktop, status=states.BUILDING,
                       unclaimed_prewarms=0, unclaimed_since=None)
        self.store.get_desktop_by_id.return_value = desktop
        for server in (_server('BUILD', 'spawning'),
                       _server('ACTIVE', 'unshelving'),
                       _server('SHELVED_OFFLOADED', 'spawning')):
            self.store.reset_mock()
            self.compute.get_server.return_value = server
            self.manager._release_unclaimed(desktop)
            self.store.update_desktop.assert_not_called()
            self.compute.shelve.assert_not_called()
        self.compute.get_server.return_value = _server('ACTIVE')
        self.manager._release_unclaimed(desktop)
        self.compute.shelve.assert_called_once_with('i1')
        # Released, and counted against the pre-warm budget.
        self.store.update_desktop.assert_called_once_with(
            'd1', status=states.RELEASED, unclaimed_prewarms=1,
            unclaimed_since=mock.ANY)

    def test_active_session_outcomes(self):
        session = {'id': 's1', 'desktop_id': 'd1', 'status': states.ACTIVE,
                   'subscriber': '001010000000001',
                   'charging': states.CHARGING_STARTED,
                   'active_at': db_api.utcnow() - datetime.timedelta(
                       seconds=60), 'terminate_cause': None}
        self.manager._release = mock.Mock()
        self.manager._end = mock.Mock()
        self.manager._fail = mock.Mock()
        for status, task in (('ACTIVE', None), ('UNKNOWN', None),
                             ('PAUSED', 'unpausing'), ('MIGRATING', None)):
            self.manager._sync_active(session, self.desktop,
                                      _server(status, task))
        for call in (self.manager._release, self.manager._end,
                     self.manager._fail):
            call.assert_not_called()
        self.manager._sync_active(session, self.desktop, _server('SHUTOFF'))
        self.manager._release.assert_called_once_with(
            session, states.CAUSE_USER_REQUEST)
        for status in ('PAUSED', 'SUSPENDED', 'SOFT_DELETED', 'RESCUE'):
            self.manager._end.reset_mock()
            self.manager._sync_active(session, self.desktop,
                                      _server(status))
            args = self.manager._end.call_args[0]
            self.assertEqual((states.CAUSE_ADMIN_RESET, states.ERROR),
                             args[2:4], status)
        self.manager._sync_active(session, self.desktop, None)
        self.manager._fail.assert_called_once()
