"""SQN = SEQ || IND and the USIM's SEQ_MS array (TS 33.102 Annex C)."""

import json

from oslotest import base

from vdesk_openstack.aka import sqn


class TestEncoding(base.BaseTestCase):

    def test_constants(self):
        self.assertEqual(5, sqn.IND_BITS)
        self.assertEqual(32, sqn.IND_COUNT)
        self.assertEqual(2 ** 48 - 1, sqn.SQN_MAX)
        self.assertEqual(2 ** 28, sqn.DELTA)

    def test_split_join(self):
        self.assertEqual((0x123, 7), sqn.split((0x123 << 5) | 7))
        self.assertEqual((0x123 << 5) | 7, sqn.join(0x123, 7))
        self.assertEqual((2 ** 43 - 1, 31), sqn.split(sqn.SQN_MAX))

    def test_join_rejects_out_of_range(self):
        self.assertRaises(ValueError, sqn.join, 1, 32)
        self.assertRaises(ValueError, sqn.join, 1, -1)
        self.assertRaises(ValueError, sqn.join, 2 ** 43, 0)
        self.assertRaises(ValueError, sqn.split, 2 ** 48)
        self.assertRaises(ValueError, sqn.split, '1')

    def test_bytes(self):
        self.assertEqual(b'\xff\x9b\xb4\xd0\xb6\x07',
                         sqn.to_bytes(0xff9bb4d0b607))
        self.assertEqual(0xff9bb4d0b607,
                         sqn.from_bytes(b'\xff\x9b\xb4\xd0\xb6\x07'))
        self.assertRaises(ValueError, sqn.from_bytes, bytes(5))
        self.assertRaises(ValueError, sqn.to_bytes, -1)


class TestNextSqn(base.BaseTestCase):

    def test_first(self):
        self.assertEqual(sqn.join(1, 1), sqn.next_sqn(0))

    def test_ind_wraps_and_value_grows(self):
        last = sqn.join(5, 31)
        nxt = sqn.next_sqn(last)
        self.assertEqual(sqn.join(6, 0), nxt)
        self.assertGreater(nxt, last)

    def test_successive_sqns_use_every_slot(self):
        current, slots = sqn.join(1000, 17), []
        for _ in range(32):
            new = sqn.next_sqn(current)
            self.assertGreater(new, current)
            slots.append(sqn.split(new)[1])
            current = new
        self.assertEqual(list(range(32)), sorted(slots))

    def test_exhausted(self):
        self.assertRaises(ValueError, sqn.next_sqn, sqn.join(2 ** 43 - 1, 3))
        self.assertEqual(sqn.join(2 ** 43 - 1, 4),
                         sqn.next_sqn(sqn.join(2 ** 43 - 2, 3)))


class TestSqnArray(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.array = sqn.SqnArray()

    def test_initial(self):
        self.assertEqual(0, self.array.highest())
        self.assertTrue(self.array.is_fresh(sqn.join(1, 0)))
        self.assertFalse(self.array.is_fresh(sqn.join(0, 0)))

    def test_replay_rejected(self):
        self.array.accept(sqn.join(7, 3))
        self.assertFalse(self.array.is_fresh(sqn.join(7, 3)))
        self.assertFalse(self.array.is_fresh(sqn.join(6, 3)))
        self.assertTrue(self.array.is_fresh(sqn.join(8, 3)))

    def test_out_of_order_in_other_slots(self):
        # C.2.2: only the slot of IND matters for freshness.
        self.array.accept(sqn.join(10, 5))
        self.assertTrue(self.array.is_fresh(sqn.join(3, 6)))
        self.array.accept(sqn.join(3, 6))
        self.assertFalse(self.array.is_fresh(sqn.join(3, 6)))
        self.assertFalse(self.array.is_fresh(sqn.join(9, 5)))

    def test_delta(self):
        # C.2.1: SEQ - max(SEQ_MS) <= DELTA.
        self.assertTrue(self.array.is_fresh(sqn.join(sqn.DELTA, 0)))
        self.assertFalse(self.array.is_fresh(sqn.join(sqn.DELTA + 1, 0)))
        self.array.accept(sqn.join(100, 3))
        self.assertTrue(self.array.is_fresh(sqn.join(100 + sqn.DELTA, 4)))
        self.assertFalse(self.array.is_fresh(sqn.join(101 + sqn.DELTA, 4)))

    def test_highest_is_max_seq_with_its_own_ind(self):
        self.array.accept(sqn.join(10, 5))
        self.array.accept(sqn.join(3, 6))
        self.array.accept(sqn.join(4, 31))
        self.assertEqual(sqn.join(10, 5), self.array.highest())

    def test_dict_round_trip(self):
        self.array.accept(sqn.join(10, 5))
        self.array.accept(sqn.join(2 ** 43 - 1, 31))
        state = json.loads(json.dumps(self.array.to_dict()))
        restored = sqn.SqnArray.from_dict(state)
        self.assertEqual(self.array, restored)
        self.assertFalse(restored.is_fresh(sqn.join(10, 5)))
        self.assertNotEqual(sqn.SqnArray(), restored)

    def test_to_dict_is_a_copy(self):
        state = self.array.to_dict()
        state['seq_ms'][0] = 99
        self.assertEqual(0, self.array.highest())

    def test_from_dict_rejects_garbage(self):
        for bad in (None, [], {}, {'seq_ms': [0] * 31},
                    {'seq_ms': [0] * 31 + [-1]},
                    {'seq_ms': [0] * 31 + [2 ** 43]},
                    {'seq_ms': [0] * 31 + ['1']},
                    {'seq_ms': 'x' * 32}):
            self.assertRaises(ValueError, sqn.SqnArray.from_dict, bad)


class TestResync(base.BaseTestCase):
    """TS 33.102 6.3.5 with the Annex C.2 acceptance rules."""

    def test_he_behind_is_reset_to_sqn_ms(self):
        sqn_he, sqn_ms = sqn.join(10, 3), sqn.join(500, 7)
        self.assertEqual(sqn_ms, sqn.resync_sqn(sqn_he, sqn_ms))

    def test_he_one_behind_is_reset(self):
        # Next SEQ_HE would equal SEQ_MS: not fresh (C.2.2 needs greater).
        sqn_he, sqn_ms = sqn.join(499, 31), sqn.join(500, 0)
        self.assertEqual(sqn_ms, sqn.resync_sqn(sqn_he, sqn_ms))

    def test_equal_is_kept(self):
        sqn_he = sqn.join(500, 7)
        self.assertEqual(sqn_he, sqn.resync_sqn(sqn_he, sqn_he))

    def test_he_ahead_within_delta_is_kept(self):
        sqn_ms = sqn.join(500, 7)
        for seq_he in (501, 500 + sqn.DELTA - 1):
            sqn_he = sqn.join(seq_he, 2)
            self.assertEqual(sqn_he, sqn.resync_sqn(sqn_he, sqn_ms))

    def test_he_ahead_beyond_delta_is_lowered_to_sqn_ms(self):
        sqn_ms = sqn.join(500, 7)
        # The next SEQ_HE is 500 + DELTA + 1: one more than C.2.1 allows.
        sqn_he = sqn.join(500 + sqn.DELTA, 2)
        self.assertEqual(sqn_ms, sqn.resync_sqn(sqn_he, sqn_ms))
        self.assertLess(sqn.resync_sqn(sqn_he, sqn_ms), sqn_he)
        fresh_sim = sqn.join(0, 0)
        far = sqn.join(sqn.DELTA + 1000, 0)
        self.assertEqual(fresh_sim, sqn.resync_sqn(far, fresh_sim))

    def test_exhausted_he_is_reset(self):
        sqn_ms = sqn.join(7, 1)
        self.assertEqual(sqn_ms, sqn.resync_sqn(sqn.SQN_MAX, sqn_ms))

    def test_agrees_with_the_usim_array(self):
        # What the HE predicts is what a USIM does whose every slot holds
        # SEQ_MS (the HE cannot know the lower slots, so it assumes so).
        for seq_ms, seq_he in ((100, 50), (100, 99), (100, 100),
                               (100, 101), (100, 100 + sqn.DELTA - 1),
                               (100, 100 + sqn.DELTA)):
            usim = sqn.SqnArray()
            for ind in range(sqn.IND_COUNT):
                usim.accept(sqn.join(seq_ms, ind))
            sqn_ms = usim.highest()
            sqn_he = sqn.join(seq_he, 4)
            kept = sqn.resync_sqn(sqn_he, sqn_ms) == sqn_he
            self.assertEqual(usim.is_fresh(sqn.next_sqn(sqn_he)), kept,
                             (seq_ms, seq_he))

    def test_rejects_bad_input(self):
        self.assertRaises(ValueError, sqn.resync_sqn, 1, -1)
        self.assertRaises(ValueError, sqn.resync_sqn, '1', 1)
