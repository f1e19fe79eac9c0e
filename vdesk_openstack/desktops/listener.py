"""Nova's versioned notifications: desktops lost or stopped elsewhere.

Nova publishes ``instance.delete.end`` when an instance is deleted and
``instance.update`` on every state change (``[notifications]
notify_on_state_change = vm_state``), on the topic
``versioned_notifications`` of its notification transport, in Nova's
exchange (``[desktops] nova_notification_exchange``). The engine
listens there, in its own pool so that other consumers (Ceilometer,
another engine) still get their copy while engines of one deployment
share the work, and hands a deleted or errored instance to
:meth:`Reconciler.instance_lost`, which checks Nova and marks the desktop,
and an instance stopped, paused, suspended, shelved, soft-deleted or
rescued to :meth:`Reconciler.instance_changed`, which syncs its session.

A notification missed while the engine was down costs nothing but time:
the reconciler's periodic pass finds the same instance.
"""

from oslo_log import log as logging
import oslo_messaging

from vdesk_openstack.desktops import exceptions

LOG = logging.getLogger(__name__)

TOPIC = 'versioned_notifications'
POOL = 'vdesk-engine'
DELETED = 'instance.delete.end'
UPDATED = 'instance.update'
EVENT_TYPES = r'^instance\.(delete\.end|update)$'
# vm_states of a server stopped or held outside the service: an active
# session on it is synced at once (see DesktopManager.sync).
STOPPED_STATES = frozenset(('stopped', 'paused', 'suspended', 'shelved',
                            'shelved_offloaded', 'soft-delete', 'rescued'))


def _data(payload):
    """The fields of a Nova versioned object payload."""
    if not isinstance(payload, dict):
        return {}
    return payload.get('nova_object.data') or {}


class InstanceEndpoint(object):
    """Marks the desktop of an instance Nova deleted or put in ERROR."""

    filter_rule = oslo_messaging.NotificationFilter(event_type=EVENT_TYPES)

    def __init__(self, reconciler):
        self.reconciler = reconciler

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        data = _data(payload)
        instance_id = data.get('uuid')
        if not instance_id:
            return None
        if event_type == DELETED:
            reason = 'instance %s was deleted outside the service' % (
                instance_id)
        elif event_type == UPDATED and data.get('state') == 'error':
            reason = 'instance %s went to ERROR outside the service' % (
                instance_id)
        elif event_type == UPDATED and data.get('state') in STOPPED_STATES:
            reason = None
        else:
            return None
        try:
            if reason is None:
                handled = self.reconciler.instance_changed(instance_id)
            else:
                handled = self.reconciler.instance_lost(instance_id, reason)
            if handled:
                LOG.info('Nova reported %s for %s (from %s)', event_type,
                         instance_id, publisher_id)
        except exceptions.DesktopError as e:
            # Nova or the lock backend is down: the periodic reconcile
            # finds this instance once they are back.
            LOG.warning('Could not handle %s for %s now: %s', event_type,
                        instance_id, e)
        except Exception:
            # E.g. the database is down; same remedy as above.
            LOG.exception('Could not handle %s for %s now', event_type,
                          instance_id)
        return None


class LoginEndpoint(object):
    """Pre-warms a subscriber's desktop when Keystone announces its login.

    Keystone's ``aka`` method emits ``vdesk.subscriber.authenticated``
    (see :mod:`vdesk_openstack.keystone.announce`) on the ``notifications``
    topic right after a successful SIM login; the desktop request follows
    a round trip later, by which time Nova is already restoring.
    """

    filter_rule = oslo_messaging.NotificationFilter(
        event_type=r'^vdesk\.subscriber\.authenticated$',
        publisher_id=r'^vdesk\.keystone$')

    def __init__(self, manager):
        self.manager = manager

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        if not isinstance(payload, dict) or not isinstance(
                payload.get('subscriber'), str):
            return None
        subscriber = payload['subscriber']
        try:
            self.manager.prewarm(subscriber, payload.get('user_id'),
                                 payload.get('capabilities'))
        except Exception as e:
            # Pre-warming is an optimisation: the login itself will do.
            LOG.warning('Could not pre-warm the desktop of %s: %s',
                        subscriber, e)
        return None


def start_logins(conf, manager, transport=None, pool=POOL):
    """Listen to Keystone's login announcements (topic notifications).

    The pool (hence the queue) is the engine's pool name plus
    ``-logins``: a pool is one queue, and two listeners sharing it would
    each get about half of the other's messages and drop them.
    """
    pool = '%s-logins' % pool
    if transport is None:
        transport = oslo_messaging.get_notification_transport(conf)
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(
            topic='notifications',
            exchange=conf.desktops.keystone_notification_exchange)],
        [LoginEndpoint(manager)], executor='threading', pool=pool)
    listener.start()
    LOG.info('Listening to SIM login announcements (pool %s)', pool)
    return listener


def start(conf, reconciler, transport=None, pool=POOL):
    """Start listening; returns the listener to give to :func:`stop`."""
    if transport is None:
        transport = oslo_messaging.get_notification_transport(conf)
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(
            topic=TOPIC, exchange=conf.desktops.nova_notification_exchange)],
        [InstanceEndpoint(reconciler)], executor='threading', pool=pool)
    listener.start()
    LOG.info('Listening to Nova notifications on %s (pool %s)', TOPIC,
             pool)
    return listener


def stop(listener):
    listener.stop()
    listener.wait()
