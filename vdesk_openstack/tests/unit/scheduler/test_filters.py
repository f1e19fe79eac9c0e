"""Tests of SubscriptionFilter over nova's fake host states."""

import threading
from unittest import mock

from nova import objects
from nova.scheduler import filters as nova_filters

from vdesk_openstack.scheduler import filters
from vdesk_openstack.tests.unit.scheduler import base


def names(host_states):
    return [h.host for h in host_states]


class SubscriptionFilterTest(base.SchedulerTestCase):

    def setUp(self):
        super().setUp()
        self.filt = filters.SubscriptionFilter()

    def passing(self, hosts, spec):
        return names(self.filt.filter_all(hosts, spec))

    def test_request_without_tier_passes_untouched(self):
        hosts = [base.host('pool', ram_used=8192, vcpus_used=10),
                 base.host('plain', aggregates=()),
                 base.host('other', aggregates=(base.OTHER,))]
        for spec in (base.request(other_hint=['x']),
                     base.request(extra_specs={'hw:cpu_policy': 'shared'})):
            self.assertEqual(['pool', 'plain', 'other'],
                             self.passing(hosts, spec))

    def test_forged_hint_is_not_a_desktop(self):
        # A full pool host and hosts outside the pool: a gold desktop
        # would pass none of them.
        hosts = [base.host('pool', ram_used=8192, vcpus_used=10),
                 base.host('plain', aggregates=())]
        for tier in ('gold', 'platinum'):
            spec = base.request(vdesk_priority=[tier])
            self.assertEqual(['pool', 'plain'], self.passing(hosts, spec))
        self.assertIn('ignoring the scheduler hint vdesk_priority',
                      self.stdlog.logger.output)
        self.assertNotIn('Refusing', self.stdlog.logger.output)

    def test_forged_hint_stays_off_a_reserved_pool(self):
        self.flags(reserve_pool=True, group='vdesk_scheduler')
        hosts = [base.host('pool'), base.host('plain', aggregates=())]
        spec = base.request(vdesk_priority=['gold'])
        self.assertEqual(['plain'], self.passing(hosts, spec))

    def test_flavor_tier_wins_over_the_hint(self):
        # Leaves 2048 MB of 8192 free: bronze's 0% fits, gold's 30% not.
        hosts = [base.host('pool', ram_used=5120)]
        spec = base.request('bronze', vdesk_priority=['gold'])
        self.assertEqual(['pool'], self.passing(hosts, spec))
        spec = base.request('gold', vdesk_priority=['bronze'])
        self.assertEqual([], self.passing(hosts, spec))

    def test_flavor_without_loaded_extra_specs_is_not_read_from_the_db(self):
        # Loading a missing field would be a database query per request.
        spec = base.request()
        spec.flavor = objects.Flavor(memory_mb=1024, vcpus=1, root_gb=1,
                                     ephemeral_gb=0, swap=0)
        with mock.patch.object(objects.Flavor, 'obj_load_attr') as load:
            self.assertEqual(['pool'],
                             self.passing([base.host('pool')], spec))
        load.assert_not_called()

    def test_desktop_only_on_pool_hosts(self):
        hosts = [base.host('plain', aggregates=()),
                 base.host('other', aggregates=(base.OTHER,)),
                 base.host('pool'),
                 base.host('pool-too', aggregates=(base.OTHER, base.POOL)),
                 base.host('not-pool',
                           aggregates=(base.aggregate(9, vdesk_pool='no'),))]
        for tier in ('gold', 'silver', 'bronze'):
            self.assertEqual(['pool', 'pool-too'],
                             self.passing(hosts, base.request(tier)), tier)

    def test_aggregates_narrow_tiers(self):
        hosts = [base.host('any'),
                 base.host('gold-only', aggregates=(base.POOL,
                                                    base.GOLD_ONLY)),
                 base.host('silver-bronze', aggregates=(base.SILVER_POOL,)),
                 base.host('union', aggregates=(base.SILVER_POOL,
                                                base.GOLD_ONLY))]
        self.assertEqual(['any', 'gold-only', 'union'],
                         self.passing(hosts, base.request('gold')))
        self.assertEqual(['any', 'silver-bronze', 'union'],
                         self.passing(hosts, base.request('silver')))
        self.assertEqual(['any', 'silver-bronze', 'union'],
                         self.passing(hosts, base.request('BRONZE')))

    def test_tier_headroom_ram_and_vcpus(self):
        # Desktop of 1024 MB and 1 vCPU on hosts of 8192 MB and 10 vCPUs.
        hosts = [base.host('ram-30%', ram_used=4710),    # 2458 MB left
                 base.host('ram-29%', ram_used=4711),    # 2457 MB left
                 base.host('cpu-30%', vcpus_used=6),     # 3 left
                 base.host('cpu-20%', vcpus_used=7),     # 2 left
                 base.host('ram-15%', ram_used=5939),    # 1229 MB left
                 base.host('ram-14%', ram_used=5940),    # 1228 MB left
                 base.host('just-fits', ram_used=7168, vcpus_used=9),
                 base.host('too-full', ram_used=7169)]
        self.assertEqual(['ram-30%', 'cpu-30%'],
                         self.passing(hosts, base.request('gold')))
        self.assertEqual(['ram-30%', 'ram-29%', 'cpu-30%', 'cpu-20%',
                          'ram-15%'],
                         self.passing(hosts, base.request('silver')))
        self.assertEqual(['ram-30%', 'ram-29%', 'cpu-30%', 'cpu-20%',
                          'ram-15%', 'ram-14%', 'just-fits'],
                         self.passing(hosts, base.request('bronze')))

    def test_allocation_ratios(self):
        # 10 physical vCPUs at ratio 2.0: 20 schedulable, 30% is 6.
        # 8192 MB at ratio 1.5: 12288 MB schedulable, 30% is 3686.4.
        hosts = [base.host('cpu-ok', vcpus_used=13, cpu_ratio=2.0),
                 base.host('cpu-full', vcpus_used=14, cpu_ratio=2.0),
                 base.host('ram-ok', ram_used=7577, ram_ratio=1.5),
                 base.host('ram-full', ram_used=7578, ram_ratio=1.5),
                 base.host('no-ratio', vcpus_used=13, ram_used=7577)]
        self.assertEqual(['cpu-ok', 'ram-ok'],
                         self.passing(hosts, base.request('gold')))

    def test_reserved_memory_counts_as_used(self):
        # A compute with reserved_host_memory_mb=2048 and 2708 MB of
        # instances reports free_ram_mb = 8192 - 2048 - 2708 = 3436.
        hosts = [base.host('reserved', ram_used=2048 + 2708),
                 base.host('unreserved', ram_used=2708)]
        self.assertEqual(['unreserved'],
                         self.passing(hosts, base.request('gold',
                                                          ram_mb=3000)))

    def test_unknown_tier_fails_every_host_with_a_log_line(self):
        hosts = [base.host('pool'), base.host('plain', aggregates=())]
        self.assertEqual([], self.passing(hosts, base.request('platinum')))
        output = self.stdlog.logger.output
        self.assertIn("flavor extra spec vdesk:tier='platinum' names no "
                      "tier", output)
        self.assertIn('known: bronze, gold, silver', output)
        self.assertNotIn('Traceback', output)

    def test_malformed_tiers_fail_desktops_but_not_other_requests(self):
        self.flags(tiers='gold=0.3', group='vdesk_scheduler')
        hosts = [base.host('pool')]
        self.assertEqual([], self.passing(hosts, base.request('gold')))
        self.assertIn('not of the form', self.stdlog.logger.output)
        self.assertEqual(['pool'], self.passing(hosts, base.request()))

    def test_malformed_tiers_stop_the_scheduler_from_starting(self):
        self.flags(tiers='gold:2', group='vdesk_scheduler')
        e = self.assertRaises(ValueError, filters.SubscriptionFilter)
        self.assertIn('[vdesk_scheduler] tiers', str(e))

    def test_custom_tiers(self):
        self.flags(tiers='premium:0.5,basic:0', group='vdesk_scheduler')
        hosts = [base.host('half', ram_used=3072), base.host('more',
                                                             ram_used=3073)]
        self.assertEqual(['half'],
                         self.passing(hosts, base.request('premium')))
        self.assertEqual([], self.passing(hosts, base.request('gold')))

    def test_reserve_pool_keeps_other_requests_off_the_pool(self):
        self.flags(reserve_pool=True, group='vdesk_scheduler')
        hosts = [base.host('pool'), base.host('plain', aggregates=()),
                 base.host('other', aggregates=(base.OTHER,))]
        self.assertEqual(['plain', 'other'],
                         self.passing(hosts, base.request()))
        self.assertEqual(['pool'], self.passing(hosts, base.request('gold')))

    def test_rebuild_passes_untouched(self):
        hosts = [base.host('full', ram_used=8000)]
        spec = base.request('gold', _nova_check_type=['rebuild'])
        self.assertEqual(['full'], self.passing(hosts, spec))

    def test_host_passes(self):
        self.assertTrue(self.filt.host_passes(base.host('pool'),
                                              base.request('gold')))
        self.assertFalse(self.filt.host_passes(
            base.host('plain', aggregates=()), base.request('gold')))

    def test_through_nova_filter_handler(self):
        handler = nova_filters.HostFilterHandler()
        hosts = [base.host('plain', aggregates=()), base.host('pool')]
        self.assertEqual(['pool'], names(handler.get_filtered_objects(
            [self.filt], hosts, base.request('silver'))))
        self.assertEqual([], handler.get_filtered_objects(
            [self.filt], hosts, base.request('silver', ram_mb=8192)))

    def test_consumed_host_state_is_rechecked(self):
        # A multi-instance request: nova consumes each placed instance from
        # the host state before filtering for the next one.
        pool_host = base.host('pool', ram_used=3072)
        spec = base.request('gold', ram_mb=1024)
        spec.pci_requests = None
        spec.numa_topology = None
        self.assertTrue(self.filt.run_filter_for_index(1))
        self.assertEqual(['pool'], self.passing([pool_host], spec))
        pool_host.consume_from_request(spec)
        self.assertEqual(['pool'], self.passing([pool_host], spec))
        pool_host.consume_from_request(spec)
        self.assertEqual(5120, 8192 - pool_host.free_ram_mb)
        self.assertEqual([], self.passing([pool_host], spec))

    def test_shared_between_threads(self):
        hosts = [base.host('h%d' % i, ram_used=512 * i, vcpus_used=i % 10)
                 for i in range(16)]
        specs = {tier: base.request(tier) for tier in
                 ('gold', 'silver', 'bronze', 'platinum')}
        specs['none'] = base.request()
        expected = {tier: self.passing(hosts, spec)
                    for tier, spec in specs.items()}
        self.assertNotEqual(expected['gold'], expected['bronze'])
        results = []

        def schedule(tier):
            for _ in range(50):
                results.append((tier, self.passing(hosts, specs[tier])))

        threads = [threading.Thread(target=schedule, args=(tier,))
                   for tier in specs for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(500, len(results))
        for tier, passed in results:
            self.assertEqual(expected[tier], passed, tier)
