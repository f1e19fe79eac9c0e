"""Desktops placed by Nova's real scheduler with our filter and weigher.

Every test starts four fake computes of 10 vCPUs and 8192 MB (allocation
ratios 1.0, nothing reserved), three in the desktop pool at different loads
and one outside it, empty:

========  =======  =================  ====================================
host      pool     load (MB / vCPUs)  after a 1024 MB / 1 vCPU desktop
========  =======  =================  ====================================
pool-a    yes      1024 / 1           75% RAM, 80% vCPUs free
pool-b    yes      3072 / 3           50% RAM, 60% vCPUs free
pool-c    yes      5120 / 5           25% RAM, 40% vCPUs free
outside   no       0 / 0              the emptiest host of all
========  =======  =================  ====================================

Tiers are the defaults: gold keeps 30% free and spreads, silver 15% and
spreads, bronze 0% and packs.
"""

import time

from vdesk_openstack.tests.functional import nova_harness

DESKTOP = (1024, 1)


class PoolTestCase(nova_harness.NovaHarnessTestCase):

    def setUp(self):
        super().setUp()
        self._start_computes('pool-a', 'pool-b', 'pool-c', 'outside')
        self._create_pool_aggregate('desktops', ['pool-a', 'pool-b',
                                                 'pool-c'])
        # An aggregate without vdesk_pool does not make a pool host.
        self._create_aggregate_with_hosts('general', ['outside'],
                                          ssd='true')
        self._load_hosts({'pool-a': (1024, 1), 'pool-b': (3072, 3),
                          'pool-c': (5120, 5)})
        self.desktop_flavor = self._flavor(*DESKTOP)


class TierPlacementTest(PoolTestCase):
    """Where each tier lands, and when it lands nowhere."""

    def test_gold_goes_to_the_emptiest_pool_host(self):
        server = self._create_desktop(self.desktop_flavor, 'gold')
        # Not 'outside', the emptiest host, which Nova alone would pick.
        self.assertEqual('pool-a', self._host_of(server))

    def test_bronze_packs_onto_the_fullest_pool_host_that_fits(self):
        server = self._create_desktop(self.desktop_flavor, 'bronze')
        self.assertEqual('pool-c', self._host_of(server))
        # pool-c: 6144 MB used, 2048 MB left: exactly one more 2048 MB
        # bronze desktop fits there (bronze keeps nothing free) ...
        bigger = self._flavor(2048, 2)
        server = self._create_desktop(bigger, 'bronze')
        self.assertEqual('pool-c', self._host_of(server))
        # ... then pool-c is full and the next goes to the fullest of the
        # hosts that still fit.
        server = self._create_desktop(bigger, 'bronze')
        self.assertEqual('pool-b', self._host_of(server))

    def test_desktop_never_lands_outside_the_pool(self):
        # 8192 MB fits only the empty host outside the pool.
        whole_host = self._flavor(8192, 8)
        server = self._create_desktop(whole_host, 'bronze',
                                      expected_state='ERROR')
        self._assert_no_valid_host(server)
        # The same server without the hint is not a desktop: it goes there.
        server = self._create_server_with_hints(whole_host, hints=None)
        self.assertEqual('outside', self._host_of(server))

    def test_exhausted_tier_headroom_is_no_valid_host(self):
        # 6144 MB / 6 vCPUs fit only pool-a among the pool hosts, leaving
        # it 12.5% of RAM free: less than gold's 30%.
        large = self._flavor(6144, 6)
        server = self._create_desktop(large, 'gold', expected_state='ERROR')
        self._assert_no_valid_host(server)
        # Bronze keeps nothing free, so the same size fits there.
        server = self._create_desktop(large, 'bronze')
        self.assertEqual('pool-a', self._host_of(server))

    def test_unknown_tier_is_no_valid_host_with_a_clear_log_line(self):
        server = self._create_desktop(self.desktop_flavor, 'platinum',
                                      expected_state='ERROR')
        self._assert_no_valid_host(server)
        output = self.stdlog.logger.output
        self.assertIn("Refusing desktop %s on every host: scheduler hint "
                      "vdesk_priority='platinum' names no tier" %
                      server['id'], output)


class DesktopLifecycleTest(PoolTestCase):
    """Unshelving desktops, and servers that are not desktops."""

    def test_unshelve_obeys_the_same_rules(self):
        conn = self._openstack_connection()
        server = conn.compute.create_server(
            name='desktop', image_id=self.image_id,
            flavor_id=self.desktop_flavor, networks='none',
            scheduler_hints={'vdesk_priority': 'gold'})
        server = conn.compute.wait_for_server(server, wait=60, interval=0.5)
        self.assertEqual('pool-a', server.compute_host)

        # Logout: shelve, which offloads at once and frees pool-a.
        conn.compute.shelve_server(server)
        server = conn.compute.wait_for_server(
            server, status='SHELVED_OFFLOADED', wait=60, interval=0.5)
        # The status can show before the host is cleared on a busy
        # machine; the host must go within moments.
        deadline = time.monotonic() + 30
        while server.compute_host is not None and \
                time.monotonic() < deadline:
            time.sleep(0.2)
            server = conn.compute.get_server(server.id)
        self.assertIsNone(server.compute_host)

        # Meanwhile pool-a fills up: 5120 MB used, so a gold desktop there
        # would leave 25% free, under gold's 30%.
        self._load_hosts({'pool-a': (4096, 1)})

        # Next login: the hint persists in the RequestSpec, so the desktop
        # goes to the emptiest pool host that keeps gold's headroom, not to
        # pool-a (too full) nor to 'outside' (emptier, outside the pool).
        conn.compute.unshelve_server(server)
        server = conn.compute.wait_for_server(server, wait=60, interval=0.5)
        self.assertEqual('pool-b', server.compute_host)

    def test_server_without_hint_is_unaffected(self):
        half = self._flavor(4096, 4)
        # Nova's own weighers spread: first the empty host ...
        server = self._create_server_with_hints(half, hints=None)
        self.assertEqual('outside', self._host_of(server))
        # ... then the emptiest, which is now a pool host.
        server = self._create_server_with_hints(half, hints=None)
        self.assertEqual('pool-a', self._host_of(server))

    def test_reserve_pool_keeps_other_servers_off_the_pool(self):
        self.flags(reserve_pool=True, group='vdesk_scheduler')
        half = self._flavor(4096, 4)
        for _ in range(2):
            server = self._create_server_with_hints(half, hints=None)
            self.assertEqual('outside', self._host_of(server))
        server = self._create_server_with_hints(half, hints=None,
                                                expected_state='ERROR')
        self._assert_no_valid_host(server)
        # Desktops still use the pool.
        server = self._create_desktop(self.desktop_flavor, 'silver')
        self.assertEqual('pool-a', self._host_of(server))
