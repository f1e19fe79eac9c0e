"""``vdesk-manage charging parked list|replay`` with a running publisher.

A real freeDiameter without the 3GPP dictionary refuses every ACR with
5001 (DIAMETER_AVP_UNSUPPORTED): the publisher parks them. The operator
lists them with the console script, fixes the CDF (restarts it with the
dictionary) and replays some, then all: the running publisher sends them
and the CDF stores each exactly once.
"""

import json
import os
import subprocess
import sys
import time

import fixtures

from vdesk_openstack.metering import sender
from vdesk_openstack.sandbox import cdf as cdf_mod
from vdesk_openstack.tests.functional.metering import events
from vdesk_openstack.tests.functional.metering import \
    test_diameter_publisher as base

CLI = os.path.join(os.path.dirname(sys.executable), 'vdesk-manage')


class ParkedRecordsTest(base.DiameterTestBase):

    def manage(self, *args):
        result = subprocess.run(
            [CLI, 'charging', 'parked'] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        return (result.returncode, result.stdout.decode(),
                result.stderr.decode())

    def parked(self):
        rc, out, err = self.manage('list', '--spool', self.spool)
        self.assertEqual(0, rc, err)
        return json.loads(out)

    def test_list_and_replay(self):
        # The publisher looks for lanes to adopt every second, not 30.
        self.useFixture(fixtures.MonkeyPatch(
            'vdesk_openstack.metering.sender.ADOPT_INTERVAL', 1.0))
        self.assertEqual(1.0, sender.ADOPT_INTERVAL)
        cdf = self.useFixture(cdf_mod.ChargingDataFunction(
            dictionaries=('dict_nasreq', 'dict_dcca')))
        pub = self.load(self.url(cdf))
        published = events.charged_sessions(30, 'replay')
        pub.publish_events(published)
        self.wait_delivered(pub)
        self.assertEqual(0, cdf.count())

        listed = self.parked()
        self.assertEqual({e.message_id for e in published},
                         {p['id'] for p in listed})
        self.assertTrue(all('5001' in p['reason'] and p['replayable']
                            for p in listed))
        # Records travel pipelined: they are parked in the order their
        # answers came, not as published.
        first = {p['id']: p for p in listed}[published[0].message_id]
        self.assertEqual('%s;vdesk;replay-session-0' % base.ORIGIN,
                         first['attrs']['Session-Id'])

        # Nothing known, nothing done.
        rc, _out, err = self.manage('replay', '--spool', self.spool,
                                    'no-such-record', published[0].message_id)
        self.assertEqual(2, rc)
        self.assertIn('no parked record no-such-record', err)
        self.assertEqual(30, len(self.parked()))

        # The CDF is fixed: its dictionary now has Service-Information.
        cdf.stop()
        cdf.dictionaries = cdf_mod.DICTIONARIES
        cdf._write_config()
        cdf.start()

        two = [published[0].message_id, published[4].message_id]
        rc, out, err = self.manage('replay', '--spool', self.spool, *two)
        self.assertEqual(0, rc, err)
        self.assertEqual(sorted(two), sorted(json.loads(out)['replayed']))
        self.assertEqual(28, len(self.parked()))
        self.wait_rows(cdf, 2)
        self.assertExactlyOnce([cdf], [published[0], published[4]])

        rc, out, err = self.manage('replay', '--spool', self.spool, '--all')
        self.assertEqual(0, rc, err)
        self.assertEqual(28, len(json.loads(out)['replayed']))
        self.assertEqual([], self.parked())
        self.wait_rows(cdf, 30)
        self.wait_delivered(pub)
        self.assertExactlyOnce([cdf], published)
        self.assertEqual(30, pub.client.stats['parked'])

    def wait_rows(self, cdf, count):
        deadline = time.monotonic() + base.WAIT
        while cdf.count() < count and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(count, cdf.count(), self.logger.output)

    def test_bad_requests(self):
        rc, _out, err = self.manage('list', '--spool',
                                    os.path.join(self.spool, 'missing'))
        self.assertEqual(2, rc)
        self.assertIn('is not a spool directory', err)
        rc, _out, err = self.manage('replay', '--spool', self.spool)
        self.assertEqual(2, rc)
        self.assertIn('one of the arguments --all ID is required', err)
        self.assertEqual([], self.parked())
