"""A desktop pool of fake computes, and desktops of tier flavors.

Every :class:`PoolTestCase` starts four fake computes of 10 vCPUs and
8192 MB (allocation ratios 1.0, nothing reserved), three in the desktop
pool at different loads and one outside it, empty:

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

A desktop is a server of a flavor with the extra spec ``vdesk:tier``, as
the desktop service creates them: private, with access for the project
that boots it.
"""

import nova.policies
from nova.tests.functional.api import client

from vdesk_openstack.sandbox import nova_harness

DESKTOP = (1024, 1)
TIER_SPEC = 'vdesk:tier'
HINT = 'vdesk_priority'


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

    def _use_nova_flavor_policies(self):
        """Nova's default rules for flavors: only admins change them.

        Nova's harness allows every flavor call to everyone; a deployment
        does not, and the tier's trust rests on that.
        """
        self.policy.set_rules(
            {rule.name: rule.check_str for rule in nova.policies.list_rules()
             if rule.name.startswith('os_compute_api:os-flavor')},
            overwrite=False)

    def _tenant_api(self):
        """Nova's API as a member of another project (not an admin)."""
        api = client.TestOpenStackClient(
            'tenant', self.api_fixture.base_url, project_id='tenant-project',
            roles=['member', 'reader'])
        api.microversion = 'latest'
        return api

    def _tier_flavor(self, memory_mb, vcpus, tier, disk=1):
        """A private flavor with ``vdesk:tier=<tier>`` (once per test).

        The harness's project has access to it. The extra spec is set at
        microversion 2.85, before Nova validates extra specs, so a test may
        give a tier that nova-api would refuse.
        """
        cache = self.__dict__.setdefault('_tier_flavors', {})
        key = (memory_mb, vcpus, disk, tier)
        if key not in cache:
            flavor_id = self._create_flavor(
                name='desktop-m%d-c%d-d%d-%s' % key, memory_mb=memory_mb,
                vcpu=vcpus, disk=disk, ephemeral=0, is_public=False)
            self.admin_api.api_post(
                '/flavors/%s/action' % flavor_id,
                {'addTenantAccess': {'tenant': self.api_fixture.project_id}})
            self._set_extra_specs(flavor_id, {TIER_SPEC: tier},
                                  microversion='2.85')
            cache[key] = flavor_id
        return cache[key]

    def _set_extra_specs(self, flavor_id, specs, microversion='latest',
                         api=None):
        api = api or self.admin_api
        previous, api.microversion = api.microversion, microversion
        try:
            return api.post_extra_spec(flavor_id, {'extra_specs': specs})
        finally:
            api.microversion = previous

    def _boot_desktop(self, size, tier, expected_state='ACTIVE', hints=None):
        """A desktop of ``size`` (memory_mb, vcpus) and ``tier``."""
        return self._create_server_with_hints(
            self._tier_flavor(*size, tier=tier), hints, expected_state)
