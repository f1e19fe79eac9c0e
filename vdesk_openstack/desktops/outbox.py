"""Deliver the charging outbox: every record reaches the bus, in order.

Charging records are rows of the ``charging_outbox`` table, written in
the same transaction as the session change they charge (login active,
interim, logout), so a crash can neither lose a record nor invent one.
:class:`Delivery` (run by ``vdesk-engine``) sends them in the order they
were written with a sender whose sends the broker confirms, and deletes a
row only after the confirmation. When the broker is down the batch stops
at the first failure -- nothing later overtakes it -- and is tried again
with a growing pause, for as long as it takes.

Several engines may deliver: a tooz lock lets one of them work at a time,
and a record sent twice anyway (confirmed, then a crash before its row is
deleted) carries the same id, which downstream uses to drop the copy.
"""

import threading

from oslo_log import log as logging

from vdesk_openstack.desktops import exceptions

LOG = logging.getLogger(__name__)

LOCK_NAME = b'vdesk-charging-outbox'


class Delivery(object):

    def __init__(self, conf, store, sender, locks=None):
        self.conf = conf
        self.store = store
        self.sender = sender
        self._locks = locks
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = None

    @property
    def batch_size(self):
        return self.conf.charging.outbox_batch_size

    def deliver_once(self):
        """Send what the outbox holds, in order; the number delivered.

        :raises DeliveryFailed: a record was not confirmed (the rest waits).
        """
        total = 0
        while True:
            batch = self.store.outbox_batch(self.batch_size)
            if not batch:
                return total
            for rec in batch:
                try:
                    self.sender.send(rec)
                except Exception as e:
                    self.store.outbox_failed(rec['seq'], str(e))
                    raise exceptions.DeliveryFailed(
                        'charging record %s (%s of session %s) not '
                        'accepted by the message bus: %s'
                        % (rec['id'], rec['event_type'], rec['session_id'],
                           e)) from None
                # One row at a time: a crash re-sends at most one record.
                self.store.outbox_delete(rec['seq'])
                total += 1
            if len(batch) < self.batch_size:
                return total

    def deliver(self):
        """:meth:`deliver_once` under the outbox lock (skipped if taken)."""
        if self._locks is None:
            return self.deliver_once()
        with self._locks.named(LOCK_NAME, blocking=False) as held:
            if not held:
                return 0
            return self.deliver_once()

    def wake(self):
        """Ask the delivery thread to look at the outbox now."""
        self._wake.set()

    # -- background thread --------------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self._run,
                                        name='vdesk-charging-outbox',
                                        daemon=True)
        self._thread.start()

    def _run(self):
        opts = self.conf.charging
        pause = opts.outbox_poll_interval
        while not self._stopping.is_set():
            try:
                sent = self.deliver()
                if sent:
                    LOG.debug('Delivered %d charging record(s)', sent)
                pause = opts.outbox_poll_interval
            except exceptions.DeliveryFailed as e:
                pause = min(max(pause * 2, opts.outbox_retry_initial),
                            opts.outbox_retry_max)
                LOG.warning('%s; retrying in %.1f s', e, pause)
            except exceptions.DesktopError as e:
                pause = min(max(pause * 2, opts.outbox_retry_initial),
                            opts.outbox_retry_max)
                LOG.warning('Charging outbox not delivered (%s); retrying '
                            'in %.1f s', e, pause)
            except Exception:
                pause = opts.outbox_retry_max
                LOG.exception('Charging outbox delivery failed; retrying in '
                              '%.1f s', pause)
            self._wake.wait(pause)
            self._wake.clear()

    def stop(self):
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
