"""Decisions of the recovery of a server in ERROR (Nova stood in for)."""

import types
from unittest import mock

import testtools

from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import recovery
from vdesk_openstack.desktops import states


def _server(task=None, launched='2026-12-08T01:00:00'):
    return types.SimpleNamespace(id='i1', status=states.NOVA_ERROR,
                                 task_state=task, launched_at=launched)


class RecoverTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.store, self.compute = mock.Mock(), mock.Mock()

    def recover(self, server, recovery_state=None):
        desktop = {'id': 'd1', 'subscriber': '001010000000001',
                   'recovery': recovery_state, 'fault': None}
        return recovery.recover(self.store, self.compute, desktop, server)

    def assert_failed(self):
        _, values = self.store.update_desktop.call_args
        self.assertEqual((states.ERROR, states.RECOVERY_FAILED),
                         (values['status'], values['recovery']))

    def test_first_attempt_is_a_hard_reboot(self):
        self.assertEqual({'status': states.RESTORING,
                          'recovery': states.RECOVERY_STARTED},
                         self.recover(_server()))
        self.compute.hard_reboot.assert_called_once_with('i1')

    def test_nova_at_work_is_waited_for(self):
        self.assertEqual({'status': states.RESTORING}, self.recover(
            _server(task='reboot_started_hard'), states.RECOVERY_STARTED))
        self.compute.hard_reboot.assert_not_called()

    def test_still_in_error_after_a_reboot_fails(self):
        self.assertRaises(exceptions.Unrecoverable, self.recover, _server(),
                          states.RECOVERY_STARTED)
        self.compute.hard_reboot.assert_not_called()
        self.assert_failed()

    def test_refused_reboot_fails(self):
        self.compute.hard_reboot.side_effect = exceptions.Refused('no host')
        e = self.assertRaises(exceptions.Unrecoverable, self.recover,
                              _server())
        self.assertEqual(409, e.code)
        self.assert_failed()

    def test_failed_stays_failed_without_touching_nova(self):
        for task in (None, 'rebooting_hard'):
            self.assertRaises(exceptions.Unrecoverable, self.recover,
                              _server(task=task), states.RECOVERY_FAILED)
        self.compute.hard_reboot.assert_not_called()
        self.store.update_desktop.assert_not_called()

    def test_never_ran(self):
        self.assertTrue(recovery.never_ran(_server(launched=None)))
        self.assertFalse(recovery.never_ran(_server()))
