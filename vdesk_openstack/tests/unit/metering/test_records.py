"""Session events to RADIUS attributes."""

import datetime

from ceilometer.event import models
import testtools

from vdesk_openstack.metering import records

T = models.Trait


def event(event_type='vdesk.session.update', traits=None, generated=None):
    if traits is None:
        traits = [T('session_id', T.TEXT_TYPE, 'sess-1'),
                  T('subscriber', T.TEXT_TYPE, '001010123456789')]
    return models.Event('msg-1', event_type,
                        generated or datetime.datetime(2026, 1, 2, 3, 4, 5),
                        traits, {})


class RecordFromEventTest(testtools.TestCase):

    def test_status_types(self):
        for event_type, status in [('vdesk.session.start', 'Start'),
                                   ('vdesk.session.update', 'Interim-Update'),
                                   ('vdesk.session.end', 'Stop')]:
            _id, attrs = records.record_from_event(event(event_type), 'nas')
            self.assertEqual(status, attrs['Acct-Status-Type'])

    def test_all_traits(self):
        traits = [T('session_id', T.TEXT_TYPE, 'sess-1'),
                  T('subscriber', T.TEXT_TYPE, '001010123456789'),
                  T('instance_id', T.TEXT_TYPE, 'inst'),
                  T('project_id', T.TEXT_TYPE, 'proj'),
                  T('vcpus', T.INT_TYPE, 2),
                  T('memory_mb', T.INT_TYPE, 4096),
                  T('disk_gb', T.INT_TYPE, 40),
                  T('priority', T.TEXT_TYPE, 'gold'),
                  T('duration_s', T.INT_TYPE, 600),
                  T('cpu_util', T.FLOAT_TYPE, 7.125),
                  T('terminate_cause', T.TEXT_TYPE, 'logout')]
        record_id, attrs = records.record_from_event(
            event('vdesk.session.end', traits), 'ceilometer-1')
        self.assertEqual('msg-1', record_id)
        self.assertEqual({
            'Acct-Status-Type': 'Stop',
            'NAS-Identifier': 'ceilometer-1',
            'Event-Timestamp': 1767323045,
            'Vdesk-Record-Id': 'msg-1',
            'User-Name': '001010123456789',
            'Acct-Session-Id': 'sess-1',
            'Acct-Session-Time': 600,
            'Vdesk-Instance-Id': 'inst',
            'Vdesk-Project-Id': 'proj',
            'Vdesk-VCPUs': 2,
            'Vdesk-Memory-MB': 4096,
            'Vdesk-Disk-GB': 40,
            'Vdesk-Priority': 'gold',
            'Vdesk-CPU-Util': '7.12',
            'Vdesk-Terminate-Cause': 'logout',
        }, attrs)

    def test_aware_and_string_timestamps(self):
        plus_one = datetime.timezone(datetime.timedelta(hours=1))
        aware = datetime.datetime(2026, 1, 2, 4, 4, 5, tzinfo=plus_one)
        for generated in (aware, '2026-01-02T03:04:05'):
            _id, attrs = records.record_from_event(
                event(generated=generated), 'nas')
            self.assertEqual(1767323045, attrs['Event-Timestamp'])

    def test_missing_required_trait(self):
        exc = self.assertRaises(
            records.InvalidEvent, records.record_from_event,
            event(traits=[T('session_id', T.TEXT_TYPE, 's')]), 'nas')
        self.assertIn('subscriber', str(exc))

    def test_not_a_session_event(self):
        self.assertFalse(records.is_session_event('compute.instance.update'))
        self.assertRaises(records.InvalidEvent, records.record_from_event,
                          event('compute.instance.update'), 'nas')

    def test_values_that_do_not_fit(self):
        base = [T('session_id', T.TEXT_TYPE, 's'),
                T('subscriber', T.TEXT_TYPE, 'u')]
        for bad in (T('vcpus', T.INT_TYPE, -1),
                    T('memory_mb', T.INT_TYPE, 2 ** 32),
                    T('disk_gb', T.TEXT_TYPE, 'forty'),
                    T('priority', T.TEXT_TYPE, 'x' * 254)):
            self.assertRaises(records.InvalidEvent,
                              records.record_from_event,
                              event(traits=base + [bad]), 'nas')
