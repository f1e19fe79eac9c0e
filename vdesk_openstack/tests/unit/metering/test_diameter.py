"""Pure parts of the diameter:// publisher: records, encoding, options."""

import struct
import urllib.parse

from ceilometer import service
from diameter.message import Message
import fixtures
import testtools

from vdesk_openstack.metering import diameter
from vdesk_openstack.metering import diameter_client
from vdesk_openstack.metering import diameter_records as drec
from vdesk_openstack.tests.functional.metering import events


class RecordTest(testtools.TestCase):

    def test_record_types_and_avps(self):
        start, update, end = events.charged_sessions(3, 'u')
        _id, avps = drec.record_from_event(start, 'pub.example.net', 300)
        self.assertEqual('pub.example.net;vdesk;u-session-0',
                         avps['Session-Id'])
        self.assertEqual((2, 0, 3, 300), (
            avps['Accounting-Record-Type'],
            avps['Accounting-Record-Number'], avps['Acct-Application-Id'],
            avps['Acct-Interim-Interval']))
        self.assertNotIn('Acct-Session-Time', avps)
        self.assertEqual({'Subscription-Id': {
            'Subscription-Id-Type': 1,
            'Subscription-Id-Data': '001010000000000'}},
            avps['Service-Information'])
        _id, avps = drec.record_from_event(update, 'pub.example.net', 300)
        self.assertEqual((3, 601, 300), (avps['Accounting-Record-Type'],
                                         avps['Accounting-Record-Number'],
                                         avps['Acct-Session-Time']))
        _id, avps = drec.record_from_event(end, 'pub.example.net', 300)
        self.assertEqual((4, 1, 1202), (avps['Accounting-Record-Type'],
                                        avps['Termination-Cause'],
                                        avps['Accounting-Record-Number']))
        self.assertNotIn('Acct-Interim-Interval', avps)

    def test_invalid_event(self):
        event = events.session_event('update', 'm', 's', '00101',
                                     duration_s=-1)
        self.assertRaises(drec.InvalidEvent, drec.record_from_event, event,
                          'h', 0)
        event = events.charged_sessions(1, 'x')[0]
        event.traits = [t for t in event.traits if t.name != 'subscriber']
        self.assertRaises(drec.InvalidEvent, drec.session_key, event)

    def test_encoding_parses_back(self):
        event = events.charged_sessions(1, 'enc')[0]
        _id, avps = drec.record_from_event(event, 'h.example.net', 60)
        body = drec.encode_avps(avps)
        raw = struct.pack('!IIIII', (1 << 24) | (20 + len(body)),
                          (0xc0 << 24) | 271, 3, 1, 2) + body
        msg = Message.from_bytes(raw)
        self.assertEqual('h.example.net;vdesk;enc-session-0', msg.session_id)
        self.assertEqual(2, msg.accounting_record_type)
        self.assertEqual(0, msg.accounting_record_number)
        self.assertEqual('001010000000000', msg.user_name)
        self.assertEqual(1767323045, int(msg.event_timestamp.timestamp()))
        self.assertEqual(0, len(body) % 4)

    def test_scan_answer(self):
        body = (drec.encode_avp('Session-Id', 's') +
                struct.pack('!IIII', 268, (0x40 << 24) | 12, 5001, 0)[:12] +
                struct.pack('!II', 281, 8 + 3) + b'bad\0')
        raw = struct.pack('!IIIII', (1 << 24) | (20 + len(body)),
                          271, 3, 1, 2) + body
        self.assertEqual((5001, 'bad'), diameter_client._scan_answer(raw))


class RecordNumberTest(testtools.TestCase):
    """Accounting-Record-Number: the desktop service's, else the event's."""

    def test_the_desktop_services_number_is_used(self):
        numbers = []
        for kind, n, duration in (('start', 0, None), ('update', 1, 300),
                                  ('update', 2, 601), ('end', 3, 700)):
            traits = {'record_number': n}
            if duration is not None:
                traits['duration_s'] = duration
            event = events.session_event(kind, 'm%d' % n, 's', '00101',
                                         **traits)
            numbers.append(drec.record_from_event(event, 'h', 300)[1][
                'Accounting-Record-Number'])
        self.assertEqual([0, 1, 2, 3], numbers)
        event = events.session_event('update', 'm', 's', '00101',
                                     duration_s=5, record_number=-1)
        self.assertRaises(drec.InvalidEvent, drec.record_from_event,
                          event, 'h', 300)

    def number(self, kind, duration):
        return drec.record_number('vdesk.session.' + kind, duration)

    def test_session(self):
        self.assertEqual([0, 601, 1203, 1805, 2002], [
            self.number('start', 0), self.number('update', 300),
            self.number('update', 601.9), self.number('update', 902.5),
            self.number('end', 1000)])

    def test_never_repeats(self):
        # INTERIMs at least a second apart (the shortest interval), late
        # or not; a STOP whenever it comes, even a second before an
        # INTERIM that a race let through.
        for interval in (1, 2, 300):
            for delay in (0, 0.3, 1, 7, 450):
                seen, duration = {0}, 0.0
                for _ in range(50):
                    duration += interval + delay
                    number = self.number('update', duration)
                    self.assertNotIn(number, seen)
                    self.assertGreater(number, max(seen))
                    seen.add(number)
                    for stop in (duration, duration - 1, duration + 0.9):
                        self.assertNotIn(self.number('end', stop), seen)
                self.assertGreater(self.number('end', duration), max(seen))

    def test_same_event_same_number_anywhere(self):
        # Two publishers (two notification agents) number a record alike.
        for event in events.charged_sessions(9, 'two'):
            self.assertEqual(
                drec.record_from_event(event, 'vdesk.example.net', 300),
                drec.record_from_event(event, 'vdesk.example.net', 300))

    def test_duration_required_after_start(self):
        event = events.session_event('update', 'm', 's', '00101')
        exc = self.assertRaises(drec.InvalidEvent, drec.record_from_event,
                                event, 'h', 300)
        self.assertIn('duration_s', str(exc))
        event = events.session_event('end', 'm', 's', '00101',
                                     duration_s=2 ** 31)
        exc = self.assertRaises(drec.InvalidEvent, drec.record_from_event,
                                event, 'h', 300)
        self.assertIn('32 bits', str(exc))


class OptionsTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = service.prepare_service([], [])
        self.spool = self.useFixture(fixtures.TempDir()).path

    def parse(self, query):
        return diameter.parse_options(self.conf, urllib.parse.urlparse(
            'diameter://cdf.example.net?' + query))

    def test_failover_repeated_and_defaults(self):
        options = self.parse('origin_host=pub.example.net&destination_realm='
                             'example.net&failover=a:1&failover=b')
        self.assertEqual(['a:1', 'b'], options['failover'])
        self.assertEqual('example.net', options['origin_realm'])
        self.assertEqual(300, options['interim_interval'])
        self.assertEqual('pub.example.net', options['session_identity'])
        options = self.parse('origin_host=pub.example.net&destination_realm='
                             'example.net&session_identity=vdesk.example.net')
        self.assertEqual('vdesk.example.net', options['session_identity'])

    def test_bad_input_is_explained(self):
        exc = self.assertRaises(diameter.DiameterPublisherError, self.parse,
                                'origin_host=pub.example.net')
        self.assertIn('no destination_realm', str(exc))
        exc = self.assertRaises(diameter.DiameterPublisherError, self.parse,
                                'origin_host=bad_name&destination_realm=r')
        self.assertIn('not a Diameter identity', str(exc))
        exc = self.assertRaises(diameter.DiameterPublisherError, self.parse,
                                'destination_realm=r&colour=blue')
        self.assertIn("unknown parameter 'colour'", str(exc))
        exc = self.assertRaises(
            diameter.DiameterPublisherError, self.parse,
            'destination_realm=r&timeout=1&timeout=2')
        self.assertIn('given twice', str(exc))
