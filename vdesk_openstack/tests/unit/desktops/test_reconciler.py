"""Decisions of the reconciler, the notification endpoint and the engine.

Nova and the database are stand-ins here; the functional tests run the
same code against Nova's real services.
"""

import contextlib
import datetime
import types
from unittest import mock

from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from vdesk_openstack.conf import desktops as desktops_conf
from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops import compute
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import engine
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import listener
from vdesk_openstack.desktops import reconciler
from vdesk_openstack.desktops import states

IMSI = '001010000000001'


def _conf(test, **desktops):
    conf = cfg.ConfigOpts()
    desktops_conf.register_opts(conf)
    conf([], project='vdesk-unit')
    # The option groups are module objects shared by every ConfigOpts:
    # an override must not outlive its test.
    fixture = test.useFixture(config_fixture.Config(conf))
    fixture.config(group='desktops', **desktops)
    return conf


def _server(server_id, desktop_id, status='ACTIVE', age_s=3600):
    created = db_api.utcnow() - datetime.timedelta(seconds=age_s)
    return types.SimpleNamespace(
        id=server_id, status=status,
        created_at=created.strftime('%Y-%m-%dT%H:%M:%SZ'),
        metadata={compute.META_DESKTOP: desktop_id,
                  compute.META_SUBSCRIBER: IMSI})


def _desktop(desktop_id='d1', instance_id='i1', status=states.RELEASED):
    return {'id': desktop_id, 'subscriber': IMSI, 'instance_id': instance_id,
            'status': status, 'generation': 0}


class ReconcilerTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.manager = mock.Mock()
        self.manager.conf = _conf(self, orphan_grace=120)
        self.manager.locks.subscriber.side_effect = \
            lambda imsi: contextlib.nullcontext()
        self.store = self.manager.store
        self.compute = self.manager.compute
        self.store.creating_desktops.return_value = []
        self.store.desktops_by_instance.return_value = []
        self.store.get_open_session.return_value = None
        self.store.tombstones.return_value = []
        self.store.tombstoned.return_value = False
        self.store.tombstoned_instances.return_value = set()
        self.store.count_unrecovered.return_value = 0
        self.reconciler = reconciler.Reconciler(self.manager)

    def test_created_at(self):
        self.assertEqual(datetime.datetime(2026, 1, 2, 3, 4, 5),
                         reconciler._created_at(types.SimpleNamespace(
                             created_at='2026-01-02T03:04:05Z')))
        self.assertEqual(datetime.datetime(2026, 1, 2, 1, 4, 5),
                         reconciler._created_at(types.SimpleNamespace(
                             created_at='2026-01-02T03:04:05+02:00')))
        for bad in (None, '', 'yesterday'):
            self.assertIsNone(reconciler._created_at(
                types.SimpleNamespace(created_at=bad)))

    def test_orphan_quarantined_after_the_grace_never_deleted(self):
        old, young = _server('old', 'gone-1'), _server('young', 'gone-2',
                                                       age_s=10)
        self.compute.servers_by_id.return_value = [old, young]
        self.store.get_desktop_by_id.return_value = None
        counts = self.reconciler.run_once()
        self.assertEqual(1, counts['quarantined'])
        self.compute.delete.assert_not_called()
        self.store.tombstoned.assert_called_once_with('old', 'gone-1')

    def test_tombstoned_server_is_deleted_until_gone(self):
        stone = {'id': 't1', 'desktop_id': 'gone-1', 'subscriber': IMSI,
                 'instance_id': 'old', 'whole_desktop': True,
                 'reason': 'deleted by an operator',
                 'created_at': db_api.utcnow()}
        self.store.tombstones.return_value = [stone]
        self.store.tombstoned.return_value = True
        self.store.get_desktop_by_instance.return_value = None
        self.store.get_desktop_by_id.return_value = None
        server = _server('old', 'gone-1')
        server.task_state = None
        self.compute.get_server.return_value = server
        self.compute.servers_by_id.return_value = [server]
        counts = self.reconciler.run_once()
        self.assertEqual((1, 0), (counts['deleted'], counts['quarantined']))
        self.compute.delete.assert_called_once_with('old')
        self.store.remove_tombstone.assert_not_called()
        # Nova is deleting it: not asked again.
        server.task_state = 'deleting'
        self.assertEqual(0, self.reconciler.run_once()['deleted'])
        self.assertEqual(1, self.compute.delete.call_count)
        # Gone (a young whole-desktop tombstone waits for the grace).
        self.compute.get_server.return_value = None
        self.compute.servers_by_id.return_value = []
        self.reconciler.run_once()
        self.store.remove_tombstone.assert_not_called()
        stone['created_at'] -= datetime.timedelta(seconds=3600)
        self.compute.find_desktop_server.return_value = None
        self.reconciler.run_once()
        self.store.remove_tombstone.assert_called_once_with('t1')

    def test_mapped_server_is_never_deleted(self):
        self.compute.servers_by_id.return_value = [_server('i1', 'd1')]
        self.store.get_desktop_by_id.return_value = _desktop()
        self.store.desktops_by_instance.return_value = [_desktop()]
        self.assertFalse(any(self.reconciler.run_once().values()))
        self.compute.delete.assert_not_called()
        self.store.update_desktop.assert_not_called()

    def test_duplicate_of_a_mapped_desktop_is_quarantined(self):
        self.compute.servers_by_id.return_value = [
            _server('i1', 'd1'), _server('i2', 'd1')]
        self.store.get_desktop_by_id.return_value = _desktop()
        self.store.desktops_by_instance.return_value = [_desktop()]
        self.assertEqual(1, self.reconciler.run_once()['quarantined'])
        self.compute.delete.assert_not_called()

    def test_creating_record_adopts_its_server(self):
        creating = _desktop(instance_id=None, status=states.CREATING)
        server = _server('i9', 'd1')
        self.compute.servers_by_id.return_value = [server]
        self.store.creating_desktops.return_value = [creating]
        self.store.get_desktop_by_id.return_value = creating
        self.compute.find_desktop_server.return_value = server
        self.store.update_desktop.return_value = True
        counts = self.reconciler.run_once()
        self.assertEqual((1, 0), (counts['adopted'],
                                  counts['quarantined']))
        self.store.update_desktop.assert_called_once_with(
            'd1', expected_status=states.CREATING, instance_id='i9',
            status=states.BUILDING, fault=None)
        self.compute.delete.assert_not_called()

    def test_creating_record_without_server_waits(self):
        creating = _desktop(instance_id=None, status=states.CREATING)
        self.compute.servers_by_id.return_value = []
        self.store.creating_desktops.return_value = [creating]
        self.store.get_desktop_by_id.return_value = creating
        self.compute.find_desktop_server.return_value = None
        self.assertEqual(1, self.reconciler.run_once()['awaiting_login'])
        self.compute.create_server.assert_not_called()

    def test_lost_instance_marks_the_desktop(self):
        desktop = _desktop()
        self.compute.servers_by_id.return_value = []
        self.store.desktops_by_instance.return_value = [desktop]
        self.store.get_desktop_by_instance.return_value = desktop
        self.store.get_desktop_by_id.return_value = desktop
        self.compute.get_server.return_value = None
        self.store.update_desktop.return_value = True
        self.assertEqual(1, self.reconciler.run_once()['lost'])
        _, kwargs = self.store.update_desktop.call_args
        self.assertEqual(states.ERROR, kwargs['status'])
        self.assertIn('deleted', kwargs['fault'])

    def test_one_ordered_walk_finds_orphans_and_lost_desktops(self):
        untagged = _server('e', 'x')
        untagged.metadata = {}
        self.compute.servers_by_id.return_value = [
            _server('a', 'da'), _server('c', 'dc', status='ERROR'),
            untagged, _server('f', 'gone')]
        desktops = {d['id']: d for d in (
            _desktop('da', 'a'), _desktop('db', 'b'), _desktop('dc', 'c'),
            _desktop('dd', 'd', status=states.ERROR),
            _desktop('dg', 'g', status=states.CREATING))}
        self.store.desktops_by_instance.return_value = sorted(
            desktops.values(), key=lambda d: d['instance_id'])
        self.store.get_desktop_by_id.side_effect = desktops.get
        self.store.get_desktop_by_instance.side_effect = lambda i: {
            d['instance_id']: d for d in desktops.values()}.get(i)
        nova = {'c': _server('c', 'dc', status='ERROR')}
        self.compute.get_server.side_effect = nova.get
        self.store.update_desktop.return_value = True
        counts = self.reconciler.run_once()
        # b is gone and c is in ERROR; d is already marked, g in hand.
        self.assertEqual(2, counts['lost'])
        self.assertEqual(['b', 'c'], [
            c.args[0] for c in self.compute.get_server.call_args_list])
        # f is tagged with a desktop that does not exist; e is not ours.
        self.assertEqual(1, counts['quarantined'])
        self.compute.delete.assert_not_called()

    def test_active_desktops_stopped_outside_are_synced(self):
        self.compute.servers_by_id.return_value = [
            _server('a', 'da', status='PAUSED'),
            _server('b', 'db', status='SHUTOFF'),
            _server('c', 'dc', status='ACTIVE'),
            _server('e', 'de', status='PAUSED')]
        desktops = {d['id']: dict(d, subscriber='sub-' + d['instance_id'])
                    for d in (_desktop('da', 'a', status=states.ACTIVE),
                              _desktop('db', 'b', status=states.ACTIVE),
                              _desktop('dc', 'c', status=states.ACTIVE),
                              _desktop('dd', 'd', status=states.ACTIVE),
                              _desktop('de', 'e', status=states.RELEASED))}
        self.store.desktops_by_instance.return_value = sorted(
            desktops.values(), key=lambda d: d['instance_id'])
        self.store.get_desktop_by_id.side_effect = desktops.get
        self.store.get_desktop_by_instance.side_effect = lambda i: {
            d['instance_id']: d for d in desktops.values()}.get(i)
        # d is not listed: soft-deleted (Nova's listing leaves it out).
        self.compute.get_server.side_effect = {
            'd': _server('d', 'dd', status='SOFT_DELETED')}.get
        self.store.get_open_session.side_effect = lambda imsi: {
            'id': 's-' + imsi[-1], 'desktop_id': 'd' + imsi[-1],
            'status': states.ACTIVE, 'is_open': True}
        self.manager.sync.side_effect = lambda s: dict(
            s, status=states.ENDED, is_open=None)
        counts = self.reconciler.run_once()
        # a, b and d are synced: their sessions get their outcome; c runs,
        # e is not active.
        self.assertEqual(3, counts['stopped'])
        self.assertEqual(0, counts['lost'])
        self.assertEqual(['s-a', 's-b', 's-d'], sorted(
            c.args[0]['id'] for c in self.manager.sync.call_args_list))

    def test_instance_still_running_is_not_lost(self):
        desktop = _desktop()
        self.store.get_desktop_by_instance.return_value = desktop
        self.store.get_desktop_by_id.return_value = desktop
        self.compute.get_server.return_value = _server('i1', 'd1')
        self.assertFalse(self.reconciler.instance_lost('i1'))
        # In ERROR while Nova works on it (a recovery's hard reboot).
        rebooting = _server('i1', 'd1', status='ERROR')
        rebooting.task_state = 'reboot_started_hard'
        self.compute.get_server.return_value = rebooting
        self.assertFalse(self.reconciler.instance_lost('i1'))
        self.store.update_desktop.assert_not_called()

    def test_desktops_in_the_services_hands_are_left_alone(self):
        for status in (states.CREATING, states.DELETING):
            desktop = _desktop(status=status)
            self.store.get_desktop_by_instance.return_value = desktop
            self.store.get_desktop_by_id.return_value = desktop
            self.assertFalse(self.reconciler.instance_lost('i1'))
        self.compute.get_server.assert_not_called()

    def test_open_session_is_synced_first(self):
        desktop = _desktop(status=states.ACTIVE)
        failed = dict(desktop, status=states.ERROR)
        self.store.get_desktop_by_instance.return_value = desktop
        self.store.get_desktop_by_id.side_effect = [desktop, failed]
        self.store.get_open_session.return_value = {'id': 's1'}
        self.compute.get_server.return_value = None
        self.assertTrue(self.reconciler.instance_lost('i1'))
        self.manager.sync.assert_called_once_with({'id': 's1'})
        self.store.update_desktop.assert_not_called()


class EndpointTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.reconciler = mock.Mock()
        self.endpoint = listener.InstanceEndpoint(self.reconciler)

    def notify(self, event_type, **data):
        self.endpoint.info({}, 'nova-compute:h', event_type,
                           {'nova_object.data': data}, {})

    def test_filter_rule(self):
        rule = listener.InstanceEndpoint.filter_rule
        for event_type, wanted in (('instance.delete.end', True),
                                   ('instance.update', True),
                                   ('instance.delete.start', False),
                                   ('instance.create.end', False),
                                   ('xinstance.update', False)):
            self.assertEqual(wanted, rule.match({}, 'nova', event_type, {},
                                                {}), event_type)

    def test_deleted_and_errored_instances_are_reported(self):
        self.notify('instance.delete.end', uuid='u1', state='deleted')
        self.notify('instance.update', uuid='u2', state='error')
        self.assertEqual(['u1', 'u2'], [
            c.args[0] for c in self.reconciler.instance_lost.call_args_list])

    def test_stopped_instances_are_synced(self):
        for state in ('stopped', 'paused', 'suspended', 'shelved',
                      'shelved_offloaded', 'soft-delete', 'rescued'):
            self.notify('instance.update', uuid='u-' + state, state=state)
        self.assertEqual(7, self.reconciler.instance_changed.call_count)
        self.reconciler.instance_lost.assert_not_called()

    def test_other_news_is_ignored(self):
        self.notify('instance.update', uuid='u1', state='active')
        self.notify('instance.update', uuid='u1', state='building')
        self.reconciler.instance_changed.assert_not_called()
        self.notify('instance.delete.end', state='deleted')
        self.endpoint.info({}, 'nova', 'instance.delete.end', 'junk', {})
        self.reconciler.instance_lost.assert_not_called()

    def test_failures_wait_for_the_periodic_pass(self):
        self.reconciler.instance_lost.side_effect = exceptions.Unavailable()
        self.notify('instance.delete.end', uuid='u1')
        self.reconciler.instance_lost.side_effect = RuntimeError('db down')
        self.notify('instance.delete.end', uuid='u1')


class EngineTest(testtools.TestCase):

    def make(self, **desktops):
        conf = _conf(self, **desktops)
        return engine.Engine(conf, mock.Mock(), listen=False,
                             sender=mock.Mock())

    def test_refuses_to_start_without_a_bus_driver(self):
        conf = _conf(self)
        charging.register_opts(conf)
        for drivers in ([], ['noop'], ['log']):
            conf.set_override('driver', drivers,
                              group='oslo_messaging_notifications')
            e = self.assertRaises(charging.NotConfigured, engine.Engine,
                                  conf, mock.Mock(), listen=False)
            self.assertIn('driver = messagingv2', str(e))
        conf.set_override('driver', ['noop', 'messagingv2'],
                          group='oslo_messaging_notifications')
        eng = engine.Engine(conf, mock.Mock(), listen=False)
        self.assertIs(eng.delivery, eng.manager.delivery)

    def test_tick(self):
        self.assertEqual(60, self.make().tick)
        self.assertEqual(10, self.make(reconcile_interval=10).tick)
        self.assertEqual(60, self.make(reconcile_interval=0).tick)

    def test_failing_passes_do_not_stop_the_engine(self):
        eng = self.make()
        eng.manager.conf = eng.conf
        eng.manager.store.creating_desktops.return_value = []
        eng.manager.compute.servers_by_id.side_effect = \
            exceptions.Unavailable()
        eng.manager.periodic.side_effect = RuntimeError('db down')
        self.assertIsNone(eng.reconcile())
        eng.periodic()

    def test_start_and_stop(self):
        eng = self.make(reconcile_interval=1)
        eng.manager.conf = eng.conf
        eng.manager.store.creating_desktops.return_value = []
        eng.manager.store.desktops_by_instance.return_value = []
        eng.manager.store.outbox_batch.return_value = []
        eng.manager.compute.servers_by_id.return_value = []
        eng.manager.store.tombstones.return_value = []
        eng.manager.store.count_unrecovered.return_value = 0
        eng.start()
        eng.request_stop()
        eng.stop()
        eng.manager.compute.servers_by_id.assert_called_once_with(1000)
