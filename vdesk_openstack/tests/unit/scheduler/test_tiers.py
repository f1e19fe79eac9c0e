"""Tests of the pure tier arithmetic (no Nova)."""

import fractions
import threading

import testtools

from vdesk_openstack.scheduler import tiers


class ParseTiersTest(testtools.TestCase):

    def test_default_value(self):
        rules = tiers.parse_tiers('gold:0.30,silver:0.15,bronze:0.0')
        self.assertEqual({'gold': fractions.Fraction(3, 10),
                          'silver': fractions.Fraction(3, 20),
                          'bronze': 0},
                         {name: rule.fraction for name, rule in rules.items()})

    def test_names_are_case_insensitive_and_stripped(self):
        rules = tiers.parse_tiers(' Gold : 0.5 , ,BRONZE:0')
        self.assertEqual({'gold', 'bronze'}, set(rules))
        self.assertEqual('gold', rules['gold'].name)

    def test_invalid_values(self):
        for value, message in [
                ('', 'no tier'),
                ('gold', 'name:fraction'),
                (':0.3', 'name:fraction'),
                ('gold:abc', 'not a decimal'),
                ('gold:1', 'less than 1'),
                ('gold:-0.1', 'at least 0'),
                ('gold:0.3,GOLD:0.2', 'twice')]:
            e = self.assertRaises(ValueError, tiers.parse_tiers, value)
            self.assertIn(message, str(e), value)

    def test_parsed_once_per_value(self):
        value = 'platinum:0.5,gold:0.3'
        self.assertIs(tiers.parse_tiers(value), tiers.parse_tiers(value))

    def test_parsing_is_shared_safely_between_threads(self):
        value = ','.join('t%d:0.%d' % (i, i) for i in range(10))
        results = []

        def parse():
            for _ in range(200):
                results.append(tiers.parse_tiers(value)['t7'].fraction)

        threads = [threading.Thread(target=parse) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual({fractions.Fraction(7, 10)}, set(results))
        self.assertEqual(800, len(results))


class TierNamesTest(testtools.TestCase):

    def test_parse_tier_names(self):
        self.assertEqual(frozenset({'gold', 'silver'}),
                         tiers.parse_tier_names('Gold, silver,,'))

    def test_is_true(self):
        for value in ('true', 'True', '1', 'yes', ' on '):
            self.assertTrue(tiers.is_true(value), value)
        for value in ('false', '0', 'no', '', 'pool'):
            self.assertFalse(tiers.is_true(value), value)


class HeadroomTest(testtools.TestCase):

    gold = tiers.TierRule('gold', fractions.Fraction(3, 10))
    bronze = tiers.TierRule('bronze', fractions.Fraction(0))

    def test_exact_at_the_boundary(self):
        # 10 vCPUs, 3 free after placing: exactly 30%, which float
        # arithmetic (0.3 * 10 = 3.0000000000000004) would refuse.
        room = tiers.Headroom(10000, 0, 10, 5, 7000, 2)
        self.assertEqual(3, room.vcpus_free)
        self.assertTrue(room.admits(self.gold))
        room = tiers.Headroom(10000, 0, 10, 6, 7000, 2)
        self.assertFalse(room.admits(self.gold))

    def test_ram_and_vcpus_both_count(self):
        self.assertFalse(
            tiers.Headroom(8192, 6144, 10, 0, 1024, 1).admits(self.gold))
        self.assertFalse(
            tiers.Headroom(8192, 0, 10, 8, 1024, 1).admits(self.gold))

    def test_zero_fraction_needs_the_desktop_to_fit(self):
        self.assertTrue(
            tiers.Headroom(8192, 7168, 10, 9, 1024, 1).admits(self.bronze))
        self.assertFalse(
            tiers.Headroom(8192, 7169, 10, 9, 1024, 1).admits(self.bronze))

    def test_no_capacity_admits_nothing(self):
        self.assertFalse(tiers.Headroom(0, 0, 10, 0, 0, 1).admits(self.bronze))
        self.assertEqual(0.0, tiers.Headroom(0, 0, 10, 0, 0, 1).free_share())

    def test_free_share_is_the_scarcer_resource(self):
        room = tiers.Headroom(8192, 0, 10, 6, 4096, 2)
        self.assertEqual(0.2, room.free_share())

    def test_capacity_with_allocation_ratio(self):
        self.assertEqual(15, tiers.capacity(10, 1.5))
        self.assertEqual(12288, tiers.capacity(8192, 1.5))
        self.assertEqual(10, tiers.capacity(10, None))
        self.assertEqual(10, tiers.capacity(10, 0.0))
        # Placement floors the capacity too.
        self.assertEqual(11, tiers.capacity(10, 1.19))
