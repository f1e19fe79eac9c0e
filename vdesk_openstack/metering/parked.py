"""Parked charging records: list them, and replay them once the cause is fixed.

A record the charging server refused for good (Diameter Result-Code 5xxx)
or that could not even be encoded is *parked*: appended, with the reason,
to ``quarantine/records.jsonl`` of its spool directory (:mod:`.spool`),
never dropped. ``vdesk-manage charging parked list`` shows them and
``vdesk-manage charging parked replay`` sends chosen ones again.

Replay hands the records back to the publishers through the spool's own
mechanism: they are written durably into a lane nobody holds (a new one,
or the lane of a stopped publisher) and only then removed from
``records.jsonl``. A running publisher adopts such a lane within 30
seconds (:data:`.sender.ADOPT_INTERVAL`), a stopped one when it starts,
and sends the records as they were parked: same Session-Id and
Accounting-Record-Number, with the T flag. A session event that made no
record (it lacked a trait) is listed but cannot be replayed.

``records.jsonl`` is rewritten under the lock the publishers take to
append to it, so a record parked meanwhile is kept.
"""

import json
import os
import pwd

from oslo_config import cfg

from vdesk_openstack.conf import metering as metering_conf
from vdesk_openstack.metering import spool as charging_spool


class ParkedError(Exception):
    """The parked records cannot be read or replayed as asked."""


def spool_dir_from_config(config_files):
    """``[vdesk_diameter] spool_dir`` as Ceilometer's configuration sets it.

    ``config_files``: ceilometer.conf paths; none means the files
    Ceilometer itself would read (``/etc/ceilometer/ceilometer.conf``).
    """
    conf = cfg.ConfigOpts()
    metering_conf.register_opts(conf)
    conf([], project='ceilometer', default_config_files=config_files or None)
    return conf.vdesk_diameter.spool_dir


def _parked_path(spool_dir):
    if not os.path.isdir(spool_dir):
        raise ParkedError('%s is not a spool directory (give the publisher '
                          'URL\'s spool with --spool)' % spool_dir)
    return os.path.join(spool_dir, 'quarantine', charging_spool.PARKED_FILE)


def _read(path):
    """(entries, lines): the parsed records and the file's raw lines."""
    try:
        with open(path, 'rb') as f:
            lines = f.read().splitlines(keepends=True)
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        raise ParkedError('cannot read %s: %s' % (path, exc))
    entries = []
    for number, line in enumerate(lines, 1):
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or 'id' not in data:
                raise ValueError('not a parked record')
        except ValueError as exc:
            data = {'id': None, 'line': number,
                    'reason': 'unreadable line: %s' % exc,
                    'replayable': False}
        data.setdefault('replayable', set(data.get('attrs') or {})
                        != {'event'})
        entries.append(data)
    return entries, lines


def list_parked(spool_dir):
    """The parked records of ``spool_dir``, oldest first."""
    entries, _lines = _read(_parked_path(spool_dir))
    return [{'id': e['id'], 'reason': e.get('reason'),
             'spooled_at': e.get('at'), 'parked_at': e.get('parked_at'),
             'replayable': e['replayable'], 'attrs': e.get('attrs')}
            for e in entries]


def _check_owner(spool_dir):
    # Files made by another user (root) would be unreadable by the
    # publisher: its lanes and records are its own user's.
    owner = os.stat(spool_dir).st_uid
    if owner != os.geteuid():
        try:
            name = pwd.getpwuid(owner).pw_name
        except KeyError:
            name = str(owner)
        raise ParkedError('run this as the owner of %s (%s), the user of '
                          'the notification agent, e.g. sudo -u %s '
                          'vdesk-manage ...' % (spool_dir, name, name))


def _choose(entries, ids):
    if ids is None:
        return [e for e in entries if e['replayable']]
    known = {e['id']: e for e in entries}
    unknown = sorted(set(ids) - set(known))
    if unknown:
        raise ParkedError('no parked record %s (see "charging parked '
                          'list")' % ', '.join(unknown))
    refused = sorted(i for i in set(ids) if not known[i]['replayable'])
    if refused:
        raise ParkedError('record(s) %s cannot be replayed: %s'
                          % (', '.join(refused), known[refused[0]]['reason']))
    return [e for e in entries if e['id'] in set(ids)]


def replay(spool_dir, ids=None):
    """Put parked records back in the spool; ``ids`` None: every one.

    :returns: dict of the ids replayed, those kept (not replayable) and
        the lane that holds the records now.
    :raises ParkedError: an unknown or unreplayable id, a spool that is
        not there or not the caller's.
    """
    path = _parked_path(spool_dir)
    _check_owner(spool_dir)
    with charging_spool.parked_lock(spool_dir):
        entries, lines = _read(path)
        chosen = _choose(entries, ids)
        if not chosen:
            return {'replayed': [], 'kept': [e['id'] for e in entries]}
        spool = charging_spool.Spool(spool_dir)
        try:
            spool.append([charging_spool.Record(e['id'], e['attrs'],
                                                e.get('at') or 0)
                          for e in chosen], resend=True)
            lane = spool.lane
        finally:
            spool.close()  # unlocked: a publisher adopts the lane
        chosen_ids = {id(e) for e in chosen}
        remaining = [line for e, line in zip(entries, lines)
                     if id(e) not in chosen_ids]
        tmp = path + '.tmp'
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'wb') as f:
            f.write(b''.join(remaining))
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
        charging_spool._fsync_dir(os.path.dirname(path))
    return {'replayed': [e['id'] for e in chosen],
            'kept': [e['id'] for e in entries if id(e) not in chosen_ids],
            'lane': lane}
