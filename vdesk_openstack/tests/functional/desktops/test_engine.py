"""The engine against Nova's real services: repairs, notifications, charging.

* crashes between "Nova created the server" and "the mapping stored it":
  the reconciler adopts the server, or deletes it when the service deleted
  its desktop record (a tombstone says so) -- no orphan, no duplicate; a
  tagged server nothing maps and no tombstone names is quarantined;
* instances deleted or put in ERROR behind the service's back: found by
  the periodic reconcile in the harness, and by the notification listener
  from a notification Nova produced, relayed through the real RabbitMQ
  (Nova's harness keeps its own notifications in a fake notifier); the
  next login rebuilds a deleted one and says so, and recovers an ERROR
  one (see test_recovery);
* charging events through the real RabbitMQ, received by a real
  oslo.messaging notification listener;
* Nova or Keystone unreachable: 503, nothing half-written, recovery.
"""

import socket
import threading
import time
import uuid

from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
import openstack
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import oslo_messaging

from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops import compute as compute_mod
from vdesk_openstack.desktops import engine as engine_mod
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import listener
from vdesk_openstack.desktops import manager as manager_mod
from vdesk_openstack.desktops import reconciler as reconciler_mod
from vdesk_openstack.desktops import states
from vdesk_openstack.sandbox import nova_harness
from vdesk_openstack.tests.functional.desktops import harness
from vdesk_openstack.tests.functional import rabbit
from vdesk_openstack.tests import services

START_KEYS = {'session_id', 'subscriber', 'instance_id', 'project_id',
              'record_number',
              'vcpus', 'memory_mb', 'disk_gb', 'priority'}
UPDATE_KEYS = START_KEYS | {'duration_s', 'cpu_util'}
END_KEYS = UPDATE_KEYS | {'terminate_cause'}


def _closed_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class _Collector(object):
    """Notification endpoint of the tests: keeps what it receives."""

    def __init__(self):
        self.received = []
        self._cond = threading.Condition()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        with self._cond:
            self.received.append((publisher_id, event_type, payload))
            self._cond.notify_all()

    def wait_for(self, predicate, timeout=20.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('not received in %ss: %s'
                                         % (timeout, self.received))
                self._cond.wait(left)
            return list(self.received)


class _EngineTestCase(harness.DesktopTestCase):

    def setUp(self):
        super().setUp()
        # [desktops] and [charging] are module-level option groups shared
        # by every ConfigOpts: overrides must not outlive the test.
        self.vconf_fixture = self.useFixture(
            config_fixture.Config(self.vconf))
        # The tests decide when something is old enough to repair.
        self.vconf.set_override('orphan_grace', 0, group='desktops')
        self.reconciler = reconciler_mod.Reconciler(self.manager)
        # Pages of two: every pass crosses page boundaries of both Nova's
        # listing (limit/marker) and the mappings.
        self.reconciler.page_size = 2

    def tagged(self, imsi):
        return [s for s in self.admin_api.get_servers(detail=True)
                if s['metadata'].get(compute_mod.META_SUBSCRIBER) == imsi]

    def active_desktop(self, plan='bronze'):
        imsi = self.add_subscriber(plan)
        self.manager.login(imsi, 'u', {})
        self.manager.wait_for(imsi, states.ACTIVE)
        return imsi, self.store.get_desktop(imsi)

    def released_desktop(self):
        imsi, desktop = self.active_desktop()
        self.manager.logout(imsi)
        self.manager.wait_for(imsi, states.ENDED)
        self._wait_for_status({'id': desktop['instance_id']},
                              'SHELVED_OFFLOADED')
        return imsi, self.store.get_desktop(imsi)

    def crash_between_create_and_store(self, imsi):
        real_open = self.store.open_session

        def crash_after_nova(*args, **kwargs):
            if (kwargs.get('desktop_values') or {}).get('instance_id'):
                raise RuntimeError('injected crash after Nova answered')
            return real_open(*args, **kwargs)

        self.store.open_session = crash_after_nova
        try:
            self.assertRaises(RuntimeError, self.manager.login, imsi, 'u',
                              {})
        finally:
            self.store.open_session = real_open
        desktop = self.store.get_desktop(imsi)
        self.assertEqual(states.CREATING, desktop['status'])
        self.assertIsNone(desktop['instance_id'])
        self.assertIsNone(self.store.get_open_session(imsi))
        tagged = self.tagged(imsi)
        self.assertEqual(1, len(tagged))
        return desktop, tagged[0]

    _vhost = None

    def rabbit_url(self):
        """The machine's RabbitMQ, on a vhost of this test's own.

        Another test's Keystone announcing a login of the same test IMSI
        must not pre-warm (and bind) this test's desktop.
        """
        if self._vhost is None:
            services.require(self, 'rabbitmq')
            self._vhost = self.useFixture(rabbit.PrivateVhost())
        return self._vhost.url

    def rabbit_transport(self):
        transport = oslo_messaging.get_notification_transport(
            self.vconf, url=self.rabbit_url())
        self.addCleanup(transport.cleanup)
        return transport

    def listen(self, transport, topic, endpoint, pool):
        listener = oslo_messaging.get_notification_listener(
            transport, [oslo_messaging.Target(topic=topic)], [endpoint],
            executor='threading', pool=pool)
        listener.start()

        def stop():
            listener.stop()
            listener.wait()
        self.addCleanup(stop)
        return listener


class ReconcilerTest(_EngineTestCase):

    def test_crash_between_create_and_store_is_adopted(self):
        imsi = self.add_subscriber('bronze')
        desktop, server = self.crash_between_create_and_store(imsi)
        counts = self.reconciler.run_once()
        self.assertEqual({'adopted': 1, 'awaiting_login': 0, 'deleted': 0,
                          'quarantined': 0, 'lost': 0, 'stopped': 0,
                          'unrecovered': 0}, counts)
        adopted = self.store.get_desktop(imsi)
        self.assertEqual(server['id'], adopted['instance_id'])
        self.assertEqual(desktop['id'], adopted['id'])
        # A second pass finds nothing more to do.
        self.assertFalse(any(self.reconciler.run_once().values()))
        self.manager.login(imsi, 'u', {})
        self.manager.wait_for(imsi, states.ACTIVE)
        self.assertEqual([server['id']], [s['id'] for s in
                                          self.tagged(imsi)])

    def test_deleted_desktops_server_goes_and_a_duplicate_stays(self):
        # A crash after Nova answered, then an admin deleted the desktop
        # meanwhile: its tombstone makes the server the service's to
        # delete.
        lone = self.add_subscriber('bronze')
        desktop, orphan = self.crash_between_create_and_store(lone)
        self.manager.delete(lone)
        # A second server tagged for a desktop that maps another one: it
        # may hold data, so it is quarantined, not deleted.
        imsi, mapped = self.active_desktop()
        flavor = mapped['flavor_id']
        duplicate = self.compute.create_server(mapped, flavor, self.image_id,
                                               'bronze')
        # Never touched: a server without our metadata.
        foreign = self._create_server_with_hints(self._flavor(512, 1), {})

        counts = self.reconciler.run_once()
        self.assertEqual((1, 1), (counts['deleted'], counts['quarantined']))
        self.assertEqual(0, counts['adopted'] + counts['lost'])
        self._wait_until_deleted(orphan)
        self.assertEqual([], self.tagged(lone))
        self.assertEqual(sorted([mapped['instance_id'], duplicate]),
                         sorted(s['id'] for s in self.tagged(imsi)))
        self.assertEqual('ACTIVE', self.server(foreign['id'])['status'])
        self.assertEqual('ACTIVE', self.server(
            mapped['instance_id'])['status'])

    def test_young_orphans_are_left_alone(self):
        self.vconf.set_override('orphan_grace', 3600, group='desktops')
        imsi = self.add_subscriber('bronze')
        desktop, server = self.crash_between_create_and_store(imsi)
        self.store.delete_desktop(desktop['id'])
        self.assertFalse(any(self.reconciler.run_once().values()))
        self.assertEqual([server['id']], [s['id'] for s in
                                          self.tagged(imsi)])

    def test_creating_without_server_waits_for_the_next_login(self):
        imsi = self.add_subscriber('bronze')
        self.store.create_desktop(imsi, 'u', 'bronze')
        counts = self.reconciler.run_once()
        self.assertEqual(1, counts['awaiting_login'])
        self.assertEqual(states.CREATING,
                         self.store.get_desktop(imsi)['status'])
        session = self.manager.login(imsi, 'u', {})
        self.assertEqual(states.BUILDING, session['status'])
        self.manager.wait_for(imsi, states.ACTIVE)
        self.assertEqual(1, len(self.tagged(imsi)))

    def test_released_vm_deleted_behind_the_service_is_rebuilt(self):
        imsi, desktop = self.released_desktop()
        old = desktop['instance_id']
        self.admin_api.delete_server(old)
        self._wait_until_deleted({'id': old})
        self.assertEqual(1, self.reconciler.run_once()['lost'])
        marked = self.store.get_desktop(imsi)
        self.assertEqual(states.ERROR, marked['status'])
        self.assertIn('deleted', marked['fault'])
        self.assertEqual(0, self.reconciler.run_once()['lost'])

        session = self.manager.login(imsi, 'u', {})
        self.assertTrue(session['rebuilt'])
        self.assertFalse(session['restored'])
        self.manager.wait_for(imsi, states.ACTIVE)
        rebuilt = self.store.get_desktop(imsi)
        self.assertNotEqual(old, rebuilt['instance_id'])
        self.assertEqual(1, rebuilt['generation'])

    def test_active_vm_errored_behind_the_service_fails_the_session(self):
        imsi, desktop = self.active_desktop()
        active = self.store.get_open_session(imsi)
        self.admin_api.post_server_action(
            desktop['instance_id'], {'os-resetState': {'state': 'error'}})
        self.assertEqual(1, self.reconciler.run_once()['lost'])
        # A charged session ends with its service lost.
        self.assertIsNone(self.store.get_open_session(imsi))
        session = self.store.get_session(active['id'])
        self.assertEqual(states.ENDED, session['status'])
        self.assertEqual('Lost-Service', session['terminate_cause'])
        self.assertIn('lost', session['fault'])
        self.assertEqual(states.ERROR,
                         self.store.get_desktop(imsi)['status'])
        # Charging ended with the session's service.
        events = self.notifications(imsi)
        self.assertEqual(['vdesk.session.start', 'vdesk.session.end'],
                         [e for e, _ in events])
        self.assertEqual('Lost-Service', events[-1][1]['terminate_cause'])

        # The next login recovers the same server; nothing is rebuilt.
        again = self.manager.login(imsi, 'u', {})
        self.assertFalse(again['rebuilt'])
        self.manager.wait_for(imsi, states.ACTIVE)
        self.assertEqual([desktop['instance_id']],
                         [s['id'] for s in self.tagged(imsi)])


def nova_transport(test):
    """A notification transport publishing as Nova does (exchange nova)."""
    conf = cfg.ConfigOpts()
    conf([])
    # Registers the transport options; the exchange is read when a
    # transport's driver is made, so set it before making the real one.
    url = test.rabbit_url()
    oslo_messaging.get_notification_transport(conf, url=url).cleanup()
    conf.set_override('control_exchange', 'nova')
    transport = oslo_messaging.get_notification_transport(conf, url=url)
    test.addCleanup(transport.cleanup)
    return transport


class ListenerTest(_EngineTestCase):

    def relay(self, transport, instance_id, event_type):
        """Send Nova's own ``event_type`` notification through RabbitMQ."""
        for n in self.notifier.wait_for_versioned_notifications(event_type):
            if n['payload']['nova_object.data']['uuid'] == instance_id:
                break
        else:
            self.fail('Nova sent no %s for %s' % (event_type, instance_id))
        oslo_messaging.Notifier(
            nova_transport(self), publisher_id=n['publisher_id'],
            driver='messagingv2', topics=['versioned_notifications']).info(
                {}, event_type, n['payload'])

    def wait_for_desktop(self, imsi, status, timeout=20.0):
        deadline = time.monotonic() + timeout
        while self.store.get_desktop(imsi)['status'] != status:
            if time.monotonic() > deadline:
                self.fail('desktop of %s not %s: %s' % (
                    imsi, status, self.store.get_desktop(imsi)))
            time.sleep(0.1)

    def test_nova_delete_notification_marks_the_desktop(self):
        transport = self.rabbit_transport()
        self.vconf.set_override('reconcile_interval', 0, group='desktops')
        engine = engine_mod.Engine(self.vconf, self.manager,
                                   transport=transport,
                                   pool='vdesk-test-listener')
        engine.start()
        self.addCleanup(engine.stop)
        imsi, desktop = self.released_desktop()
        old = desktop['instance_id']
        self.notifier.reset()
        self.admin_api.delete_server(old)
        self._wait_until_deleted({'id': old})
        self.relay(transport, old, 'instance.delete.end')
        self.wait_for_desktop(imsi, states.ERROR)
        self.assertIn('deleted outside', self.store.get_desktop(imsi)['fault'])

        session = self.manager.login(imsi, 'u', {})
        self.assertTrue(session['rebuilt'])
        self.manager.wait_for(imsi, states.ACTIVE)
        self.assertNotEqual(old, self.store.get_desktop(imsi)['instance_id'])

    def test_endpoint_ignores_other_events_and_stale_news(self):
        imsi, desktop = self.active_desktop()
        endpoint = listener.InstanceEndpoint(self.reconciler)
        payload = {'nova_object.data': {'uuid': desktop['instance_id'],
                                        'state': 'active'}}
        endpoint.info({}, 'nova-compute:x', 'instance.update', payload, {})
        # A stale "deleted" for an instance Nova still runs changes
        # nothing: Nova is asked first.
        endpoint.info({}, 'nova-compute:x', 'instance.delete.end', payload,
                      {})
        endpoint.info({}, 'nova-compute:x', 'instance.delete.end',
                      {'nova_object.data': {'uuid': str(uuid.uuid4())}}, {})
        self.assertEqual(states.ACTIVE,
                         self.store.get_desktop(imsi)['status'])
        self.assertEqual(states.ACTIVE,
                         self.store.get_open_session(imsi)['status'])


class ChargingOverRabbitTest(_EngineTestCase):

    def test_start_update_end_reach_a_real_listener(self):
        transport = self.rabbit_transport()
        collector = _Collector()
        self.listen(transport, 'notifications', collector,
                    'vdesk-test-charging')
        self.vconf.set_override('interim_interval', 1, group='charging')
        engine = engine_mod.Engine(
            self.vconf, self.manager, listen=False,
            sender=charging.NotificationSender(self.vconf, transport,
                                               host='test'))
        engine.start()
        self.addCleanup(engine.stop)

        imsi, desktop = self.active_desktop('silver')
        session_id = self.store.get_open_session(imsi)['id']

        def mine(received):
            return [(e, p) for _, e, p in received
                    if p.get('session_id') == session_id]

        collector.wait_for(lambda r: any(
            e == charging.UPDATE for e, _ in mine(r)))
        self.manager.logout(imsi)
        self.manager.wait_for(imsi, states.ENDED)
        events = mine(collector.wait_for(lambda r: any(
            e == charging.END for e, _ in mine(r))))
        kinds = [e for e, _ in events]
        self.assertEqual(charging.START, kinds[0])
        self.assertEqual(charging.END, kinds[-1])
        self.assertEqual(1, kinds.count(charging.START))
        self.assertEqual(1, kinds.count(charging.END))
        self.assertEqual({charging.UPDATE},
                         set(kinds[1:-1]))
        start, update, end = events[0][1], events[1][1], events[-1][1]
        self.assertEqual(START_KEYS, set(start))
        self.assertEqual(UPDATE_KEYS, set(update))
        self.assertEqual(END_KEYS, set(end))
        self.assertEqual(desktop['instance_id'], start['instance_id'])
        self.assertEqual((1, 1024, 'silver'), (
            start['vcpus'], start['memory_mb'], start['priority']))
        self.assertGreaterEqual(update['duration_s'], 1)
        self.assertEqual('User-Request', end['terminate_cause'])
        self.assertGreaterEqual(end['duration_s'], update['duration_s'])
        # Numbered 0, 1, 2, ... in the order queued, as Diameter needs.
        self.assertEqual(list(range(len(events))),
                         [p['record_number'] for _, p in events])
        self.assertEqual({'vdesk.test'},
                         {p for p, _, pl in collector.received
                          if pl.get('session_id') == session_id})


class UnavailableTest(_EngineTestCase):

    def manager_with(self, connection):
        return manager_mod.DesktopManager(
            self.vconf, self.store, self.hss,
            compute_mod.Compute(connection, self.vconf), self.locks)

    def nova_down(self):
        base = 'http://127.0.0.1:%d/v2.1' % _closed_port()
        session = ks_session.Session(auth=nova_harness.HarnessAuth(
            base, 'admin', self.api_fixture.project_id, ('admin',)))
        return self.manager_with(openstack.connection.Connection(
            session=session, compute_endpoint_override=base,
            compute_api_version='2.91'))

    def keystone_down(self):
        auth = v3.Password(
            auth_url='http://127.0.0.1:%d/v3' % _closed_port(),
            username='vdesk', password='x', project_name='desktops',
            user_domain_id='default', project_domain_id='default')
        return self.manager_with(openstack.connection.Connection(
            session=ks_session.Session(auth=auth),
            compute_api_version='2.91'))

    def assert_nothing_half_written(self, imsi, desktop_before):
        self.assertIsNone(self.store.get_open_session(imsi))
        desktop = self.store.get_desktop(imsi)
        if desktop_before is None:
            # A first login Nova refused leaves no record behind.
            self.assertIsNone(desktop)
        else:
            self.assertEqual(
                (desktop_before['status'], desktop_before['instance_id']),
                (desktop['status'], desktop['instance_id']))
        # No charging event either.
        self.assertEqual(self._events_before, len(self.notifications(imsi)))

    def test_first_login_while_nova_or_keystone_is_down(self):
        for broken in (self.nova_down(), self.keystone_down()):
            imsi = self.add_subscriber('bronze')
            self._events_before = 0
            e = self.assertRaises(exceptions.Unavailable, broken.login,
                                  imsi, 'u', {})
            self.assertEqual(503, e.code)
            self.assertIn('unavailable', str(e))
            self.assert_nothing_half_written(imsi, None)
            self.assertEqual([], self.tagged(imsi))
            # Recovery: the same subscriber, Nova back.
            session = self.manager.login(imsi, 'u', {})
            self.assertFalse(session['rebuilt'])
            self.manager.wait_for(imsi, states.ACTIVE)
            self.assertEqual(1, len(self.tagged(imsi)))

    def test_restore_and_engine_while_nova_is_down(self):
        imsi, desktop = self.released_desktop()
        self._events_before = len(self.notifications(imsi))
        broken = self.nova_down()
        e = self.assertRaises(exceptions.Unavailable, broken.login, imsi,
                              'u', {})
        self.assertEqual(503, e.code)
        self.assert_nothing_half_written(imsi, desktop)
        # The engine's passes fail softly and change nothing.
        engine = engine_mod.Engine(self.vconf, broken, listen=False,
                                   sender=self.sender)
        self.assertIsNone(engine.reconcile())
        engine.periodic()
        self.assertEqual(desktop['status'],
                         self.store.get_desktop(imsi)['status'])
        session = self.manager.login(imsi, 'u', {})
        self.assertTrue(session['restored'])
        self.manager.wait_for(imsi, states.ACTIVE)
        self.assertEqual(desktop['instance_id'],
                         self.store.get_desktop(imsi)['instance_id'])
