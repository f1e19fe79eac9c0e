"""The engine's two listeners each have a queue of their own.

vdesk-engine listens to Nova's versioned notifications and to Keystone's
SIM login announcements on one broker. A listener pool is one RabbitMQ
queue (named after the pool): when both listeners shared one, the running
engine lost SIM login announcements to the Nova listener, which drops what
its filter does not match, and pre-warm did not happen. Here both run with
the engine's pool name on a real RabbitMQ (a vhost of this test): each
queue has one consumer, and every announcement and every Nova notification
reaches its endpoint.
"""

import subprocess  # nosec: rabbitmqctl, fixed arguments
import threading
import time
import uuid

from oslo_config import cfg
import oslo_messaging
import testtools

from vdesk_openstack.conf import desktops as desktops_conf
from vdesk_openstack.desktops import listener
from vdesk_openstack.tests.functional import rabbit
from vdesk_openstack.tests import services

COUNT = 20


class RecordingManager(object):

    def __init__(self):
        self.prewarmed = []
        self.lock = threading.Lock()

    def prewarm(self, subscriber, user_id=None, capabilities=None):
        with self.lock:
            self.prewarmed.append(subscriber)
        return True


class RecordingReconciler(object):

    def __init__(self):
        self.changed = []
        self.lock = threading.Lock()

    def instance_lost(self, instance_id, reason):
        with self.lock:
            self.changed.append(instance_id)
        return True

    def instance_changed(self, instance_id):
        with self.lock:
            self.changed.append(instance_id)
        return True


class ListenerQueuesTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        services.require(self, 'rabbitmq')
        vhost = self.useFixture(rabbit.PrivateVhost())
        self.ctl, self.vhost = vhost.ctl, vhost.name
        self.conf = cfg.ConfigOpts()
        desktops_conf.register_opts(self.conf)
        self.conf([], project='vdesk')
        self.transport = oslo_messaging.get_notification_transport(
            self.conf, url=vhost.url)
        self.addCleanup(self.transport.cleanup)

    def _consumers(self):
        out = subprocess.run(
            [self.ctl, 'list_queues', '-q', '-p', self.vhost, 'name',
             'consumers'], check=True, capture_output=True, text=True,
            timeout=60).stdout
        return {line.split()[0]: int(line.split()[1])
                for line in out.splitlines()
                if len(line.split()) == 2 and line.split()[1].isdigit()}

    def _send(self, exchange, topic, publisher, event_type, payload):
        """A notification on ``exchange``, as a service there sends it."""
        self.transport._send_notification(
            oslo_messaging.Target(topic='%s.info' % topic,
                                  exchange=exchange), {},
            {'message_id': str(uuid.uuid4()), 'publisher_id': publisher,
             'event_type': event_type, 'priority': 'INFO',
             'payload': payload, 'timestamp': '2026-11-27 10:00:00.000000'},
            version=2.0)

    def test_each_listener_gets_all_of_its_messages(self):
        manager, reconciler = RecordingManager(), RecordingReconciler()
        logins = listener.start_logins(self.conf, manager, self.transport)
        self.addCleanup(listener.stop, logins)
        nova = listener.start(self.conf, reconciler, self.transport)
        self.addCleanup(listener.stop, nova)

        for n in range(COUNT):
            self._send('keystone', 'notifications', 'vdesk.keystone',
                       'vdesk.subscriber.authenticated',
                       {'subscriber': '0010100000%05d' % n,
                        'user_id': 'u%d' % n})
            self._send('nova', 'versioned_notifications',
                       'nova-compute:host1', 'instance.delete.end',
                       {'nova_object.data': {'uuid': 'instance-%d' % n,
                                             'state': 'deleted'}})

        queues = self._consumers()
        self.assertEqual({listener.POOL: 1, listener.POOL + '-logins': 1},
                         {name: n for name, n in queues.items()
                          if name.startswith(listener.POOL)})

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
                len(manager.prewarmed) < COUNT or
                len(reconciler.changed) < COUNT):
            time.sleep(0.2)
        self.assertEqual(sorted('0010100000%05d' % n for n in range(COUNT)),
                         sorted(manager.prewarmed))
        self.assertEqual(sorted('instance-%d' % n for n in range(COUNT)),
                         sorted(reconciler.changed))
