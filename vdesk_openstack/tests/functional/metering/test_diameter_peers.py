"""What the diameter:// publisher does when a peer disconnects or refuses.

A scripted peer (:mod:`.scripted_peer`, a real TCP server speaking
Diameter) comes first in the publisher's peer list and misbehaves the way
a real CDF or relay may: a Disconnect-Peer-Request with the TCP connection
left open, protocol errors (3xxx), transient failures (4xxx), permanent
failures (5xxx). A real freeDiameter comes next: every record that is not
refused for good must end there, exactly once.
"""

import fixtures
import os
import time

from vdesk_openstack.sandbox import cdf as cdf_mod
from vdesk_openstack.tests.functional.metering import events
from vdesk_openstack.tests.functional.metering import scripted_peer
from vdesk_openstack.tests.functional.metering import \
    test_diameter_publisher as base


class PeerBehaviourTest(base.DiameterTestBase):

    def test_dpr_with_open_connection_fails_over(self):
        # The peer sends DPR at the first ACR, answers none and keeps the
        # connection open (and takes no new one). The publisher answers
        # DPA, closes the connection, and the records in flight go to the
        # next peer with the others.
        cdf = self.useFixture(cdf_mod.ChargingDataFunction())
        peer = self.useFixture(scripted_peer.ScriptedPeer(
            lambda acr: scripted_peer.DPR))
        pub = self.load(self.url(peer, failover=[cdf]))
        published = events.charged_sessions(90, 'dpr')
        pub.publish_events(published)
        self.wait_delivered(pub)
        self.assertExactlyOnce([cdf], published)
        self.assertGreater(len(peer.acrs), 0)
        self.assertEqual(0, pub.client.stats['parked'])
        happened = peer.events()
        self.assertIn('DPA received', happened)
        self.assertIn('closed by client', happened)
        self.assertLess(peer.when('closed by client')[0] -
                        peer.when('DPR sent')[0], 5.0)
        self.assertIn('disconnects (DPR, Disconnect-Cause REBOOTING)',
                      self.logger.output)
        self.assertEqual(1, peer.events().count('connected'))

    def test_dpr_without_failover_reconnects(self):
        # One peer only: after its DPR (connection left open) the
        # publisher closes, reconnects after the backoff and sends again.
        def script(acr):
            return (scripted_peer.DPR if 'DPR sent' not in peer.events()
                    else 2001)
        peer = self.useFixture(scripted_peer.ScriptedPeer(
            script, listen_after_dpr=True))
        pub = self.load(self.url(peer))
        published = events.charged_sessions(30, 'dpr1')
        pub.publish_events(published)
        self.wait_delivered(pub)
        self.assertEqual(2, peer.events().count('connected'))
        self.assertEqual(self.expected_keys(published),
                         {(sid, n) for sid, n, _t in peer.acrs})

    def test_protocol_and_transient_errors_go_elsewhere(self):
        # 3xxx (protocol errors) and 4xxx (transient failures) are not the
        # record's fault: retried, on the next peer meanwhile, and never
        # parked; the erring peer is probed again after its backoff.
        cdf = self.useFixture(cdf_mod.ChargingDataFunction())
        published = []
        for code in (3002, 3003, 3004, 3010, 4002):
            spool = self.useFixture(fixtures.TempDir()).path
            peer = self.useFixture(scripted_peer.ScriptedPeer(
                lambda acr, code=code: code))
            pub = self.load(self.url(peer, failover=[cdf], spool=spool))
            for batch in ('a', 'b'):
                these = events.charged_sessions(30, 'e%d%s' % (code, batch))
                pub.publish_events(these)
                self.wait_delivered(pub)
                published.extend(these)
                time.sleep(0.7)  # past backoff_max: the peer is tried again
            self.assertGreater(len(peer.acrs), 1, code)
            self.assertEqual(0, pub.client.stats['parked'], code)
            self.assertFalse(os.path.exists(os.path.join(
                spool, 'quarantine', 'records.jsonl')), code)
            self.assertIn('Result-Code %d' % code, self.logger.output)
            pub.close()
        self.assertExactlyOnce([cdf], published)

    def test_only_permanent_failures_are_parked(self):
        # The peer refuses the records of one session with 5012
        # (UNABLE_TO_COMPLY) and the others with 3005 (LOOP_DETECTED):
        # only the first are parked; the others reach freeDiameter.
        cdf = self.useFixture(cdf_mod.ChargingDataFunction())

        def script(acr):
            return 5012 if acr.session_id.endswith('-session-0') else 3005
        peer = self.useFixture(scripted_peer.ScriptedPeer(script))
        pub = self.load(self.url(peer, failover=[cdf]))
        published = events.charged_sessions(30, 'perm')
        pub.publish_events(published)
        self.wait_delivered(pub)
        self.assertEqual(3, pub.client.stats['parked'])
        self.assertExactlyOnce([cdf], published[3:])
        self.assertIn('5012 (DIAMETER_UNABLE_TO_COMPLY)', self.logger.output)
