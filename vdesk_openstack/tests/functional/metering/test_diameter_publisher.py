"""The diameter:// publisher against a real CDF: freeDiameter + PostgreSQL.

Each test starts its own freeDiameter with app_acct writing into a
PostgreSQL database of its own (:mod:`vdesk_openstack.sandbox.cdf`), loads
the publisher the way Ceilometer does (``get_publisher`` on a pipeline
URL) and checks the rows the CDF inserted: every record exactly once (key
Session-Id + Accounting-Record-Number), with the right record types and
numbers per session.
"""

import collections
import json
import os
import signal
import subprocess
import sys
import time

from ceilometer import publisher
from ceilometer import service
import fixtures

from vdesk_openstack.sandbox import cdf as cdf_mod
from vdesk_openstack.tests.functional.metering import events
from vdesk_openstack.tests import services

WAIT = 60
ORIGIN = 'ceilometer.vdesk.test'


class DiameterTestBase(services.ServiceTestCase):
    """Loads publishers against CDFs; checks what the CDFs stored."""

    services = ('freediameterd', 'postgresql')

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            name='vdesk_openstack', level='INFO'))
        self.conf = service.prepare_service([], [])
        self.spool = self.useFixture(fixtures.TempDir()).path

    def url(self, cdf, failover=(), **params):
        query = dict(origin_host=ORIGIN, origin_realm='vdesk.test',
                     destination_realm=cdf.realm, spool=self.spool,
                     timeout='2', backoff_initial='0.2', backoff_max='0.5',
                     interim_interval='300')
        query.update(params)
        items = sorted(query.items()) + [('failover', '127.0.0.1:%d'
                                          % f.port) for f in failover]
        return 'diameter://127.0.0.1:%d?%s' % (cdf.port, '&'.join(
            '%s=%s' % kv for kv in items))

    def load(self, url):
        pub = publisher.get_publisher(self.conf, url,
                                      'ceilometer.event.publisher')
        self.addCleanup(pub.close)
        return pub

    def wait_delivered(self, pub):
        self.assertTrue(pub.client.wait_idle(WAIT),
                        'records still in the spool after %ss: %d; log:\n%s'
                        % (WAIT, pub.spool.pending_count(),
                           self.logger.output))

    def assertExactlyOnce(self, cdfs, published):
        """Every published event is one row, keyed as a CDF dedupes."""
        keys = collections.Counter(
            (r['Session-Id'], r['Accounting-Record-Number'])
            for c in cdfs for r in c.records())
        self.assertEqual([], [k for k, n in keys.items() if n > 1],
                         'records stored twice')
        self.assertEqual(self.expected_keys(published), set(keys),
                         'records lost or unexpected')

    def expected_keys(self, published, identity=ORIGIN):
        """(Session-Id, Accounting-Record-Number) of published events.

        The events of :func:`events.charged_sessions` last 0, 300 and 600
        s: START 0, INTERIM 2 * 300 + 1, STOP 2 * 600 + 2.
        """
        expected = set()
        for i, event in enumerate(published):
            session = dict((t.name, t.value) for t in event.traits)[
                'session_id']
            expected.add(('%s;vdesk;%s' % (identity, session),
                          (0, 601, 1202)[i % 3]))
        return expected


class DiameterPublisherTest(DiameterTestBase):

    def test_start_interim_stop(self):
        cdf = self.useFixture(cdf_mod.ChargingDataFunction())
        pub = self.load(self.url(cdf))
        published = events.charged_sessions(6, 'attrs')
        pub.publish_events(published)
        self.wait_delivered(pub)

        rows = cdf.records()
        self.assertEqual(6, len(rows))
        by_session = collections.defaultdict(list)
        for row in rows:
            by_session[row['Session-Id']].append(row)
        self.assertEqual({'%s;vdesk;attrs-session-%d' % (ORIGIN, n)
                          for n in (0, 1)}, set(by_session))
        for session, records in by_session.items():
            records.sort(key=lambda r: r['Accounting-Record-Number'])
            self.assertEqual([(2, 0), (3, 601), (4, 1202)],
                             [(r['Accounting-Record-Type'],
                               r['Accounting-Record-Number'])
                              for r in records], session)
            for r in records:
                self.assertEqual(3, r['Acct-Application-Id'])
                self.assertEqual(ORIGIN, r['Origin-Host'])
                self.assertEqual('vdesk.test', r['Origin-Realm'])
                self.assertEqual('vdesk.test', r['Destination-Realm'])
                # 2026-01-02 03:04:05 UTC as NTP seconds
                self.assertEqual((1767323045 + 2208988800).to_bytes(4, 'big'),
                                 r['Event-Timestamp'])
            start, interim, stop = records
            self.assertIsNone(start['Acct-Session-Time'])
            self.assertEqual(300, interim['Acct-Session-Time'])
            self.assertEqual(600, stop['Acct-Session-Time'])
            self.assertEqual(300, start['Acct-Interim-Interval'])
            self.assertIsNone(stop['Acct-Interim-Interval'])
            self.assertEqual(1, stop['Termination-Cause'])  # LOGOUT
        self.assertEqual(['001010000000000'] * 3 + ['001010000000001'] * 3,
                         sorted(r['User-Name'] for r in rows))
        self.assertEqual({'attrs-session-0', 'attrs-session-1'},
                         {r['Acct-Session-Id'] for r in rows})

    def test_numbers_survive_a_restart(self):
        # The START of a session by one publisher process, its INTERIM and
        # STOP by the next one (same spool): numbering goes on.
        cdf = self.useFixture(cdf_mod.ChargingDataFunction())
        published = events.charged_sessions(3, 'restart')
        pub = self.load(self.url(cdf))
        pub.publish_events(published[:1])
        pub.publish_events(published[:1])  # a notification redelivered
        self.wait_delivered(pub)
        pub.close()
        pub = self.load(self.url(cdf))
        pub.publish_events(published[1:])
        self.wait_delivered(pub)
        self.assertExactlyOnce([cdf], published)

    def test_server_outage_every_record_once(self):
        cdf = self.useFixture(cdf_mod.ChargingDataFunction())
        pub = self.load(self.url(cdf))
        before = events.charged_sessions(300, 'before')
        pub.publish_events(before)
        self.wait_delivered(pub)

        cdf.stop()
        during = events.charged_sessions(600, 'during')
        for i in range(0, len(during), 100):
            pub.publish_events(during[i:i + 100])
        time.sleep(1.0)  # several failed reconnections
        self.assertEqual(len(during), pub.spool.pending_count())
        self.assertIn('cannot connect', self.logger.output)

        # No new event: the publisher reconnects by itself.
        cdf.start()
        self.wait_delivered(pub)
        self.assertExactlyOnce([cdf], before + during)

    def test_killed_publisher_spool_resent_by_new_process(self):
        cdf = self.useFixture(cdf_mod.ChargingDataFunction())
        cdf.stop()
        url = self.url(cdf)
        child = subprocess.Popen(
            [sys.executable, '-m',
             'vdesk_openstack.tests.functional.metering.publisher_child',
             url, '600', 'killed'],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        self.addCleanup(child.wait)
        self.addCleanup(lambda: child.poll() is None and child.kill())
        self.assertEqual(b'SPOOLED\n', child.stdout.readline())
        time.sleep(0.5)  # the child tries to connect, the CDF is down
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()

        cdf.start()
        pub = self.load(url)
        self.wait_delivered(pub)
        self.assertExactlyOnce([cdf], events.charged_sessions(600, 'killed'))
        self.assertEqual([], [n for n in os.listdir(pub.spool.lane)
                              if n != 'lock'], 'spool not emptied')

    def test_killed_mid_send_resent_once_per_cdf_key(self):
        # Killed while ACRs are in flight to a working CDF: what the CDF
        # stored before the kill may come again, with the same Session-Id
        # and Accounting-Record-Number (the CDF's dedupe key); nothing is
        # missing.
        cdf = self.useFixture(cdf_mod.ChargingDataFunction())
        url = self.url(cdf)
        child = subprocess.Popen(
            [sys.executable, '-m',
             'vdesk_openstack.tests.functional.metering.publisher_child',
             url, '3000', 'midsend'],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        self.addCleanup(child.wait)
        self.addCleanup(lambda: child.poll() is None and child.kill())
        self.assertEqual(b'SPOOLED\n', child.stdout.readline())
        deadline = time.monotonic() + WAIT
        while cdf.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        self.assertGreater(cdf.count(), 0)

        pub = self.load(url)
        self.wait_delivered(pub)
        keys = {(r['Session-Id'], r['Accounting-Record-Number'])
                for r in cdf.records()}
        self.assertEqual(3000, len(keys), 'records lost')

    def test_failover_to_second_peer(self):
        primary = self.useFixture(cdf_mod.ChargingDataFunction(
            identity='cdf1.vdesk.test'))
        secondary = self.useFixture(cdf_mod.ChargingDataFunction(
            identity='cdf2.vdesk.test'))
        pub = self.load(self.url(primary, failover=[secondary]))
        first = events.charged_sessions(150, 'first')
        pub.publish_events(first)
        self.wait_delivered(pub)
        self.assertEqual(150, primary.count())
        self.assertEqual(0, secondary.count())

        primary.stop()
        second = events.charged_sessions(300, 'second')
        for i in range(0, len(second), 50):
            pub.publish_events(second[i:i + 50])
        self.wait_delivered(pub)
        self.assertExactlyOnce([primary, secondary], first + second)
        self.assertGreater(secondary.count(), 0)
        self.assertIn('primary 127.0.0.1:%d' % primary.port,
                      self.logger.output)

        # The primary is back: it gets the records again.
        primary.start()
        time.sleep(1.0)  # longer than backoff_max: the primary is retried
        third = events.charged_sessions(30, 'third')
        pub.publish_events(third)
        self.wait_delivered(pub)
        self.assertExactlyOnce([primary, secondary], first + second + third)
        self.assertEqual(30, len([r for r in primary.records()
                                  if 'third' in r['Session-Id']]))

    def test_permanent_error_parked_and_reported(self):
        # A CDF without the 3GPP dictionary does not know the mandatory
        # Service-Information AVP and refuses every ACR with 5001
        # DIAMETER_AVP_UNSUPPORTED: the records are parked with the
        # reason, not retried forever.
        cdf = self.useFixture(cdf_mod.ChargingDataFunction(
            dictionaries=('dict_nasreq', 'dict_dcca')))
        pub = self.load(self.url(cdf))
        published = events.charged_sessions(30, 'parked')
        pub.publish_events(published)
        self.wait_delivered(pub)
        self.assertEqual(30, pub.client.stats['parked'])
        self.assertEqual(0, cdf.count())
        self.assertIn('5001 (DIAMETER_AVP_UNSUPPORTED)', self.logger.output)
        with open(os.path.join(pub.spool.quarantine_dir,
                               'records.jsonl')) as f:
            parked = [json.loads(line) for line in f]
        self.assertEqual({e.message_id for e in published},
                         {p['id'] for p in parked})
        self.assertTrue(all('5001' in p['reason'] for p in parked))
        self.assertEqual([0, 0, 601, 601, 1202, 1202],
                         sorted(p['attrs']['Accounting-Record-Number']
                                for p in parked)[::5])
        self.assertEqual([], [n for n in os.listdir(pub.spool.lane)
                              if n != 'lock'], 'parked records still queued')

    def test_unknown_origin_host_is_reported(self):
        cdf = self.useFixture(cdf_mod.ChargingDataFunction(
            clients=('other.vdesk.test',)))
        pub = self.load(self.url(cdf))
        pub.publish_events(events.charged_sessions(3, 'acl'))
        deadline = time.monotonic() + WAIT
        while ('capabilities exchange refused' not in self.logger.output
               and time.monotonic() < deadline):
            time.sleep(0.05)
        self.assertIn('3010 (DIAMETER_UNKNOWN_PEER)', self.logger.output)
        self.assertIn('does not accept Origin-Host %s' % ORIGIN,
                      self.logger.output)
        self.assertEqual(3, pub.spool.pending_count())
        self.assertEqual(0, cdf.count())

    def split(self, pubs, published):
        """Event i of session j goes to publisher (i + j) % 2, backwards."""
        parts = [[], []]
        for i, event in enumerate(published):
            parts[(i + i // 3) % 2].append(event)
        for pub, part in zip(pubs, parts):
            pub.publish_events(part[::-1])
        for pub in pubs:
            self.wait_delivered(pub)

    def test_two_agents_each_with_its_spool(self):
        # Two notification agents, one spool each, get the events of the
        # same sessions in turn (START from one, INTERIM from the other,
        # late). Here both use one identity, each talking to its own CDF
        # of a pool that shares its records: a number given by either
        # agent is the one the other would give, so no record of a
        # session takes another's number (which the CDF would drop as a
        # duplicate).
        cdfs = [self.useFixture(cdf_mod.ChargingDataFunction(
            identity='cdf%d.vdesk.test' % n)) for n in (1, 2)]
        pubs = [self.load(self.url(
            cdf, spool=self.useFixture(fixtures.TempDir()).path))
            for cdf in cdfs]
        published = events.charged_sessions(90, 'agents')
        self.split(pubs, published)
        self.assertGreater(cdfs[0].count(), 0)
        self.assertGreater(cdfs[1].count(), 0)
        self.assertExactlyOnce(cdfs, published)

    def test_two_agents_share_a_spool_and_a_session_identity(self):
        # Two agents with identities of their own and a spool directory
        # in common; session_identity keeps one Session-Id per desktop
        # session. A notification redelivered to the other agent gets the
        # same Session-Id and number: the CDF's duplicate.
        cdf = self.useFixture(cdf_mod.ChargingDataFunction())
        pubs = [self.load(self.url(
            cdf, origin_host='agent%d.vdesk.test' % n,
            session_identity='vdesk.vdesk.test')) for n in (1, 2)]
        published = events.charged_sessions(90, 'shared')
        self.split(pubs, published)
        pubs[1].publish_events([published[2]])  # went to pubs[0] before
        self.wait_delivered(pubs[1])
        rows = cdf.records()
        keys = collections.Counter((r['Session-Id'],
                                    r['Accounting-Record-Number'])
                                   for r in rows)
        expected = self.expected_keys(published, 'vdesk.vdesk.test')
        self.assertEqual(expected, set(keys))
        self.assertEqual({('vdesk.vdesk.test;vdesk;shared-session-0', 1202)},
                         {k for k, n in keys.items() if n > 1})
        self.assertEqual({'agent1.vdesk.test', 'agent2.vdesk.test'},
                         {r['Origin-Host'] for r in rows})
