"""Session events to RADIUS accounting records.

The desktop service's ``vdesk.session.start``, ``.update`` and ``.end``
events become RFC 2866 Accounting-Request records with Acct-Status-Type
Start, Interim-Update and Stop. A record is a plain dict of RADIUS
attribute names (those of the shipped dictionaries) to ``str``/``int``
values, so it can be spooled as JSON and encoded by pyrad later.

Acct-Delay-Time is not part of a record: it depends on when the record is
sent and is added by the client on resends.
"""

import calendar
import datetime

STATUS_TYPES = {
    'vdesk.session.start': 'Start',
    'vdesk.session.update': 'Interim-Update',
    'vdesk.session.end': 'Stop',
}

# trait name -> (RADIUS attribute, conversion)
TRAIT_ATTRIBUTES = {
    'subscriber': ('User-Name', str),
    'session_id': ('Acct-Session-Id', str),
    'duration_s': ('Acct-Session-Time', int),
    'instance_id': ('Vdesk-Instance-Id', str),
    'project_id': ('Vdesk-Project-Id', str),
    'vcpus': ('Vdesk-VCPUs', int),
    'memory_mb': ('Vdesk-Memory-MB', int),
    'disk_gb': ('Vdesk-Disk-GB', int),
    'priority': ('Vdesk-Priority', str),
    'cpu_util': ('Vdesk-CPU-Util', lambda v: '%.2f' % float(v)),
    'terminate_cause': ('Vdesk-Terminate-Cause', str),
}

REQUIRED_TRAITS = ('subscriber', 'session_id')

# RFC 2865: a string attribute holds at most 253 octets.
MAX_STRING_OCTETS = 253


class InvalidEvent(ValueError):
    """A session event that cannot become an accounting record."""


def is_session_event(event_type):
    return event_type in STATUS_TYPES


def _epoch_seconds(when):
    if isinstance(when, str):
        when = datetime.datetime.fromisoformat(when)
    if when.tzinfo is None:
        # Ceilometer's timestamps are naive UTC.
        return calendar.timegm(when.timetuple())
    return int(when.timestamp())


def _convert(name, attribute, convert, value):
    try:
        converted = convert(value)
    except (TypeError, ValueError) as exc:
        raise InvalidEvent('trait %s=%r is not valid for %s: %s'
                           % (name, value, attribute, exc))
    if isinstance(converted, int) and not 0 <= converted < 2 ** 32:
        raise InvalidEvent('trait %s=%r does not fit the 32-bit unsigned '
                           'RADIUS integer %s' % (name, value, attribute))
    if isinstance(converted, str):
        size = len(converted.encode('utf-8'))
        if not 0 < size <= MAX_STRING_OCTETS:
            raise InvalidEvent('trait %s is %d octets; %s holds 1 to %d'
                               % (name, size, attribute, MAX_STRING_OCTETS))
    return converted


def record_from_event(event, nas_identifier):
    """Return ``(record_id, attributes)`` for a Ceilometer session event.

    ``record_id`` is the event's message id: a notification delivered twice
    gives the same id, and the id travels as Vdesk-Record-Id so the charging
    server can drop a record it has already seen.

    :raises InvalidEvent: the event is not a session event or lacks a
        required trait.
    """
    status = STATUS_TYPES.get(event.event_type)
    if status is None:
        raise InvalidEvent('%s is not a vdesk session event'
                           % event.event_type)
    traits = {t.name: t.value for t in event.traits
              if t.value is not None}
    missing = [name for name in REQUIRED_TRAITS if name not in traits]
    if missing:
        raise InvalidEvent('%s event %s lacks trait(s) %s' % (
            event.event_type, event.message_id, ', '.join(missing)))
    attributes = {
        'Acct-Status-Type': status,
        'NAS-Identifier': nas_identifier,
        'Event-Timestamp': _epoch_seconds(event.generated),
        'Vdesk-Record-Id': str(event.message_id),
    }
    for name, (attribute, convert) in TRAIT_ATTRIBUTES.items():
        if name in traits:
            attributes[attribute] = _convert(name, attribute, convert,
                                             traits[name])
    return str(event.message_id), attributes
