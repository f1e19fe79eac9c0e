"""Announce successful SIM logins so the desktop can be pre-warmed.

The design lets the access request carry the UE's capabilities so that the
VM is prepared before the UE asks for it. After a successful ``aka`` login
Keystone emits ``vdesk.subscriber.authenticated`` (publisher
``vdesk.keystone``; payload: subscriber IMSI, Keystone user id and, if the
UE sent them in its answer, its capabilities) on Keystone's own
notification transport. The desktop engine starts restoring that
subscriber's desktop at once.

Sending happens on a background thread through a bounded queue: a slow or
absent broker never delays a login. Pre-warming is an optimisation, so an
announcement that cannot be queued is dropped with a warning.
"""

import queue
import threading

from oslo_log import log as logging
import oslo_messaging

LOG = logging.getLogger(__name__)

EVENT_TYPE = 'vdesk.subscriber.authenticated'
_QUEUE_SIZE = 1000


class Announcer(object):

    def __init__(self, conf):
        self._conf = conf
        self._queue = queue.Queue(maxsize=_QUEUE_SIZE)
        self._thread = None
        self._lock = threading.Lock()
        self._notifier = None

    def _start(self):
        with self._lock:
            if self._thread is None:
                transport = oslo_messaging.get_notification_transport(
                    self._conf)
                self._notifier = oslo_messaging.Notifier(
                    transport, publisher_id='vdesk.keystone',
                    topics=['notifications'], retry=3)
                self._thread = threading.Thread(
                    target=self._run, name='vdesk-announce', daemon=True)
                self._thread.start()

    def announce(self, subscriber, user_id, capabilities=None):
        if not self._conf.vdesk_aka.announce_logins:
            return
        self._start()
        payload = {'subscriber': subscriber, 'user_id': user_id}
        if capabilities is not None:
            payload['capabilities'] = capabilities
        try:
            self._queue.put_nowait(payload)
        except queue.Full:
            LOG.warning('Login announcement of %s dropped: queue full',
                        subscriber)

    def _run(self):
        while True:
            payload = self._queue.get()
            try:
                self._notifier.info({}, EVENT_TYPE, payload)
            except Exception:
                LOG.warning('Login announcement of %s not sent',
                            payload['subscriber'], exc_info=True)
