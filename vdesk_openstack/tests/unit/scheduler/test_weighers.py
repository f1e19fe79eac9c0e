"""Tests of SubscriptionWeigher through nova's weight handler."""

from nova.scheduler import weights
from nova.scheduler.weights import ram

from vdesk_openstack.scheduler import weighers
from vdesk_openstack.tests.unit.scheduler import base


class SubscriptionWeigherTest(base.SchedulerTestCase):

    def setUp(self):
        super().setUp()
        self.handler = weights.HostWeightHandler()
        self.weigher = weighers.SubscriptionWeigher()
        # Pool hosts of 8192 MB and 10 vCPUs at different loads.
        self.hosts = [base.host('half', ram_used=4096, vcpus_used=5),
                      base.host('empty'),
                      base.host('full', ram_used=6144, vcpus_used=6),
                      base.host('cpu-full', ram_used=1024, vcpus_used=7)]

    def weighed(self, spec, weighers_=None, hosts=None):
        return self.handler.get_weighed_objects(
            weighers_ or [self.weigher], hosts or self.hosts, spec)

    def order(self, spec, **kwargs):
        return [w.obj.host for w in self.weighed(spec, **kwargs)]

    def test_spread_tiers_prefer_the_emptiest_host(self):
        for tier in ('gold', 'Silver'):
            self.assertEqual(['empty', 'half', 'cpu-full', 'full'],
                             self.order(base.request(tier)), tier)

    def test_other_tiers_pack_onto_the_fullest_host(self):
        # 'full' keeps min(1024/8192, 3/10) free, 'cpu-full' 2/10 vCPUs.
        self.assertEqual(['full', 'cpu-full', 'half', 'empty'],
                         self.order(base.request('bronze')))

    def test_spread_tiers_are_configurable(self):
        self.flags(spread_tiers=['bronze'], group='vdesk_scheduler')
        self.assertEqual('empty', self.order(base.request('bronze'))[0])
        self.assertEqual('full', self.order(base.request('gold'))[0])

    def test_weights_are_scaled_by_the_multiplier(self):
        weighed = self.weighed(base.request('gold'))
        self.assertEqual(10.0, weighed[0].weight)
        self.assertEqual(0.0, weighed[-1].weight)
        self.flags(weight_multiplier=2.5, group='vdesk_scheduler')
        self.assertEqual(2.5, self.weighed(base.request('gold'))[0].weight)

    def test_aggregate_overrides_the_multiplier(self):
        override = base.aggregate(7, vdesk_pool='true',
                                  vdesk_weight_multiplier='-1.0')
        hosts = [base.host('empty', aggregates=(override,)),
                 base.host('full', ram_used=6144)]
        weighed = self.weighed(base.request('gold'), hosts=hosts)
        self.assertEqual(['full', 'empty'], [w.obj.host for w in weighed])
        self.assertEqual(-1.0, weighed[1].weight)
        self.assertEqual(-1.0, self.weigher.weight_multiplier(hosts[0]))
        self.assertEqual(10.0, self.weigher.weight_multiplier(hosts[1]))

    def test_request_without_tier_weighs_nothing(self):
        spec = base.request()
        self.assertEqual([0.0] * 4,
                         self.weigher.weigh_objects(
                             [weights.WeighedHost(h, 0.0)
                              for h in self.hosts], spec))
        self.assertEqual(['empty', 'cpu-full', 'half', 'full'],
                         self.order(spec, weighers_=[ram.RAMWeigher(),
                                                     self.weigher]))

    def test_forged_hint_weighs_nothing(self):
        # As a bronze desktop it would pack onto 'full'.
        spec = base.request(vdesk_priority=['bronze'])
        self.assertEqual([0.0] * 4,
                         self.weigher.weigh_objects(
                             [weights.WeighedHost(h, 0.0)
                              for h in self.hosts], spec))
        self.assertEqual('empty', self.order(
            spec, weighers_=[ram.RAMWeigher(), self.weigher])[0])

    def test_flavor_tier_wins_over_the_hint(self):
        spec = base.request('bronze', vdesk_priority=['gold'])
        self.assertEqual('full', self.order(spec)[0])

    def test_unknown_tier_weighs_nothing(self):
        self.assertEqual([0.0] * 4,
                         self.weigher.weigh_objects(
                             [weights.WeighedHost(h, 0.0)
                              for h in self.hosts],
                             base.request('platinum')))

    def test_default_multiplier_outweighs_nova_spreading_weighers(self):
        # Bronze packs even against nova's RAM weigher, which spreads.
        self.assertEqual('full', self.order(
            base.request('bronze'),
            weighers_=[ram.RAMWeigher(), self.weigher])[0])

    def test_weigh_object(self):
        self.assertEqual(0.5, self.weigher._weigh_object(
            self.hosts[0], base.request('gold', ram_mb=0, vcpus=0)))
        self.assertEqual(-0.25, self.weigher._weigh_object(
            self.hosts[2], base.request('bronze', ram_mb=0, vcpus=0)))
