"""The software USIM against vectors from the network side."""

import json
import threading

from oslotest import base

from vdesk_openstack.aka import exceptions
from vdesk_openstack.aka import sqn as sqnlib
from vdesk_openstack.aka import usim
from vdesk_openstack.aka import vectors
from vdesk_openstack.tests.unit.aka import conformance

SET1 = conformance.SETS[1]
K, OP, OPC = SET1['K'], SET1['OP'], SET1['OPc']
AMF = b'\x80\x00'


def vector(seq, ind, rand=None):
    return vectors.generate_vector(K, OPC, sqnlib.join(seq, ind), AMF,
                                   rand=rand)


class TestAuthenticate(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.usim = usim.Usim(K, OPC)

    def assertAccepted(self, v, card=None):
        response = (card or self.usim).authenticate(v.rand, v.autn)
        self.assertEqual(v.xres, response.res)
        self.assertEqual(v.ck, response.ck)
        self.assertEqual(v.ik, response.ik)

    def assertSync(self, v, expected_sqn_ms, card=None):
        exc = self.assertRaises(exceptions.SyncFailure,
                                (card or self.usim).authenticate, v.rand,
                                v.autn)
        self.assertEqual(14, len(exc.auts))
        self.assertEqual(expected_sqn_ms,
                         vectors.verify_auts(K, OPC, v.rand, exc.auts))
        return exc

    def test_fresh_accepted(self):
        self.assertAccepted(vectors.generate_vector(
            K, OPC, sqnlib.next_sqn(0), AMF))

    def test_from_op(self):
        card = usim.Usim.from_op(K, OP)
        self.assertAccepted(vector(1, 1), card)

    def test_replay_rejected_with_auts(self):
        v = vector(5, 2)
        self.assertAccepted(v)
        self.assertSync(v, v.sqn)

    def test_out_of_order_across_slots(self):
        batch = vectors.generate_vectors(K, OPC, 0, AMF, 6)
        for i in (3, 1, 5, 0, 4, 2):
            self.assertAccepted(batch[i])
        for v in batch:
            self.assertSync(v, batch[-1].sqn)

    def test_older_seq_in_same_slot_rejected(self):
        batch = vectors.generate_vectors(K, OPC, 0, AMF, 33)
        first, wrapped = batch[0], batch[32]
        self.assertEqual(sqnlib.split(first.sqn)[1],
                         sqnlib.split(wrapped.sqn)[1])
        self.assertAccepted(wrapped)
        self.assertSync(first, wrapped.sqn)
        # Another slot still takes its older vector (C.2.2).
        self.assertAccepted(batch[1])

    def test_too_far_ahead_rejected_then_resynchronised(self):
        self.assertAccepted(vector(10, 4))
        far = vector(10 + sqnlib.DELTA + 1, 5)
        exc = self.assertSync(far, sqnlib.join(10, 4))
        # The HE side of 6.3.5: restart above SQN_MS from AUTS.
        sqn_ms = vectors.verify_auts(K, OPC, far.rand, exc.auts)
        nxt = vectors.generate_vector(K, OPC, sqnlib.next_sqn(sqn_ms), AMF)
        self.assertAccepted(nxt)

    def test_exactly_delta_ahead_accepted(self):
        self.assertAccepted(vector(10, 4))
        self.assertAccepted(vector(10 + sqnlib.DELTA, 5))

    def test_fresh_card_resync_from_zero(self):
        exc = self.assertSync(vector(sqnlib.DELTA + 1, 0), 0)
        self.assertIsInstance(exc, exceptions.AkaError)

    def test_mac_failure(self):
        v = vector(1, 1)
        for index in (0, 5, 6, 8, 15):
            autn = bytearray(v.autn)
            autn[index] ^= 0x01
            self.assertRaises(exceptions.MacFailure, self.usim.authenticate,
                              v.rand, bytes(autn))
        other_rand = bytes(a ^ 1 for a in v.rand)
        self.assertRaises(exceptions.MacFailure, self.usim.authenticate,
                          other_rand, v.autn)
        # A forged AUTN must not consume the slot of the genuine one.
        self.assertAccepted(v)

    def test_wrong_key(self):
        other = conformance.SETS[4]
        v = vectors.generate_vector(other['K'], other['OPc'], 99, AMF)
        self.assertRaises(exceptions.MacFailure, self.usim.authenticate,
                          v.rand, v.autn)

    def test_bad_lengths(self):
        v = vector(1, 1)
        self.assertRaises(ValueError, self.usim.authenticate, v.rand[:15],
                          v.autn)
        self.assertRaises(ValueError, self.usim.authenticate, v.rand,
                          v.autn + b'\x00')
        self.assertRaises(ValueError, self.usim.authenticate, v.rand,
                          v.autn.hex())
        self.assertRaises(ValueError, usim.Usim, K[:15], OPC)

    def test_state_round_trip(self):
        v1, v2 = vector(7, 1), vector(8, 2)
        self.assertAccepted(v1)
        state = json.loads(json.dumps(self.usim.state()))
        restored = usim.Usim(K, OPC, state=state)
        self.assertSync(v1, v1.sqn, restored)
        self.assertAccepted(v2, restored)
        # Without the state a card would take the replay: state matters.
        self.assertAccepted(v1, usim.Usim(K, OPC))

    def test_bad_state(self):
        self.assertRaises(ValueError, usim.Usim, K, OPC, state={'x': 1})

    def test_no_secrets_in_repr_or_messages(self):
        v = vector(3, 3)
        response = self.usim.authenticate(v.rand, v.autn)
        texts = [repr(response), repr(self.usim)]
        exc = self.assertRaises(exceptions.SyncFailure,
                                self.usim.authenticate, v.rand, v.autn)
        texts.append(str(exc))
        texts.append(str(self.assertRaises(
            exceptions.MacFailure, self.usim.authenticate, v.rand,
            bytes(16))))
        for text in texts:
            for secret in (K, OPC, v.xres, v.ck, v.ik):
                self.assertNotIn(secret.hex(), text)
                self.assertNotIn(repr(secret), text)


class TestConcurrency(base.BaseTestCase):

    THREADS = 20

    def _run(self, card, challenges):
        barrier = threading.Barrier(len(challenges))
        results = [None] * len(challenges)

        def worker(i, v):
            barrier.wait()
            try:
                results[i] = card.authenticate(v.rand, v.autn)
            except exceptions.AkaError as exc:
                results[i] = exc

        threads = [threading.Thread(target=worker, args=(i, v))
                   for i, v in enumerate(challenges)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return results

    def test_distinct_challenges_all_accepted(self):
        card = usim.Usim(K, OPC)
        batch = vectors.generate_vectors(K, OPC, 0, AMF, self.THREADS)
        results = self._run(card, batch)
        for v, result in zip(batch, results):
            self.assertIsInstance(result, usim.UsimResponse)
            self.assertEqual(v.xres, result.res)
            self.assertEqual(v.ck, result.ck)
        self.assertEqual(sorted(sqnlib.split(v.sqn)[0] for v in batch),
                         sorted(s for s in card.state()['seq_ms'] if s))

    def test_same_challenge_accepted_once(self):
        card = usim.Usim(K, OPC)
        v = vector(1, 1)
        results = self._run(card, [v] * self.THREADS)
        accepted = [r for r in results if isinstance(r, usim.UsimResponse)]
        rejected = [r for r in results
                    if isinstance(r, exceptions.SyncFailure)]
        self.assertEqual(1, len(accepted))
        self.assertEqual(self.THREADS - 1, len(rejected))
