"""What the RADIUS and Diameter clients share: the spool's side of sending.

A :class:`SpoolingClient` runs one asyncio loop in a thread of its own and
owns the queue of spooled records waiting to be sent. The protocol client
built on it (:mod:`.client` for RADIUS, :mod:`.diameter_client` for
Diameter) takes records from the queue with :meth:`SpoolingClient._pump`
and reports each outcome:

- :meth:`_acknowledged`: the server acknowledged the record; it leaves the
  spool in the next batched ``fsync`` (``ACK_BATCH_DELAY`` later: one fsync
  for every answer that arrived meanwhile, not one per record);
- :meth:`_requeue`: no acknowledgement (server down, connection lost, a
  transient error); the record goes back to the head of the queue and is
  resent, marked as a resend;
- :meth:`_park`: the server refused the record for good (it can never be
  delivered as it is); it moves to the spool's quarantine
  (``quarantine/records.jsonl``) with the reason, and an error is logged.

Every ``ADOPT_INTERVAL`` seconds the client also adopts the spool lanes of
publishers that died and sends what they hold.
"""

import asyncio
import collections
import threading
import time

from oslo_log import log

LOG = log.getLogger(__name__)

ACK_BATCH_DELAY = 0.005  # seconds acknowledgements gather before one fsync
ADOPT_INTERVAL = 30.0  # seconds between looks for orphaned spool lanes


class SpoolingClient:
    """Send the records of ``spool``; subclasses speak the protocol."""

    thread_name = 'vdesk-charging-client'

    def __init__(self, spool):
        self.spool = spool
        self.stats = collections.Counter()
        self._queue = collections.deque()
        self._acked = []
        self._flush_handle = None
        self._loop = asyncio.new_event_loop()
        self._thread = None
        self._stopped = False

    # -- API for other threads --------------------------------------------

    def start(self, records=()):
        self._queue.extend(records)
        self._start_thread()

    def resume(self, spool_dir):
        """Start with what a previous publisher left unacknowledged."""
        backlog = self.spool.adopt_orphans()
        if backlog:
            LOG.info('%d accounting record(s) left in spool %s by a previous '
                     'publisher will be resent', len(backlog), spool_dir)
        self.start(backlog)

    def _start_thread(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=self.thread_name)
        self._thread.start()

    def submit(self, records):
        if records:
            self._loop.call_soon_threadsafe(self._enqueue, records)

    def stop(self, timeout=10.0):
        """Stop sending; what is not acknowledged stays in the spool."""
        if self._thread is None or self._stopped:
            return
        self._stopped = True
        try:
            future = asyncio.run_coroutine_threadsafe(self._shutdown(),
                                                      self._loop)
            future.result(timeout)
        except Exception as exc:  # the loop goes on stopping regardless
            LOG.warning('Charging client shutdown: %s', exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    def idle(self):
        """True when every spooled record has been acknowledged."""
        return self.spool.pending_count() == 0

    def wait_idle(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.01)
        return self.idle()

    # -- hooks ---------------------------------------------------------------

    def _on_start(self):
        """Called in the loop before it runs."""

    async def _shutdown(self):
        """Called in the loop by stop(), before it stops."""

    def _on_close(self):
        """Called in the loop once it stopped (close the sockets)."""

    def _pump(self):
        """Send what the queue holds, as far as the servers take it."""
        raise NotImplementedError

    # -- the loop ------------------------------------------------------------

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._loop.call_later(ADOPT_INTERVAL, self._adopt_orphans)
        self._on_start()
        self._loop.call_soon(self._pump)
        try:
            self._loop.run_forever()
        finally:
            self._flush_acks()
            self._on_close()
            self._loop.close()

    def _enqueue(self, records):
        self._queue.extend(records)
        self._pump()

    def _adopt_orphans(self):
        try:
            self._queue.extend(self.spool.adopt_orphans())
        except OSError as exc:
            LOG.error('Cannot look for orphaned spool lanes: %s', exc)
        self._loop.call_later(ADOPT_INTERVAL, self._adopt_orphans)
        self._pump()

    def _acknowledged(self, record):
        self._acked.append(record)
        if self._flush_handle is None:
            self._flush_handle = self._loop.call_later(ACK_BATCH_DELAY,
                                                       self._flush_acks)

    def _flush_acks(self):
        self._flush_handle = None
        acked, self._acked = self._acked, []
        if not acked:
            return
        try:
            self.spool.ack(acked)
        except OSError as exc:
            LOG.error('Cannot record %d acknowledgement(s) in the spool '
                      '(%s): they will be sent again after a restart',
                      len(acked), exc)
        self.stats['delivered'] += len(acked)

    def _requeue(self, record):
        record.resend = True
        self._queue.appendleft(record)

    def _park(self, record, reason):
        """Move a record that can never be delivered out of the way."""
        self.stats['parked'] += 1
        try:
            self.spool.quarantine_record(record, reason)
        except OSError as exc:
            LOG.error('Record %s %s and cannot be parked (%s); it stays in '
                      'the spool', record.id, reason, exc)
