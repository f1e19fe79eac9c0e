"""Charging records of desktop sessions and how they leave the service.

``vdesk.session.start`` when the desktop becomes active,
``vdesk.session.update`` every ``[charging] interim_interval`` seconds,
``vdesk.session.end`` when the session ends, as oslo.messaging
notifications from publisher ``vdesk.<host>``. Ceilometer turns them into
events (etc/ceilometer/event_definitions.yaml) and the RADIUS publisher
into accounting records.

A record is never sent from the request that causes it. :func:`record`
builds it and the store writes it into the charging outbox in the same
transaction as the session change it charges (see
:mod:`vdesk_openstack.desktops.outbox`); the engine then delivers the
outbox with :class:`NotificationSender`, whose sends the broker confirms,
and retries until it does. The record's id is the notification's message
id, so a record sent twice (a crash after the broker's confirmation and
before the outbox row is deleted) is dropped downstream by its id.
"""

import datetime
import json
import socket
import uuid

from oslo_log import log as logging
import oslo_messaging
from oslo_messaging import opts as messaging_opts

LOG = logging.getLogger(__name__)

START = 'vdesk.session.start'
UPDATE = 'vdesk.session.update'
END = 'vdesk.session.end'

NOTIFICATIONS_GROUP = 'oslo_messaging_notifications'
# Notification drivers that put notifications on the message bus.
BUS_DRIVERS = {'messagingv2': 2.0, 'messaging': 1.0}


class NotConfigured(Exception):
    """Charging records could not reach Ceilometer with this configuration."""


def payload(event_type, session, desktop, plan, duration_s=None,
            cpu_util=None, terminate_cause=None):
    """The notification payload (Ceilometer's traits).

    ``record_number`` numbers the session's records 0, 1, 2, ... (Start,
    Interims, Stop) from the session's count of records queued; the store
    queues a record only while that count is unchanged.
    """
    body = {
        'record_number': (0 if event_type == START
                          else int(session.get('records') or 0)),
        'session_id': session['id'],
        'subscriber': session['subscriber'],
        'instance_id': desktop['instance_id'],
        'project_id': desktop.get('project_id'),
        'vcpus': plan.vcpus if plan else None,
        'memory_mb': plan.ram_mb if plan else None,
        'disk_gb': plan.disk_gb if plan else None,
        'priority': plan.priority if plan else None,
    }
    if event_type in (UPDATE, END):
        body['duration_s'] = int(duration_s or 0)
        body['cpu_util'] = cpu_util
    if event_type == END:
        body['terminate_cause'] = terminate_cause
    return body


def record(event_type, session, desktop, plan, created_at, **kwargs):
    """An outbox row for ``event_type`` of ``session``."""
    return {'id': str(uuid.uuid4()), 'session_id': session['id'],
            'event_type': event_type,
            'payload': json.dumps(payload(event_type, session, desktop,
                                          plan, **kwargs), sort_keys=True),
            'created_at': created_at, 'attempts': 0, 'last_error': None}


def register_opts(conf):
    """Register ``[oslo_messaging_notifications]`` (oslo.messaging's)."""
    for group, opts in messaging_opts.list_opts():
        if group == NOTIFICATIONS_GROUP:
            conf.register_opts(opts, group=group)


def bus_version(conf):
    """The message format of the configured notification driver.

    :raises NotConfigured: no driver, or none that reaches the bus (e.g.
        ``noop``): records would be dropped while the outbox said sent.
    """
    register_opts(conf)
    drivers = [d.strip() for d in
               conf.oslo_messaging_notifications.driver or []]
    for driver, version in BUS_DRIVERS.items():
        if driver in drivers:
            return version
    raise NotConfigured(
        '[oslo_messaging_notifications] driver is %s: charging records '
        'must reach Ceilometer over the message bus. Set "driver = '
        'messagingv2" (and transport_url) in vdesk.conf.'
        % (', '.join(drivers) or 'not set'))


def _timestamp(created_at):
    if isinstance(created_at, datetime.datetime):
        return created_at.strftime('%Y-%m-%d %H:%M:%S.%f')
    return str(created_at)


class NotificationSender(object):
    """Send outbox records as notifications; return only once confirmed.

    oslo.messaging's Notifier logs and drops what the broker refuses, so
    the sender talks to the notification transport itself: the rabbit
    driver publishes with publisher confirms and raises when a message is
    not confirmed, which is what lets the outbox keep a record until the
    broker has it.
    """

    def __init__(self, conf, transport=None, host=None):
        self._version = bus_version(conf)
        self._topics = list(conf.oslo_messaging_notifications.topics or
                            ['notifications'])
        self._retry = conf.charging.send_retry
        self._publisher = 'vdesk.%s' % (host or socket.gethostname())
        if transport is None:
            transport = oslo_messaging.get_notification_transport(conf)
        self._transport = transport

    def message(self, rec):
        """The notification of an outbox row, as the Notifier builds it."""
        return {'message_id': rec['id'], 'publisher_id': self._publisher,
                'event_type': rec['event_type'], 'priority': 'INFO',
                'payload': json.loads(rec['payload']),
                'timestamp': _timestamp(rec['created_at'])}

    def send(self, rec):
        message = self.message(rec)
        for topic in self._topics:
            # Private in name only: it is what every oslo.messaging
            # notification driver calls, and it raises instead of dropping.
            self._transport._send_notification(
                oslo_messaging.Target(topic='%s.info' % topic), {}, message,
                version=self._version, retry=self._retry)

    def close(self):
        self._transport.cleanup()
