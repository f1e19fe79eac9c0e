"""The radius:// publisher against a real FreeRADIUS.

Each test starts its own FreeRADIUS copy (:mod:`..freeradius`), loads the
publisher the way Ceilometer does (``get_publisher`` on a pipeline URL) and
checks what FreeRADIUS wrote to its ``detail`` file: every record exactly
once, with the attributes of the charging guide.
"""

import collections
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

from ceilometer import publisher
from ceilometer import service
import fixtures

from vdesk_openstack.sandbox import freeradius
from vdesk_openstack.tests.functional.metering import events
from vdesk_openstack.tests import services

SECRET = 'charging-s3cret'
WAIT = 60


class LossyLink(threading.Thread):
    """A UDP relay to a server that loses every answer for a while.

    It forwards requests from one upstream socket, so the server sees the
    client's retransmissions coming from one address and port.
    """

    def __init__(self, server_address, lose_for):
        super().__init__(daemon=True)
        self.server_address = server_address
        self.lose_until = time.monotonic() + lose_for
        self.downstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.downstream.bind(('127.0.0.1', 0))
        self.port = self.downstream.getsockname()[1]
        self.upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.upstream.connect(server_address)
        self.client = None
        self.lost = 0
        self.running = True

    def run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.downstream, selectors.EVENT_READ)
        sel.register(self.upstream, selectors.EVENT_READ)
        while self.running:
            for key, _mask in sel.select(0.1):
                if key.fileobj is self.downstream:
                    data, self.client = self.downstream.recvfrom(4096)
                    self.upstream.send(data)
                else:
                    data = self.upstream.recv(4096)
                    if time.monotonic() < self.lose_until:
                        self.lost += 1
                    else:
                        self.downstream.sendto(data, self.client)

    def stop(self):
        self.running = False
        self.join()
        self.downstream.close()
        self.upstream.close()


class RadiusPublisherTest(services.ServiceTestCase):

    services = ('freeradius',)

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            name='vdesk_openstack', level='INFO'))
        self.conf = service.prepare_service([], [])
        self.spool = self.useFixture(fixtures.TempDir()).path

    def url(self, server, secret=SECRET, **params):
        query = dict(secret=secret, nas_identifier='ceilometer-test',
                     spool=self.spool, timeout='0.3', retries='1',
                     backoff_initial='0.2', backoff_max='0.5')
        query.update(params)
        return 'radius://127.0.0.1:%d?%s' % (server.acct_port, '&'.join(
            '%s=%s' % kv for kv in sorted(query.items())))

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

    def assertExactlyOnce(self, servers, published):
        if not isinstance(servers, (list, tuple)):
            servers = [servers]
        ids = collections.Counter(r.get('Vdesk-Record-Id')
                                  for s in servers for r in s.records())
        expected = {e.message_id for e in published}
        self.assertEqual(expected, set(ids), 'records lost or unexpected')
        self.assertEqual([], [i for i, n in ids.items() if n > 1],
                         'records written twice')

    def test_start_interim_stop(self):
        server = self.useFixture(freeradius.FreeRadius(secret=SECRET))
        pub = self.load(self.url(server))
        published = events.charged_sessions(3, 'attrs')
        pub.publish_events(published)
        self.wait_delivered(pub)

        records = {r['Acct-Status-Type']: r for r in server.records()}
        self.assertEqual({'Start', 'Interim-Update', 'Stop'}, set(records))
        common = {
            'User-Name': '001010000000000',
            'Acct-Session-Id': 'attrs-session-0',
            'NAS-Identifier': 'ceilometer-test',
            'Event-Timestamp': 'Jan  2 2026 03:04:05 UTC',
            'Vdesk-Instance-Id': '3f0c2b8e-8f1d-4b0e-9b7c-000000000000',
            'Vdesk-Project-Id': '6d2a1f0e9c8b4a7d8e6f5a4b3c2d1e0f',
            'Vdesk-VCPUs': '2', 'Vdesk-Memory-MB': '4096',
            'Vdesk-Disk-GB': '40', 'Vdesk-Priority': 'gold',
        }
        for status, record in records.items():
            self.assertLessEqual(common.items(), record.items(), status)
            self.assertIn('Message-Authenticator', record)
            self.assertNotIn('Acct-Delay-Time', record,
                             'a record sent once has no delay')
        self.assertNotIn('Acct-Session-Time', records['Start'])
        self.assertEqual('attrs-000000', records['Start']['Vdesk-Record-Id'])
        self.assertEqual('300', records['Interim-Update']['Acct-Session-Time'])
        self.assertEqual('12.50', records['Interim-Update']['Vdesk-CPU-Util'])
        self.assertEqual('600', records['Stop']['Acct-Session-Time'])
        self.assertEqual('logout', records['Stop']['Vdesk-Terminate-Cause'])
        self.assertEqual('attrs-000002', records['Stop']['Vdesk-Record-Id'])

    def test_server_outage_every_record_once(self):
        server = self.useFixture(freeradius.FreeRadius(secret=SECRET))
        # A generous timeout: FreeRADIUS answering the 900 resent records
        # slower than the default 0.3 s on a loaded machine would make the
        # publisher retransmit, and a plain FreeRADIUS writes a record it
        # had already finished twice (test_lost_answers). The outage
        # itself is seen at once: the port is refused.
        pub = self.load(self.url(server, timeout='5'))
        before = events.charged_sessions(300, 'before')
        pub.publish_events(before)
        self.wait_delivered(pub)

        server.stop()
        during = events.charged_sessions(900, 'during')
        for i in range(0, len(during), 100):
            pub.publish_events(during[i:i + 100])
            time.sleep(0.05)
        time.sleep(1.0)  # several failed probes
        self.assertEqual(len(during), pub.spool.pending_count())
        self.assertIn('refused', self.logger.output)

        # No new event: the publisher finds out by itself that the server
        # is back and resends the spool.
        server.start()
        self.wait_delivered(pub)
        self.assertExactlyOnce(server, before + during)
        resent = [r for r in server.records()
                  if r['Vdesk-Record-Id'].startswith('during')]
        self.assertTrue(all('Acct-Delay-Time' in r for r in resent))
        self.assertTrue(all(int(r['Acct-Delay-Time']) >= 1 for r in resent),
                        'the records waited more than a second')

    def test_lost_answers(self):
        # Every answer is lost for a while: the publisher cannot tell a
        # lost request from a lost answer and retransmits. FreeRADIUS
        # recognises a duplicate only while the original is in progress,
        # so a plain server records such a record twice (RFC 2866 gives no
        # better); every copy has the record's Vdesk-Record-Id, and a
        # server that drops a Vdesk-Record-Id seen before records it once.
        plain = self.useFixture(freeradius.FreeRadius(secret=SECRET))
        exact = self.useFixture(freeradius.FreeRadius(secret=SECRET,
                                                      dedupe=True))
        for server in (plain, exact):
            link = LossyLink(server.acct_address, lose_for=0.5)
            link.start()
            self.addCleanup(link.stop)
            link.acct_port = link.port
            self.spool = self.useFixture(fixtures.TempDir()).path
            pub = self.load(self.url(link, timeout='0.4', retries='3'))
            published = events.charged_sessions(60, 'lossy')
            pub.publish_events(published)
            self.wait_delivered(pub)
            self.assertGreater(link.lost, 0)
            self.assertGreater(pub.client.stats['retransmitted'], 0)
            self.assertEqual({e.message_id for e in published},
                             {r['Vdesk-Record-Id'] for r in server.records()})
        self.assertGreater(len(plain.records()), 60)
        # Records that reach the exact server once are written too (a
        # generous timeout: no retransmission even on a loaded machine).
        self.spool = self.useFixture(fixtures.TempDir()).path
        pub = self.load(self.url(exact, timeout='5'))
        clean = events.charged_sessions(5, 'clean')
        pub.publish_events(clean)
        self.wait_delivered(pub)
        self.assertEqual(0, pub.client.stats['retransmitted'])
        self.assertExactlyOnce(exact, published + clean)

    def test_killed_publisher_spool_resent_by_new_process(self):
        server = self.useFixture(freeradius.FreeRadius(secret=SECRET))
        server.stop()
        url = self.url(server)
        child = subprocess.Popen(
            [sys.executable, '-m',
             'vdesk_openstack.tests.functional.metering.publisher_child',
             url, '600', 'killed'],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        self.addCleanup(child.wait)
        self.addCleanup(lambda: child.poll() is None and child.kill())
        self.assertEqual(b'SPOOLED\n', child.stdout.readline())
        time.sleep(0.5)  # the child tries to send, the server is down
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()

        server.start()
        pub = self.load(url)
        self.wait_delivered(pub)
        published = events.charged_sessions(600, 'killed')
        self.assertExactlyOnce(server, published)
        self.assertTrue(all('Acct-Delay-Time' in r for r in server.records()))
        self.assertEqual([], [n for n in os.listdir(pub.spool.lane)
                              if n != 'lock'], 'spool not emptied')

    def test_wrong_secret_is_reported_and_nothing_dropped(self):
        server = self.useFixture(freeradius.FreeRadius(secret=SECRET))
        pub = self.load(self.url(server, secret='not-the-secret'))
        published = events.charged_sessions(30, 'secret')
        pub.publish_events(published)
        deadline = time.monotonic() + WAIT
        while ('shared secret' not in self.logger.output
               and time.monotonic() < deadline):
            time.sleep(0.05)
        self.assertIn('shared secret for this client differs',
                      self.logger.output)
        self.assertNotIn('not-the-secret', self.logger.output)
        self.assertEqual([], server.records())
        self.assertEqual(30, pub.spool.pending_count())

        # The operator fixes the secret and restarts the agent.
        pub.close()
        fixed = self.load(self.url(server))
        self.wait_delivered(fixed)
        self.assertExactlyOnce(server, published)

    def test_primary_down_secondary_receives(self):
        primary = self.useFixture(freeradius.FreeRadius(secret=SECRET))
        secondary = self.useFixture(freeradius.FreeRadius(secret=SECRET))
        primary.stop()
        pub = self.load(self.url(
            primary, secondary='127.0.0.1:%d' % secondary.acct_port,
            backoff_initial='30', backoff_max='30'))
        published = events.charged_sessions(300, 'failover')
        for i in range(0, len(published), 50):
            pub.publish_events(published[i:i + 50])
        self.wait_delivered(pub)
        self.assertExactlyOnce(secondary, published)
        self.assertEqual([], primary.records())
        self.assertIn('primary 127.0.0.1:%d' % primary.acct_port,
                      self.logger.output)

    def test_secondary_hands_back_to_primary(self):
        primary = self.useFixture(freeradius.FreeRadius(secret=SECRET))
        secondary = self.useFixture(freeradius.FreeRadius(secret=SECRET))
        primary.stop()
        pub = self.load(self.url(
            primary, secondary='127.0.0.1:%d' % secondary.acct_port))
        first = events.charged_sessions(30, 'first')
        pub.publish_events(first)
        self.wait_delivered(pub)
        primary.start()
        time.sleep(1.0)  # longer than backoff_max: the primary is probed
        second = events.charged_sessions(30, 'second')
        pub.publish_events(second)
        self.wait_delivered(pub)
        self.assertExactlyOnce([primary, secondary], first + second)
        self.assertEqual(30, len(secondary.records()) - len(
            [r for r in secondary.records()
             if r['Vdesk-Record-Id'].startswith('second')]))
        self.assertNotEqual([], primary.records(),
                            'the primary did not get the records back')
