"""Which challenges of an IMSI are dropped when it has too many."""

import testtools

from vdesk_openstack.hss import challenges

NOW = 1000.0


def outstanding(*specs):
    """(id, source, expires_at) tuples -> :class:`challenges.Outstanding`."""
    return [challenges.Outstanding(*spec) for spec in specs]


class EvictionsTest(testtools.TestCase):

    def test_nothing_dropped_within_the_bound(self):
        rows = outstanding(('a', 'x', NOW + 1), ('b', 'y', NOW + 2))
        self.assertEqual([], challenges.evictions(rows, 2, NOW))
        self.assertEqual([], challenges.evictions([], 1, NOW))

    def test_expired_ones_always_go(self):
        rows = outstanding(('old', 'x', NOW - 1), ('a', 'x', NOW + 1))
        self.assertEqual(['old'], challenges.evictions(rows, 5, NOW))

    def test_flooding_address_drops_its_own_oldest(self):
        # The SIM's challenge is the oldest of all; a stranger's flood
        # from one address pushes out only the stranger's.
        rows = outstanding(('sim', 'sim-addr', NOW + 1),
                           *[('s%d' % i, 'stranger', NOW + 2 + i)
                             for i in range(5)])
        self.assertEqual(['s0'], challenges.evictions(rows, 5, NOW))
        self.assertEqual(['s0', 's1', 's2'],
                         challenges.evictions(rows, 3, NOW))
        # Down to one each, then the oldest of all.
        self.assertEqual(['s0', 's1', 's2', 's3', 'sim'],
                         challenges.evictions(rows, 1, NOW))

    def test_ties_drop_the_oldest_of_all(self):
        rows = outstanding(('b', 'y', NOW + 2), ('a', 'x', NOW + 1),
                           ('c', 'z', NOW + 3))
        self.assertEqual(['a'], challenges.evictions(rows, 2, NOW))

    def test_no_source_is_a_source_of_its_own(self):
        rows = outstanding(('a', None, NOW + 1), ('b', None, NOW + 2),
                           ('c', 'x', NOW + 3))
        self.assertEqual(['a'], challenges.evictions(rows, 2, NOW))
