"""No charging record is lost when the message bus goes away.

The whole charging path for real: the desktop service (Nova's real
services, fake computes) writes each record into its outbox with the
session change; the engine delivers the outbox to a RabbitMQ node of the
test's own; a notification listener on that broker hands each message to
Ceilometer's event converter and our ``radius://`` publisher, as
Ceilometer's notification agent does; FreeRADIUS (dropping copies by
Vdesk-Record-Id, as an exact charging server does) writes what it
receives.

RabbitMQ is stopped while subscribers log in and out, and started again:
FreeRADIUS receives every Start and Stop, each exactly once, and the
outbox ends empty.
"""

import collections
import os
import time

import fixtures
import oslo_messaging

from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops import engine as engine_mod
from vdesk_openstack.desktops import states
from vdesk_openstack.sandbox import charging as sandbox_charging
from vdesk_openstack.sandbox import freeradius
from vdesk_openstack.tests.functional.desktops import harness
from vdesk_openstack.tests.functional import rabbit
from vdesk_openstack.tests import services

SECRET = 'outage-test'  # nosec: a test's own FreeRADIUS


class _Agent(object):
    """Notification endpoint: Ceilometer's steps, to FreeRADIUS."""

    def __init__(self, bridge):
        self.bridge = bridge

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.bridge.publish_notification(event_type, publisher_id, payload,
                                         metadata)


class ChargingOutageTest(harness.DesktopTestCase):

    pool_hosts = ('pool1',)
    other_hosts = ()

    def setUp(self):
        services.require(self, 'freeradius')
        services.require(self, 'rabbitmq-server')
        super().setUp()
        self.broker = self.useFixture(rabbit.PrivateRabbit())
        self.radius = self.useFixture(freeradius.FreeRadius(
            secret=SECRET, dedupe=True))
        spool = self.useFixture(fixtures.TempDir()).path
        self.bridge = sandbox_charging.CeilometerBridge(
            'radius://127.0.0.1:%d?secret=%s&nas_identifier=vdesk-test&'
            'spool=%s' % (self.radius.acct_port, SECRET,
                          os.path.join(spool, 'radius')))
        self.addCleanup(self.bridge.close)
        for name, value in (('outbox_poll_interval', 0.2),
                            ('outbox_retry_initial', 0.2),
                            ('outbox_retry_max', 1.0), ('send_retry', 0)):
            self.vconf.set_override(name, value, group='charging')
            self.addCleanup(self.vconf.clear_override, name,
                            group='charging')

        transport = oslo_messaging.get_notification_transport(
            self.vconf, url=self.broker.url)
        self.addCleanup(transport.cleanup)
        listener = oslo_messaging.get_notification_listener(
            transport, [oslo_messaging.Target(topic='notifications')],
            [_Agent(self.bridge)], executor='threading')
        listener.start()

        def stop_listener():
            listener.stop()
            listener.wait()
        self.addCleanup(stop_listener)

        engine = engine_mod.Engine(
            self.vconf, self.manager, listen=False,
            sender=charging.NotificationSender(self.vconf, transport,
                                               host='test'))
        engine.start()
        self.addCleanup(engine.stop)

    def received(self):
        """{(subscriber, Acct-Status-Type): count} FreeRADIUS wrote."""
        return collections.Counter(
            (r.get('User-Name'), r.get('Acct-Status-Type'))
            for r in self.radius.records())

    def wait_received(self, expected, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            got = self.received()
            if all(got[key] >= 1 for key in expected):
                return got
            if time.monotonic() > deadline:
                self.fail('FreeRADIUS did not receive %s in %ss; it has %s; '
                          'outbox holds %d' % (
                              sorted(set(expected) - set(got)), timeout,
                              dict(got), self.store.outbox_size()))
            time.sleep(0.2)

    def login(self, imsi):
        self.manager.login(imsi, 'user-%s' % imsi, {})
        self.manager.wait_for(imsi, states.ACTIVE)

    def logout(self, imsi):
        self.manager.logout(imsi, user_id='user-%s' % imsi)
        self.manager.wait_for(imsi, states.ENDED)

    def test_broker_stopped_during_logins_and_logouts(self):
        a, b, c = (self.add_subscriber('bronze') for _ in range(3))
        self.login(a)
        self.wait_received([(a, 'Start')])

        self.broker.stop()
        self.login(b)
        self.login(c)
        self.logout(a)
        self.logout(b)
        # Sessions went on; their records wait in the outbox, in order.
        waiting = self.store.outbox_batch(100)
        self.assertEqual(
            [(b, charging.START), (c, charging.START), (a, charging.END),
             (b, charging.END)],
            [(self.store.get_session(r['session_id'])['subscriber'],
              r['event_type']) for r in waiting])
        deadline = time.monotonic() + 30
        while not self.store.outbox_batch(1)[0]['attempts']:
            self.assertLess(time.monotonic(), deadline,
                            'the engine never tried to deliver')
            time.sleep(0.2)
        self.assertEqual(1, sum(self.received().values()))

        self.broker.start()
        self.logout(c)
        expected = [(s, kind) for s in (a, b, c) for kind in ('Start',
                                                              'Stop')]
        got = self.wait_received(expected)
        self.assertEqual({key: 1 for key in expected}, dict(got))
        deadline = time.monotonic() + 30
        while self.store.outbox_size():
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.2)
        ids = [r['Vdesk-Record-Id'] for r in self.radius.records()]
        self.assertEqual(len(ids), len(set(ids)))
