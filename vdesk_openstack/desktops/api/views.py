"""JSON views of sessions and desktops.

``desktop_id`` is the Nova instance UUID everywhere: the
identifier a subscriber and an operator can look up in Nova. The
service's own record ids stay inside the service.
"""


def _time(value):
    if value is None:
        return None
    return value.replace(microsecond=0).isoformat() + 'Z'


def session(record, desktop):
    """A session record (an open or just ended one) and its desktop."""
    return {
        'id': record['id'],
        'desktop_id': desktop['instance_id'] if desktop else None,
        'status': record['status'],
        'restored': bool(record['restored']),
        'rebuilt': bool(record['rebuilt']),
        'console_type': record['console_type'],
        'capabilities': record['capabilities'],
        'started_at': _time(record['started_at']),
        'active_at': _time(record['active_at']),
        'ended_at': _time(record['ended_at']),
        'fault': record['fault'],
    }


def desktop(record, open_session=None):
    """A subscriber -> instance mapping; with its open session if given."""
    view = {
        'subscriber': record['subscriber'],
        'desktop_id': record['instance_id'],
        'status': record['status'],
        'plan': record['plan'],
        'user_id': record['user_id'],
        'generation': record['generation'],
        'recovery': record.get('recovery'),
        'fault': record['fault'],
        'created_at': _time(record['created_at']),
        'updated_at': _time(record['updated_at']),
    }
    if open_session is not False:
        view['session'] = (session(open_session, record)
                           if open_session else None)
    return view
