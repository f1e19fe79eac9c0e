"""Session events as the desktop service's notifications become in Ceilometer.

Shared by the functional tests, the child process they kill and the
benchmark: event ``i`` of a run has the message id ``<prefix>-<i>`` so the
records in FreeRADIUS's detail file can be matched one by one.
"""

import datetime

from ceilometer.event import models

KINDS = ('start', 'update', 'end')

_TYPES = {int: models.Trait.INT_TYPE, float: models.Trait.FLOAT_TYPE,
          str: models.Trait.TEXT_TYPE}


def session_event(kind, message_id, session_id, subscriber, **traits):
    values = dict(session_id=session_id, subscriber=subscriber, **traits)
    return models.Event(
        message_id, 'vdesk.session.' + kind,
        datetime.datetime(2026, 1, 2, 3, 4, 5),
        [models.Trait(name, _TYPES[type(value)], value)
         for name, value in values.items()],
        {})


def charged_sessions(count, prefix):
    """``count`` events: sessions of a start, an update and an end each."""
    events = []
    for i in range(count):
        kind = KINDS[i % 3]
        session = '%s-session-%d' % (prefix, i // 3)
        traits = dict(instance_id='3f0c2b8e-8f1d-4b0e-9b7c-%012d' % (i // 3),
                      project_id='6d2a1f0e9c8b4a7d8e6f5a4b3c2d1e0f',
                      vcpus=2, memory_mb=4096, disk_gb=40, priority='gold')
        if kind != 'start':
            traits.update(duration_s=300 * (i % 3), cpu_util=12.5)
        if kind == 'end':
            traits['terminate_cause'] = 'logout'
        events.append(session_event(kind, '%s-%06d' % (prefix, i), session,
                                    '0010100000%05d' % (i // 3 % 100000),
                                    **traits))
    return events
