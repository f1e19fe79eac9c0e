"""Session events to Diameter Rf accounting records (3GPP TS 32.299).

Each desktop session is one Diameter accounting session: its
``vdesk.session.start``, ``.update`` and ``.end`` events become
Accounting-Requests with Accounting-Record-Type START_RECORD (2),
INTERIM_RECORD (3) and STOP_RECORD (4), all with the same Session-Id.

Accounting-Record-Number is the event's ``record_number`` trait: the
desktop service numbers each session's records 0 (START), 1, 2, ...
(INTERIMs) and n + 1 (STOP) in its database, in the same transaction that
queues the record, so the numbers are consecutive and the same whichever
notification agent, spool or restart carries a record; the pair Session-Id
and Accounting-Record-Number is the CDF's key to drop a duplicate.

An event without that trait (from a desktop service older than the
numbering) gets a number derived from the event alone
(:func:`record_number`), never from a counter of the publisher: with ``t``
its Acct-Session-Time in whole seconds, START 0, INTERIM ``2t + 1`` (the
desktop service sends one at least a second after the previous one) and
STOP ``2t + 2`` (odd against even: never an INTERIM's). Those increase
but are not consecutive (RFC 6733 section 9.8.3 asks for uniqueness
within the session).

A record is a plain dict of AVP names to JSON values, spooled as it is and
encoded by :mod:`.diameter_client` when sent (:func:`encode_avps`). The
names and codes are those of RFC 6733, RFC 7155 (NASREQ), RFC 4006 and
3GPP TS 32.299; the ``Vdesk-*`` AVPs are vendor-specific (vendor 32473,
the enterprise number of the RADIUS dictionary) without the M bit, so a
CDF that does not know them ignores them.
"""

import struct

from vdesk_openstack.metering import records as radius_records

RECORD_TYPES = {
    'vdesk.session.start': 2,   # START_RECORD
    'vdesk.session.update': 3,  # INTERIM_RECORD
    'vdesk.session.end': 4,     # STOP_RECORD
}
ACCT_APPLICATION_ID = 3  # Diameter base accounting
VENDOR_3GPP = 10415
VENDOR_VDESK = 32473
NTP_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01

UTF8, OCTETS, U32, U64, TIME, GROUPED = range(6)
FLAG_V, FLAG_M = 0x80, 0x40

# name -> (code, vendor, type, mandatory bit)
AVPS = {
    'User-Name': (1, 0, UTF8, True),
    'Acct-Session-Time': (46, 0, U32, True),
    'Acct-Session-Id': (44, 0, OCTETS, True),
    'Event-Timestamp': (55, 0, TIME, True),
    'Acct-Interim-Interval': (85, 0, U32, True),
    'Acct-Application-Id': (259, 0, U32, True),
    'Session-Id': (263, 0, UTF8, True),
    'Origin-Host': (264, 0, OCTETS, True),
    'Destination-Realm': (283, 0, OCTETS, True),
    'Destination-Host': (293, 0, OCTETS, True),
    'Termination-Cause': (295, 0, U32, True),
    'Origin-Realm': (296, 0, OCTETS, True),
    'Accounting-Input-Octets': (363, 0, U64, True),
    'Accounting-Output-Octets': (364, 0, U64, True),
    'Subscription-Id': (443, 0, GROUPED, True),
    'Subscription-Id-Data': (444, 0, UTF8, True),
    'Subscription-Id-Type': (450, 0, U32, True),
    'Accounting-Record-Type': (480, 0, U32, True),
    'Accounting-Record-Number': (485, 0, U32, True),
    'Service-Information': (873, VENDOR_3GPP, GROUPED, True),
    'Vdesk-Instance-Id': (1, VENDOR_VDESK, UTF8, False),
    'Vdesk-Project-Id': (2, VENDOR_VDESK, UTF8, False),
    'Vdesk-VCPUs': (3, VENDOR_VDESK, U32, False),
    'Vdesk-Memory-MB': (4, VENDOR_VDESK, U32, False),
    'Vdesk-Disk-GB': (5, VENDOR_VDESK, U32, False),
    'Vdesk-Priority': (6, VENDOR_VDESK, UTF8, False),
    'Vdesk-CPU-Util': (7, VENDOR_VDESK, UTF8, False),
    'Vdesk-Terminate-Cause': (8, VENDOR_VDESK, UTF8, False),
    'Vdesk-Record-Id': (9, VENDOR_VDESK, UTF8, False),
}

SUBSCRIPTION_ID_IMSI = 1  # END_USER_IMSI

# The desktop service's causes (RADIUS Acct-Terminate-Cause names) as
# Termination-Cause values (RFC 7155 section 9.3.5: RADIUS value + 10).
TERMINATION_CAUSES = {
    'logout': 1,  # DIAMETER_LOGOUT
    'User-Request': 11,
    'Lost-Service': 13,
    'Idle-Timeout': 14,
    'Session-Timeout': 15,
    'Admin-Reset': 16,
}

# trait -> AVP, beyond those every record has (User-Name, Session-Id):
# the vendor AVPs carry the names and values of the RADIUS attributes.
TRAIT_AVPS = dict(
    {trait: avp for trait, avp in radius_records.TRAIT_ATTRIBUTES.items()
     if trait not in ('subscriber', 'session_id')},
    input_octets=('Accounting-Input-Octets', int),
    output_octets=('Accounting-Output-Octets', int))
U64_TRAITS = ('input_octets', 'output_octets')


class InvalidEvent(radius_records.InvalidEvent):
    """A session event that cannot become a Diameter record."""


def is_session_event(event_type):
    return event_type in RECORD_TYPES


def session_key(event):
    """(session id, event type) of a session event; raises InvalidEvent."""
    if event.event_type not in RECORD_TYPES:
        raise InvalidEvent('%s is not a vdesk session event'
                           % event.event_type)
    traits = {t.name: t.value for t in event.traits if t.value is not None}
    missing = [n for n in radius_records.REQUIRED_TRAITS if n not in traits]
    if missing:
        raise InvalidEvent('%s event %s lacks trait(s) %s' % (
            event.event_type, event.message_id, ', '.join(missing)))
    return str(traits['session_id']), traits


def _convert(name, avp, convert, value):
    try:
        converted = convert(value)
    except (TypeError, ValueError) as exc:
        raise InvalidEvent('trait %s=%r is not valid for %s: %s'
                           % (name, value, avp, exc))
    limit = 2 ** 64 if name in U64_TRAITS else 2 ** 32
    if isinstance(converted, int) and not 0 <= converted < limit:
        raise InvalidEvent('trait %s=%r does not fit the unsigned AVP %s'
                           % (name, value, avp))
    if isinstance(converted, str) and not converted:
        raise InvalidEvent('trait %s is empty' % name)
    return converted


def session_id(identity, vdesk_session):
    """The Diameter Session-Id of a desktop session (RFC 6733 8.8 form)."""
    return '%s;vdesk;%s' % (identity, vdesk_session)


def record_number(event_type, duration_s):
    """The number of a record whose event has no ``record_number``."""
    kind = RECORD_TYPES[event_type]
    if kind == 2:
        return 0
    return 2 * int(duration_s) + (1 if kind == 3 else 2)


def record_from_event(event, identity, interim_interval=None):
    """Return ``(record_id, avps)`` for a session event.

    Origin-Host, Origin-Realm and Destination-Realm are added when sent
    (the peer configuration may change while a record waits); Session-Id
    embeds ``identity`` (the publisher's session identity) at spooling
    time, so it is stable.

    :raises InvalidEvent: not a session event, or a trait does not fit.
    """
    vdesk_session, traits = session_key(event)
    imsi = _convert('subscriber', 'User-Name', str, traits['subscriber'])
    if event.event_type == 'vdesk.session.start':
        duration = 0
    elif 'duration_s' not in traits:
        raise InvalidEvent('%s event %s lacks trait duration_s (its '
                           'Accounting-Record-Number derives from it)'
                           % (event.event_type, event.message_id))
    else:
        duration = _convert('duration_s', 'Acct-Session-Time', int,
                            traits['duration_s'])
    if 'record_number' in traits:
        number = _convert('record_number', 'Accounting-Record-Number', int,
                          traits['record_number'])
    else:
        number = record_number(event.event_type, duration)
    if not 0 <= number < 2 ** 32:
        raise InvalidEvent('%s event %s: Accounting-Record-Number %d does '
                           'not fit 32 bits' % (
                               event.event_type, event.message_id, number))
    avps = {
        'Session-Id': session_id(identity, vdesk_session),
        'Accounting-Record-Type': RECORD_TYPES[event.event_type],
        'Accounting-Record-Number': number,
        'Acct-Application-Id': ACCT_APPLICATION_ID,
        'User-Name': imsi,
        'Acct-Session-Id': vdesk_session,
        'Event-Timestamp': radius_records._epoch_seconds(event.generated),
        'Service-Information': {'Subscription-Id': {
            'Subscription-Id-Type': SUBSCRIPTION_ID_IMSI,
            'Subscription-Id-Data': imsi}},
        'Vdesk-Record-Id': str(event.message_id),
    }
    if interim_interval and event.event_type != 'vdesk.session.end':
        avps['Acct-Interim-Interval'] = int(interim_interval)
    for name, (avp, convert) in TRAIT_AVPS.items():
        if name in traits:
            avps[avp] = _convert(name, avp, convert, traits[name])
    cause = TERMINATION_CAUSES.get(traits.get('terminate_cause'))
    if cause is not None and event.event_type == 'vdesk.session.end':
        avps['Termination-Cause'] = cause
    return str(event.message_id), avps


# -- encoding ---------------------------------------------------------------

def _encode_value(kind, value):
    if kind == UTF8:
        return value.encode('utf-8')
    if kind == OCTETS:
        return value.encode('utf-8') if isinstance(value, str) else value
    if kind == U32:
        return struct.pack('!I', value)
    if kind == U64:
        return struct.pack('!Q', value)
    if kind == TIME:
        return struct.pack('!I', (int(value) + NTP_OFFSET) % 2 ** 32)
    return encode_avps(value)


def encode_avp(name, value):
    try:
        code, vendor, kind, mandatory = AVPS[name]
    except KeyError:
        raise ValueError('unknown AVP %s' % name)
    data = _encode_value(kind, value)
    flags = FLAG_M if mandatory else 0
    if vendor:
        flags |= FLAG_V
        head = struct.pack('!IIII', code, (flags << 24) | (12 + len(data)),
                           vendor, 0)[:12]
    else:
        head = struct.pack('!II', code, (flags << 24) | (8 + len(data)))
    return head + data + b'\0' * (-len(data) % 4)


def encode_avps(avps):
    """The wire form of a dict of AVP names to values (grouped: dicts)."""
    return b''.join(encode_avp(name, value) for name, value in avps.items())
