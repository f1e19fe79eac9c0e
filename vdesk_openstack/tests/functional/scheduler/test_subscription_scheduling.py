"""Desktops placed by Nova's real scheduler with our filter and weigher.

The pool, its loads and the tiers are described in
:mod:`vdesk_openstack.tests.functional.scheduler.base`. A desktop is a
server whose flavor carries ``vdesk:tier``; the scheduler hint
``vdesk_priority``, which any tenant can send, makes nothing a desktop.
"""

import time

from vdesk_openstack.tests.functional.scheduler import base

DESKTOP = base.DESKTOP


class TierPlacementTest(base.PoolTestCase):
    """Where each tier lands, and when it lands nowhere."""

    def test_gold_goes_to_the_emptiest_pool_host(self):
        server = self._boot_desktop(DESKTOP, 'gold')
        # Not 'outside', the emptiest host, which Nova alone would pick.
        self.assertEqual('pool-a', self._host_of(server))

    def test_bronze_packs_onto_the_fullest_pool_host_that_fits(self):
        server = self._boot_desktop(DESKTOP, 'bronze')
        self.assertEqual('pool-c', self._host_of(server))
        # pool-c: 6144 MB used, 2048 MB left: exactly one more 2048 MB
        # bronze desktop fits there (bronze keeps nothing free) ...
        server = self._boot_desktop((2048, 2), 'bronze')
        self.assertEqual('pool-c', self._host_of(server))
        # ... then pool-c is full and the next goes to the fullest of the
        # hosts that still fit.
        server = self._boot_desktop((2048, 2), 'bronze')
        self.assertEqual('pool-b', self._host_of(server))

    def test_desktop_never_lands_outside_the_pool(self):
        # 8192 MB fits only the empty host outside the pool.
        server = self._boot_desktop((8192, 8), 'bronze',
                                    expected_state='ERROR')
        self._assert_no_valid_host(server)
        # A plain flavor of the same size is not a desktop: it goes there.
        server = self._create_server_with_hints(self._flavor(8192, 8),
                                                hints=None)
        self.assertEqual('outside', self._host_of(server))

    def test_exhausted_tier_headroom_is_no_valid_host(self):
        # 6144 MB / 6 vCPUs fit only pool-a among the pool hosts, leaving
        # it 12.5% of RAM free: less than gold's 30%.
        server = self._boot_desktop((6144, 6), 'gold',
                                    expected_state='ERROR')
        self._assert_no_valid_host(server)
        # Bronze keeps nothing free, so the same size fits there.
        server = self._boot_desktop((6144, 6), 'bronze')
        self.assertEqual('pool-a', self._host_of(server))

    def test_unknown_tier_is_no_valid_host_with_a_clear_log_line(self):
        # nova-api refuses such a tier from microversion 2.86 on; a flavor
        # set before, or scheduler and API configured apart, still fail
        # loudly here.
        server = self._boot_desktop(DESKTOP, 'platinum',
                                    expected_state='ERROR')
        self._assert_no_valid_host(server)
        output = self.stdlog.logger.output
        self.assertIn("Refusing desktop %s on every host: flavor extra "
                      "spec vdesk:tier='platinum' names no tier" %
                      server['id'], output)


class ForgedHintTest(base.PoolTestCase):
    """The old hint, sent by a tenant, earns no desktop treatment."""

    def _forge(self, flavor_id, tier, expected_state='ACTIVE'):
        """A tenant's server with ``vdesk_priority=<tier>`` (non-admin)."""
        body = self._build_server(image_uuid=self.image_id,
                                  flavor_id=flavor_id, networks='none')
        server = self._tenant_api().post_server(
            {'server': body, 'os:scheduler_hints': {base.HINT: tier}})
        return self._wait_for_status(server, expected_state)

    def test_forged_gold_hint_stays_off_a_reserved_pool(self):
        self.flags(reserve_pool=True, group='vdesk_scheduler')
        half = self._flavor(4096, 4)
        # Room is left on every pool host, none on 'outside' after two.
        for _ in range(2):
            server = self._forge(half, 'gold')
            self.assertEqual('outside', self._host_of(server))
        server = self._forge(half, 'gold', expected_state='ERROR')
        self._assert_no_valid_host(server)
        self.assertIn('ignoring the scheduler hint vdesk_priority',
                      self.stdlog.logger.output)
        # A desktop of the same size still gets its pool host.
        server = self._boot_desktop((4096, 4), 'gold')
        self.assertEqual('pool-a', self._host_of(server))

    def test_forged_hint_is_scheduled_as_nova_alone_would(self):
        # A bronze desktop would pack onto pool-c, the fullest pool host;
        # an unknown tier would be refused. With a plain flavor neither
        # happens: Nova's own weighers spread it (which host is emptiest
        # after the first one landed depends on the resource tracker's
        # timing, so only "not where a desktop would go" is asserted).
        server = self._forge(self.desktop_flavor, 'bronze')
        self.assertNotEqual('pool-c', self._host_of(server))
        server = self._forge(self.desktop_flavor, 'platinum')
        self.assertEqual('ACTIVE', server['status'])
        self.assertNotIn('Refusing desktop', self.stdlog.logger.output)

    def test_the_flavor_tier_wins_over_a_hint(self):
        # Gold would spread to pool-a; the flavor says bronze: pool-c.
        server = self._boot_desktop(DESKTOP, 'bronze',
                                    hints={base.HINT: 'gold'})
        self.assertEqual('pool-c', self._host_of(server))


class DesktopLifecycleTest(base.PoolTestCase):
    """Unshelving desktops, and servers that are not desktops."""

    def test_unshelve_obeys_the_same_rules(self):
        conn = self._openstack_connection()
        server = conn.compute.create_server(
            name='desktop', image_id=self.image_id,
            flavor_id=self._tier_flavor(*DESKTOP, tier='gold'),
            networks='none')
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

        # Next login: the RequestSpec keeps the flavor and its tier, so the
        # desktop goes to the emptiest pool host that keeps gold's
        # headroom, not to pool-a (too full) nor to 'outside' (emptier,
        # outside the pool).
        conn.compute.unshelve_server(server)
        server = conn.compute.wait_for_server(server, wait=60, interval=0.5)
        self.assertEqual('pool-b', server.compute_host)

    def test_plain_server_is_unaffected(self):
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
        server = self._boot_desktop(DESKTOP, 'silver')
        self.assertEqual('pool-a', self._host_of(server))


class LaterTierTest(base.PoolTestCase):
    """A tier set on a flavor reaches new servers, not existing ones."""

    def _shelve_and_unshelve(self, server):
        self.admin_api.post_server_action(server['id'], {'shelve': None})
        self._wait_for_status(server, 'SHELVED_OFFLOADED')
        self.admin_api.post_server_action(server['id'], {'unshelve': None})
        return self._wait_for_status(server, 'ACTIVE')

    def test_existing_servers_need_a_resize(self):
        flavor = self._flavor(*DESKTOP)
        old = self._create_server_with_hints(flavor, {base.HINT: 'gold'})
        self.assertEqual('outside', self._host_of(old))

        self._set_extra_specs(flavor, {base.TIER_SPEC: 'gold'})
        new = self._create_server_with_hints(flavor, None)
        self.assertEqual('pool-a', self._host_of(new))

        # Nova keeps the flavor as it was when the server was created:
        # unshelved, the old server is still no desktop and goes to the
        # emptiest host, outside the pool.
        old = self._shelve_and_unshelve(old)
        self.assertEqual('outside', self._host_of(old))

        # A resize to a tier flavor makes it one.
        self.admin_api.post_server_action(
            old['id'],
            {'resize': {'flavorRef': self._tier_flavor(1024, 1, 'gold',
                                                       disk=2)}})
        old = self._wait_for_status(old, 'VERIFY_RESIZE')
        self.admin_api.post_server_action(old['id'], {'confirmResize': None})
        old = self._wait_for_status(old, 'ACTIVE')
        self.assertIn(self._host_of(old), ('pool-a', 'pool-b'))
        old = self._shelve_and_unshelve(old)
        self.assertIn(self._host_of(old), ('pool-a', 'pool-b'))
