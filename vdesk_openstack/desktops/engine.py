"""The desktop service's background side (``vdesk-engine``).

Requests only start Nova operations and a subscriber may never come back
to look, so something must carry sessions on by itself: the engine

* reconciles at start (crash repairs must not wait for the first tick),
  then every ``[desktops] reconcile_interval`` seconds;
* runs :meth:`DesktopManager.periodic` -- sessions synced with Nova,
  interim charging records, idle release, charging ends not yet sent --
  at least as often as ``[charging] interim_interval`` needs;
* listens to Nova's versioned notifications so a desktop deleted or
  errored outside the service is marked within moments;
* listens to Keystone's SIM login announcements and pre-warms the
  subscriber's desktop;
* delivers the charging outbox to the message bus, in order, retrying
  until the broker confirms each record
  (:mod:`vdesk_openstack.desktops.outbox`). It refuses to start when the
  notification driver would not put records on the bus.

Several engines may run (one per host): every state change they make is
a conditional UPDATE or happens under the subscriber's tooz lock, so two
engines doing the same pass only cost time. A failing pass (Nova, the
database or the broker down) is logged and retried on the next tick;
the engine itself keeps running.
"""

import threading
import time

from oslo_log import log as logging

from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import listener as listener_mod
from vdesk_openstack.desktops import outbox
from vdesk_openstack.desktops import reconciler as reconciler_mod

LOG = logging.getLogger(__name__)

# Sessions are synced with Nova at least this often even if reconciling
# is disabled and interim records are rare.
MAX_TICK = 60


class Engine(object):

    def __init__(self, conf, manager, listen=True, transport=None,
                 pool=listener_mod.POOL, sender=None):
        """:raises charging.NotConfigured: records could not reach the bus."""
        self.conf = conf
        self.manager = manager
        self.reconciler = reconciler_mod.Reconciler(manager, conf)
        if sender is None:
            sender = charging.NotificationSender(conf, transport)
        self.delivery = outbox.Delivery(conf, manager.store, sender,
                                        manager.locks)
        manager.delivery = self.delivery
        self._listen = listen
        self._transport = transport
        self._pool = pool
        self._listener = None
        self._logins = None
        self._stopping = threading.Event()
        self._thread = None

    @property
    def tick(self):
        """Seconds between two periodic passes."""
        candidates = [MAX_TICK, self.conf.charging.interim_interval]
        if self.conf.desktops.reconcile_interval:
            candidates.append(self.conf.desktops.reconcile_interval)
        return max(1, min(candidates))

    def reconcile(self):
        try:
            return self.reconciler.run_once()
        except exceptions.DesktopError as e:
            # A dependency known to be down: no traceback, it says it all.
            LOG.warning('Reconcile pass failed (%s); retrying next pass', e)
        except Exception:
            LOG.exception('Reconcile pass failed; retrying next pass')
        return None

    def periodic(self):
        try:
            self.manager.periodic()
        except exceptions.DesktopError as e:
            LOG.warning('Periodic pass failed (%s); retrying next pass', e)
        except Exception:
            LOG.exception('Periodic pass failed; retrying next pass')

    def start(self):
        """Reconcile once, start the listener and the periodic thread."""
        self.reconcile()
        self.delivery.start()
        if self._listen:
            try:
                self._listener = listener_mod.start(
                    self.conf, self.reconciler, self._transport,
                    self._pool)
            except Exception:
                # Without notifications the periodic reconcile still
                # finds lost desktops, only later.
                LOG.exception('Cannot listen to Nova notifications; '
                              'relying on the periodic reconcile')
            try:
                self._logins = listener_mod.start_logins(
                    self.conf, self.manager, self._transport, self._pool)
            except Exception:
                LOG.exception('Cannot listen to SIM login announcements; '
                              'desktops will not be pre-warmed')
        self._thread = threading.Thread(target=self._run,
                                        name='vdesk-engine', daemon=True)
        self._thread.start()

    def _run(self):
        interval = self.conf.desktops.reconcile_interval
        next_reconcile = time.monotonic() + interval if interval else None
        while not self._stopping.wait(self.tick):
            self.periodic()
            if next_reconcile is not None and \
                    time.monotonic() >= next_reconcile:
                self.reconcile()
                next_reconcile = time.monotonic() + interval

    def request_stop(self):
        """Ask the engine to stop (safe in a signal handler)."""
        self._stopping.set()

    def stop(self):
        self._stopping.set()
        self.delivery.stop()
        for name in ('_listener', '_logins'):
            listener = getattr(self, name)
            if listener is not None:
                try:
                    listener_mod.stop(listener)
                except Exception:
                    LOG.exception('Listener did not stop cleanly')
                setattr(self, name, None)
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def wait(self):
        """Block until :meth:`stop` is called (from a signal handler)."""
        while not self._stopping.wait(1):
            pass
