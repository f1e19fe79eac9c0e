"""The durable spool: what is written survives, what is acked goes."""

import os

import fixtures
import testtools

from vdesk_openstack.metering import spool as spool_mod


def recs(prefix, n):
    return [spool_mod.Record('%s-%d' % (prefix, i),
                             {'User-Name': 'u', 'Acct-Session-Time': i},
                             1000.0 + i) for i in range(n)]


class SpoolTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            name='vdesk_openstack'))
        self.path = self.useFixture(fixtures.TempDir()).path

    def spool(self):
        s = spool_mod.Spool(self.path)
        self.addCleanup(s.close)
        return s

    def files(self, lane):
        return sorted(n for n in os.listdir(lane) if n != 'lock')

    def test_written_records_survive_restart(self):
        first = self.spool()
        self.assertEqual([], first.adopt_orphans())
        written = first.append(recs('a', 3))
        self.assertEqual(3, len(written))
        first.ack(written[:1])
        first.close()

        second = self.spool()
        self.assertEqual(first.lane, second.lane)
        loaded = second.adopt_orphans()
        self.assertEqual(['a-1', 'a-2'], [r.id for r in loaded])
        self.assertTrue(all(r.resend for r in loaded))
        self.assertEqual({'User-Name': 'u', 'Acct-Session-Time': 2},
                         loaded[1].attributes)
        self.assertEqual(1002.0, loaded[1].spooled_at)

    def test_fully_acked_segment_removed(self):
        s = self.spool()
        written = s.append(recs('a', 2))
        self.assertEqual(1, len(self.files(s.lane)))
        s.ack(written)
        self.assertEqual([], self.files(s.lane))
        self.assertEqual(0, s.pending_count())

    def test_duplicate_ids_spooled_once(self):
        s = self.spool()
        self.assertEqual(2, len(s.append(recs('a', 2) + recs('a', 2))))
        self.assertEqual([], s.append(recs('a', 1)))

    def test_second_publisher_gets_its_own_lane(self):
        first = self.spool()
        first.append(recs('a', 2))
        second = self.spool()
        self.assertNotEqual(first.lane, second.lane)
        self.assertEqual([], second.adopt_orphans())

    def test_orphaned_lane_adopted(self):
        first = spool_mod.Spool(self.path)
        first.append(recs('a', 2))
        other = spool_mod.Spool(self.path)
        second = self.spool()
        first.close()  # like a killed process: its flock is gone
        self.assertEqual(['a-0', 'a-1'],
                         sorted(r.id for r in second.adopt_orphans()))
        other.close()

    def test_unfinished_write_and_orphan_ack_cleaned(self):
        s = spool_mod.Spool(self.path)
        lane = s.lane
        s.close()
        for name in ('.x.tmp', 'gone.ack'):
            with open(os.path.join(lane, name), 'w') as f:
                f.write('junk\n')
        s = self.spool()
        self.assertEqual([], s.adopt_orphans())
        self.assertEqual([], self.files(lane))

    def test_torn_ack_line_is_not_an_ack(self):
        s = spool_mod.Spool(self.path)
        written = s.append(recs('abc', 2))
        s.ack(written[:1])
        ack_path = written[0].segment.ack_path
        s.close()
        with open(ack_path, 'a') as f:
            f.write('abc-1')  # the crash came before the newline
        loaded = self.spool().adopt_orphans()
        self.assertEqual(['abc-1'], [r.id for r in loaded])

    def test_corrupt_line_quarantined_others_kept(self):
        s = spool_mod.Spool(self.path)
        written = s.append(recs('a', 3))
        seg = written[0].segment.path
        s.close()
        with open(seg, 'rb') as f:
            lines = f.read().split(b'\n')
        lines[1] = lines[1].replace(b'"u"', b'"v"')  # checksum now wrong
        with open(seg, 'wb') as f:
            f.write(b'\n'.join(lines))

        s = self.spool()
        loaded = s.adopt_orphans()
        self.assertEqual(['a-0', 'a-2'], sorted(r.id for r in loaded))
        self.assertIn('checksum mismatch', self.logger.output)
        quarantined = os.listdir(s.quarantine_dir)
        self.assertEqual(2, len(quarantined), quarantined)
        # reported once: the good records were respooled
        s.close()
        again = self.spool()
        self.assertEqual(['a-0', 'a-2'],
                         sorted(r.id for r in again.adopt_orphans()))
        self.assertEqual(2, len(os.listdir(again.quarantine_dir)))

    def test_unreadable_segment_quarantined(self):
        s = spool_mod.Spool(self.path)
        written = s.append(recs('a', 1))
        seg = written[0].segment.path
        s.close()
        os.unlink(seg)
        os.mkdir(seg)  # reading it fails with IsADirectoryError
        s = self.spool()
        self.assertEqual([], s.adopt_orphans())
        self.assertIn('unreadable', self.logger.output)
        self.assertEqual([], self.files(s.lane))
        self.assertEqual(2, len(os.listdir(s.quarantine_dir)))

    def test_quarantine_record(self):
        s = self.spool()
        written = s.append(recs('a', 2))
        s.quarantine_record(written[0], 'cannot be encoded')
        self.assertEqual(1, s.pending_count())
        with open(os.path.join(s.quarantine_dir, 'records.jsonl')) as f:
            self.assertIn('"reason": "cannot be encoded"', f.read())

    def test_unusable_directory(self):
        path = os.path.join(self.path, 'file')
        open(path, 'w').close()
        self.assertRaises(spool_mod.SpoolError, spool_mod.Spool, path)


class ShortWriteTest(testtools.TestCase):

    def test_every_byte_is_written_when_the_kernel_takes_a_few(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'f')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        self.addCleanup(os.close, fd)
        real_write = os.write
        calls = []

        def stingy(fd, data):
            calls.append(len(data))
            return real_write(fd, bytes(data[:3]))  # 3 bytes at most

        data = b'0123456789abcdef' * 4
        self.useFixture(fixtures.MonkeyPatch('os.write', stingy))
        spool_mod._write_all(fd, data)
        with open(path, 'rb') as f:
            self.assertEqual(data, f.read())
        self.assertEqual(len(data) // 3 + 1, len(calls))

    def test_no_progress_is_an_error(self):
        self.useFixture(fixtures.MonkeyPatch('os.write', lambda fd, d: 0))
        self.assertRaises(OSError, spool_mod._write_all, 99, b'abc')
