"""Charging events of desktop sessions (contract 4.5).

``vdesk.session.start`` when the desktop becomes active,
``vdesk.session.update`` every ``[charging] interim_interval`` seconds,
``vdesk.session.end`` when the session ends, as oslo.messaging
notifications from publisher ``vdesk.<host>``. Ceilometer turns them into
events (etc/ceilometer/event_definitions.yaml) and the RADIUS publisher
into accounting records. The store's charging column makes each start
and end happen once, whichever worker notices first.
"""

import socket

from oslo_log import log as logging
import oslo_messaging

LOG = logging.getLogger(__name__)

START = 'vdesk.session.start'
UPDATE = 'vdesk.session.update'
END = 'vdesk.session.end'


def payload(event_type, session, desktop, plan, duration_s=None,
            cpu_util=None, terminate_cause=None):
    """The notification payload of contract 4.5 (Ceilometer's traits)."""
    body = {
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


class Charging(object):
    """Emit charging events as oslo.messaging notifications."""

    def __init__(self, conf, transport=None, host=None):
        self._host = host or socket.gethostname()
        if transport is None:
            transport = oslo_messaging.get_notification_transport(conf)
        # retry=1: a broker outage must not hang a request; the caller
        # keeps the event pending and the engine sends it again later.
        self._notifier = oslo_messaging.Notifier(
            transport, publisher_id='vdesk.%s' % self._host,
            topics=['notifications'], retry=1)

    def emit(self, event_type, session, desktop, plan, **kwargs):
        body = payload(event_type, session, desktop, plan, **kwargs)
        LOG.info('Charging %s for session %s of %s', event_type,
                 session['id'], session['subscriber'])
        self._notifier.info({}, event_type, body)
