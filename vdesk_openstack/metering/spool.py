"""Durable spool of accounting records not yet acknowledged.

Billing tolerates no lost record, so a record is on disk before it is sent
and leaves the disk only after the charging server acknowledged it.

Layout of the spool directory::

    lane-<n>/lock               flock()ed by the publisher that owns the lane
    lane-<n>/<segment>.seg      records of one publish call, never modified
    lane-<n>/<segment>.ack      ids of the acknowledged records, appended
    quarantine/                 what could not be read, with the reason
    quarantine/records.jsonl    parked records (see :mod:`.parked`)
    quarantine/records.lock     flock()ed while records.jsonl changes

A *segment* holds the records of one ``publish_events`` call: one write, one
``fsync`` and one atomic rename per call instead of per record (an fsync
costs ~0.3 ms here, more than sending a record). Each line is
``<crc32 hex> <json>`` so a damaged line is detected. Acknowledgements are
appended to the segment's ``.ack`` file and fsynced in batches; once every
record of a segment is acknowledged both files go (the ``.seg`` first, so a
crash in between leaves an orphan ``.ack`` that is cleaned, never a segment
without its acknowledgements).

Each publisher process owns a *lane*, held by an exclusive ``flock``: several
Ceilometer workers may share one spool directory without sending each
other's records. The lock dies with its process, so a restarted publisher,
or any living one checking for orphans, adopts the lanes nobody holds and
resends what they contain.

What cannot be read (an unreadable file, a line failing its checksum or
not parsing) goes to ``quarantine/`` with an error in the log: it is never
silently dropped, and never blocks the records around it.
"""

import contextlib
import fcntl
import json
import os
import threading
import time
import uuid
import zlib

from oslo_log import log

LOG = log.getLogger(__name__)

SEGMENT_SUFFIX = '.seg'
ACK_SUFFIX = '.ack'
LANE_PREFIX = 'lane-'
PARKED_FILE = 'records.jsonl'
PARKED_LOCK = 'records.lock'


class SpoolError(Exception):
    """The spool directory cannot be used."""


class Record:
    """A spooled accounting record."""

    __slots__ = ('id', 'attributes', 'spooled_at', 'segment', 'resend',
                 'packet')

    def __init__(self, record_id, attributes, spooled_at, segment=None,
                 resend=False):
        self.id = record_id
        self.attributes = attributes
        self.spooled_at = spooled_at
        self.segment = segment
        # True once the record may have been sent before: it then carries
        # Acct-Delay-Time.
        self.resend = resend
        self.packet = None  # the encoded request, kept by the client


class _Segment:
    def __init__(self, lane, name, pending):
        self.lane = lane
        self.name = name
        self.pending = pending  # ids not yet acknowledged
        self.ack_fd = None

    @property
    def path(self):
        return os.path.join(self.lane, self.name + SEGMENT_SUFFIX)

    @property
    def ack_path(self):
        return os.path.join(self.lane, self.name + ACK_SUFFIX)


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd, data):
    """Write all of ``data`` to ``fd``.

    os.write may write less than it is given (a signal, a full disk's
    last bytes); a record cut short would be lost at the next restart.
    """
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError('write to the spool made no progress')
        view = view[written:]


def _encode_line(record):
    body = json.dumps({'id': record.id, 'at': record.spooled_at,
                       'attrs': record.attributes},
                      separators=(',', ':'), sort_keys=True).encode()
    return b'%08x %s\n' % (zlib.crc32(body), body)


def _decode_line(line):
    crc, sep, body = line.rstrip(b'\n').partition(b' ')
    if not sep or len(crc) != 8:
        raise ValueError('no checksum')
    if int(crc, 16) != zlib.crc32(body):
        raise ValueError('checksum mismatch')
    data = json.loads(body)
    if not (isinstance(data, dict) and isinstance(data.get('id'), str)
            and isinstance(data.get('attrs'), dict)
            and isinstance(data.get('at'), (int, float))):
        raise ValueError('not a spooled record')
    return data


def _read_acks(path):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        return set()
    # A crash while appending may leave a last line without its newline:
    # it is not an acknowledgement (the record is sent again).
    return {ln.decode('utf-8', 'replace')
            for ln in data.split(b'\n')[:-1] if ln}


@contextlib.contextmanager
def parked_lock(path):
    """Hold the lock of the parked records of spool directory ``path``.

    Publishers append to ``records.jsonl`` and ``vdesk-manage charging
    parked replay`` rewrites it; the lock keeps an append from being lost
    in a rewrite.
    """
    fd = os.open(os.path.join(path, 'quarantine', PARKED_LOCK),
                 os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class Spool:
    """The records of one publisher in ``path``; see the module doc."""

    def __init__(self, path):
        self.path = path
        self.quarantine_dir = os.path.join(path, 'quarantine')
        try:
            os.makedirs(self.quarantine_dir, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise SpoolError('cannot create spool directory %s: %s'
                             % (path, exc))
        if not os.access(path, os.W_OK | os.X_OK):
            raise SpoolError('spool directory %s is not writable' % path)
        self._lanes = {}  # lane path -> lock fd
        self._segments = {}  # segment path -> _Segment
        self._known = set()  # ids of records in the spool
        self._loaded = set()  # lanes whose files were read
        # publish calls append from Ceilometer's threads while the client
        # acknowledges from its own
        self._lock = threading.RLock()
        self.lane = self._claim_lane()

    # -- lanes -------------------------------------------------------------

    def _try_lock(self, lane):
        fd = os.open(os.path.join(lane, 'lock'), os.O_RDWR | os.O_CREAT,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lanes[lane] = fd
        return True

    def _lane_paths(self):
        return sorted(os.path.join(self.path, n) for n in os.listdir(self.path)
                      if n.startswith(LANE_PREFIX))

    def _claim_lane(self):
        for lane in self._lane_paths():
            if lane not in self._lanes and self._try_lock(lane):
                return lane
        while True:
            lane = os.path.join(self.path, LANE_PREFIX + uuid.uuid4().hex[:8])
            os.mkdir(lane, 0o700)
            if self._try_lock(lane):
                return lane

    def adopt_orphans(self):
        """Lock the lanes nobody holds and return their pending records.

        The first call also returns the records of this publisher's own lane
        (left by a previous process).
        """
        with self._lock:
            return self._adopt_orphans()

    def _adopt_orphans(self):
        for lane in self._lane_paths():
            if lane not in self._lanes and self._try_lock(lane):
                LOG.info('Adopting spool lane %s of a stopped publisher', lane)
        records = []
        for lane in list(self._lanes):
            if lane not in self._loaded:
                self._loaded.add(lane)
                records.extend(self._load_lane(lane))
        return records

    # -- loading -----------------------------------------------------------

    def _quarantine(self, path, reason):
        dest = os.path.join(self.quarantine_dir, '%s-%s' % (
            os.path.basename(os.path.dirname(path)), os.path.basename(path)))
        try:
            os.rename(path, dest)
        except OSError as exc:
            LOG.error('Spool file %s is unusable (%s) and cannot be moved '
                      'to quarantine (%s); it stays where it is',
                      path, reason, exc)
            return
        with open(dest + '.reason', 'w') as f:
            f.write(reason + '\n')
        LOG.error('Spool file %s is unusable (%s): moved to %s for '
                  'inspection', path, reason, dest)

    def _load_lane(self, lane):
        records = []
        names = sorted(os.listdir(lane))
        for name in names:
            path = os.path.join(lane, name)
            if name.startswith('.') and name.endswith('.tmp'):
                # a write that never completed: its publish call failed
                os.unlink(path)
            elif name.endswith(ACK_SUFFIX):
                if name[:-len(ACK_SUFFIX)] + SEGMENT_SUFFIX not in names:
                    os.unlink(path)
            elif name.endswith(SEGMENT_SUFFIX):
                if path not in self._segments:
                    records.extend(self._load_segment(lane, name))
        return records

    def _load_segment(self, lane, name):
        path = os.path.join(lane, name)
        try:
            with open(path, 'rb') as f:
                lines = f.read().split(b'\n')
        except OSError as exc:
            self._quarantine(path, 'unreadable: %s' % exc)
            return []
        segment = _Segment(lane, name[:-len(SEGMENT_SUFFIX)], set())
        acked = _read_acks(segment.ack_path)
        records, bad = [], []
        for number, line in enumerate(lines[:-1], 1):
            try:
                data = _decode_line(line)
            except ValueError as exc:
                bad.append('line %d: %s' % (number, exc))
                continue
            if data['id'] in acked or data['id'] in self._known:
                continue
            records.append(Record(data['id'], data['attrs'], data['at'],
                                  resend=True))
        if lines[-1]:
            bad.append('line %d: truncated' % len(lines))
        if bad:
            # Keep the damaged file for inspection and respool the good
            # records, so the damage is reported once, not on every start.
            self._quarantine(path, '; '.join(bad))
            if records:
                self.append(records, resend=True)
            if os.path.exists(segment.ack_path):
                os.unlink(segment.ack_path)
            return records
        if not records:
            self._remove(segment)
            return []
        segment.pending = {r.id for r in records}
        for r in records:
            r.segment = segment
            self._known.add(r.id)
        self._segments[segment.path] = segment
        return records

    # -- writing -----------------------------------------------------------

    def append(self, records, resend=False):
        """Write ``records`` durably; return those not already spooled.

        A record whose id is in the spool already (a notification
        delivered twice) is skipped.
        """
        with self._lock:
            return self._append(records, resend)

    def _append(self, records, resend):
        fresh, seen = [], set()
        for r in records:
            if r.id not in self._known and r.id not in seen:
                seen.add(r.id)
                fresh.append(r)
        if not fresh:
            return []
        name = '%020d-%s' % (time.time_ns(), uuid.uuid4().hex[:8])
        segment = _Segment(self.lane, name, {r.id for r in fresh})
        tmp = os.path.join(self.lane, '.%s.tmp' % name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, b''.join(_encode_line(r) for r in fresh))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, segment.path)
        _fsync_dir(self.lane)
        for r in fresh:
            r.segment = segment
            r.resend = r.resend or resend
            self._known.add(r.id)
        self._segments[segment.path] = segment
        return fresh

    def ack(self, records):
        """Record that the server acknowledged ``records`` (durably)."""
        with self._lock:
            self._ack(records)

    def _ack(self, records):
        by_segment = {}
        removed_from = set()
        for r in records:
            by_segment.setdefault(r.segment, []).append(r)
        for segment, acked in by_segment.items():
            segment.pending.difference_update(r.id for r in acked)
            self._known.difference_update(r.id for r in acked)
            if not segment.pending:
                self._remove(segment)
                removed_from.add(segment.lane)
                continue
            if segment.ack_fd is None:
                segment.ack_fd = os.open(
                    segment.ack_path,
                    os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            _write_all(segment.ack_fd,
                       ''.join(r.id + '\n' for r in acked).encode())
            os.fsync(segment.ack_fd)
        # Make the removals durable too: a segment coming back after a
        # crash without its last acknowledgements would be sent twice.
        for lane in removed_from:
            _fsync_dir(lane)

    def _remove(self, segment):
        if segment.ack_fd is not None:
            os.close(segment.ack_fd)
            segment.ack_fd = None
        for path in (segment.path, segment.ack_path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self._segments.pop(segment.path, None)

    def quarantine_record(self, record, reason, replayable=True):
        """Move a record that can never be sent out of the way, with an error.

        It is appended to ``quarantine/records.jsonl`` (durably) before it
        leaves its segment. ``replayable``: whether an operator may send
        it again as it is (a record the server refused, not an event that
        made no record).
        """
        line = json.dumps({'id': record.id, 'at': record.spooled_at,
                           'attrs': record.attributes, 'reason': reason,
                           'parked_at': time.time(),
                           'replayable': replayable},
                          sort_keys=True, default=str)
        with self._lock, parked_lock(self.path):
            fd = os.open(os.path.join(self.quarantine_dir, PARKED_FILE),
                         os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                _write_all(fd, line.encode() + b'\n')
                os.fsync(fd)
            finally:
                os.close(fd)
            if record.segment is not None:
                self._ack([record])
        LOG.error('Accounting record %s %s: moved to %s/records.jsonl',
                  record.id, reason, self.quarantine_dir)

    def pending_count(self):
        return len(self._known)

    def close(self):
        with self._lock:
            self._close()

    def _close(self):
        for segment in self._segments.values():
            if segment.ack_fd is not None:
                os.close(segment.ack_fd)
                segment.ack_fd = None
        for fd in self._lanes.values():
            os.close(fd)  # releases the flock
        self._lanes.clear()
