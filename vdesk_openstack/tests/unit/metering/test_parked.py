"""Listing and replaying parked records in a spool directory."""

import os

import fixtures
import testtools

from vdesk_openstack.metering import parked
from vdesk_openstack.metering import spool as charging_spool


class ParkedTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.path = self.useFixture(fixtures.TempDir()).path
        spool = charging_spool.Spool(self.path)
        for n in range(3):
            spool.quarantine_record(charging_spool.Record(
                'r%d' % n, {'Session-Id': 's', 'Accounting-Record-Number': n},
                1.0), 'refused: 5012')
        spool.quarantine_record(charging_spool.Record(
            'bad', {'event': {}}, 1.0), 'is not a valid charging event',
            replayable=False)
        spool.close()
        self.parked_file = os.path.join(self.path, 'quarantine',
                                        'records.jsonl')
        with open(self.parked_file, 'a') as f:
            f.write('{"damaged\n')

    def test_list(self):
        listed = parked.list_parked(self.path)
        self.assertEqual(['r0', 'r1', 'r2', 'bad', None],
                         [p['id'] for p in listed])
        self.assertEqual([True, True, True, False, False],
                         [p['replayable'] for p in listed])
        self.assertIn('unreadable line', listed[-1]['reason'])

    def test_replay_some_then_all(self):
        result = parked.replay(self.path, ['r1'])
        self.assertEqual(['r1'], result['replayed'])
        self.assertEqual(['r0', 'r2', 'bad', None], result['kept'])
        # The lane is free for a publisher, and holds the record as it was.
        spool = charging_spool.Spool(self.path)
        self.addCleanup(spool.close)
        records = spool.adopt_orphans()
        self.assertEqual(['r1'], [r.id for r in records])
        self.assertEqual(1, records[0].attributes['Accounting-Record-Number'])
        self.assertTrue(records[0].resend)
        result = parked.replay(self.path)
        self.assertEqual(['r0', 'r2'], result['replayed'])
        self.assertEqual(['bad', None],
                         [p['id'] for p in parked.list_parked(self.path)])

    def test_refusals_change_nothing(self):
        before = open(self.parked_file).read()
        exc = self.assertRaises(parked.ParkedError, parked.replay,
                                self.path, ['r0', 'nope'])
        self.assertIn('no parked record nope', str(exc))
        exc = self.assertRaises(parked.ParkedError, parked.replay,
                                self.path, ['bad'])
        self.assertIn('cannot be replayed', str(exc))
        self.assertEqual(before, open(self.parked_file).read())
        self.assertRaises(parked.ParkedError, parked.list_parked,
                          os.path.join(self.path, 'missing'))

    def test_spool_dir_from_config(self):
        conf = os.path.join(self.path, 'ceilometer.conf')
        with open(conf, 'w') as f:
            f.write('[vdesk_diameter]\nspool_dir = /srv/spool\n')
        self.assertEqual('/srv/spool', parked.spool_dir_from_config([conf]))
