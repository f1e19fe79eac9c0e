"""Charging in the sandbox: Ceilometer's converter + our RADIUS publisher.

In a cloud, the desktop service's notifications travel over RabbitMQ to
Ceilometer's notification agent, which turns them into events with
etc/ceilometer/event_definitions.yaml and hands them to the publishers of
event_pipeline.yaml. The sandbox does the same steps in-process with
Ceilometer's own converter and publisher loading, so the records that reach
FreeRADIUS are exactly those a deployment would send.
"""

import json
import os
import threading

from ceilometer.event import converter
from ceilometer import publisher
from ceilometer import service as ceilometer_service
from oslo_log import log as logging
from stevedore import extension

import vdesk_openstack
from vdesk_openstack.metering import records

LOG = logging.getLogger(__name__)

DEFINITIONS = os.path.join(os.path.dirname(os.path.abspath(
    vdesk_openstack.__file__)), '..', 'etc', 'ceilometer',
    'event_definitions.yaml')


class CeilometerBridge(object):
    """A sender of the charging outbox; publishes to a ``radius://`` URL.

    It takes the outbox's records as the engine's NotificationSender
    does, and does in-process what the message bus and Ceilometer's
    notification agent do in a cloud.
    """

    def __init__(self, publisher_url, nas_identifier='vdesk-sandbox'):
        if not os.path.exists(DEFINITIONS):
            raise RuntimeError('Ceilometer event definitions not found at '
                               '%s' % DEFINITIONS)
        conf = ceilometer_service.prepare_service([], [])
        conf.set_override('definitions_cfg_file', DEFINITIONS,
                          group='event')
        self._converter = converter.setup_events(
            conf, extension.ExtensionManager(
                namespace='ceilometer.event.trait_plugin'))
        self.publisher = publisher.get_publisher(
            conf, publisher_url, 'ceilometer.event.publisher')
        self._nas = nas_identifier
        self._lock = threading.Lock()
        self.sent = []  # (subscriber, Acct-Status-Type), in order

    def send(self, rec):
        self.publish_notification(
            rec['event_type'], 'vdesk.sandbox', json.loads(rec['payload']),
            {'message_id': rec['id'],
             'timestamp': rec['created_at'].strftime(
                 '%Y-%m-%d %H:%M:%S.%f')})

    def publish_notification(self, event_type, publisher_id, payload,
                             metadata):
        """What Ceilometer's agent does with one of our notifications."""
        message = {'event_type': event_type, 'publisher_id': publisher_id,
                   'priority': 'INFO', 'payload': payload,
                   'metadata': metadata}
        event = self._converter.to_event('info', message)
        if event is None:
            raise RuntimeError('no event definition for %s' % event_type)
        _, attributes = records.record_from_event(event, self._nas)
        self.publisher.publish_events([event])
        with self._lock:
            self.sent.append((payload['subscriber'],
                              attributes['Acct-Status-Type']))

    def wait_delivered(self, timeout=30):
        return self.publisher.client.wait_idle(timeout)

    def close(self):
        self.publisher.close()
