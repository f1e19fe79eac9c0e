"""Per-subscriber distributed locks (tooz).

Concurrent logins of one subscriber -- several API workers, several API
hosts -- take the subscriber's lock, so one of them creates the desktop
and the others find it. The database's unique constraints stay the last
word if a lock is ever lost (e.g. a backend failover).
"""

import contextlib
import threading
import uuid

from oslo_log import log as logging
from tooz import coordination

from vdesk_openstack.desktops import exceptions

LOG = logging.getLogger(__name__)


class SubscriberLocks(object):

    def __init__(self, conf, member_id=None):
        self._conf = conf
        self._member = (member_id or 'vdesk-%s' % uuid.uuid4()).encode()
        self._coordinator = None
        self._start_lock = threading.Lock()

    def _get(self):
        if self._coordinator is None:
            with self._start_lock:
                if self._coordinator is None:
                    coordinator = coordination.get_coordinator(
                        self._conf.coordination.backend_url, self._member)
                    coordinator.start(start_heart=True)
                    self._coordinator = coordinator
        return self._coordinator

    @contextlib.contextmanager
    def subscriber(self, imsi):
        try:
            lock = self._get().get_lock(('vdesk-desktop-%s' % imsi).encode())
            acquired = lock.acquire(
                blocking=self._conf.coordination.lock_timeout)
        except coordination.ToozError as e:
            LOG.error('Lock backend unavailable: %s', e)
            raise exceptions.Unavailable(
                'The lock service is unavailable; retry later') from None
        if not acquired:
            raise exceptions.Busy()
        try:
            yield
        finally:
            try:
                lock.release()
            except coordination.ToozError as e:
                LOG.warning('Could not release the lock of %s: %s', imsi, e)

    @contextlib.contextmanager
    def named(self, name, blocking=True):
        """Hold the lock ``name`` (bytes); yields whether it was acquired.

        With ``blocking=False`` the body runs at once, told False, if
        another process holds it.
        """
        try:
            lock = self._get().get_lock(name)
            acquired = lock.acquire(
                blocking=self._conf.coordination.lock_timeout
                if blocking else False)
        except coordination.ToozError as e:
            LOG.error('Lock backend unavailable: %s', e)
            raise exceptions.Unavailable(
                'The lock service is unavailable; retry later') from None
        try:
            yield acquired
        finally:
            if acquired:
                try:
                    lock.release()
                except coordination.ToozError as e:
                    LOG.warning('Could not release the lock %s: %s',
                                name.decode(), e)

    def stop(self):
        if self._coordinator is not None:
            self._coordinator.stop()
            self._coordinator = None
