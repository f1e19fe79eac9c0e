"""Tier flavors through Nova's real API: validation, access, booting.

Nova's default flavor policies are restored here (the harness allows
every flavor call to everyone): only an admin sets extra specs, which is
what keeps the tier out of tenants' hands.
"""

import types

from nova.tests.functional.api import client

from vdesk_openstack.desktops import compute
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.hss import api as hss_api
from vdesk_openstack.tests.functional.scheduler import base

GOLD = hss_api.Plan(name='premium', vcpus=1, ram_mb=1024, disk_gb=1,
                    priority='gold')
DEVICES = {'hw:sound_model': 'ich9'}
MEMBER = ('member', 'reader')
ADMIN = ('admin',) + MEMBER


class ExtraSpecValidationTest(base.PoolTestCase):
    """nova-api refuses what the scheduler could not use."""

    def setUp(self):
        super().setUp()
        self.flavor_id = self._flavor(*base.DESKTOP)

    def assert_refused(self, specs, message):
        e = self.assertRaises(client.OpenStackApiException,
                              self._set_extra_specs, self.flavor_id, specs)
        self.assertEqual(400, e.response.status_code)
        self.assertIn(message, e.response.text)
        self.assertNotIn(base.TIER_SPEC,
                         self.admin_api.get_extra_specs(self.flavor_id))

    def test_misspelled_key_is_refused(self):
        self.assert_refused({'vdesk:teir': 'gold'},
                            "extra spec 'vdesk:teir' does not appear to be "
                            "a valid extra spec")

    def test_unknown_tier_is_refused(self):
        self.assert_refused({base.TIER_SPEC: 'glod'},
                            "'glod' is not a tier of [vdesk_scheduler] "
                            "tiers (known: bronze, gold, silver)")

    def test_configured_tier_is_accepted_and_places_the_server(self):
        self._set_extra_specs(self.flavor_id, {base.TIER_SPEC: 'bronze'})
        self.assertEqual({base.TIER_SPEC: 'bronze'},
                         self.admin_api.get_extra_specs(self.flavor_id))
        server = self._create_server_with_hints(self.flavor_id, None)
        self.assertEqual('pool-c', self._host_of(server))

    def test_tiers_of_nova_api_config_decide(self):
        self.flags(tiers='premium:0.5,basic:0', group='vdesk_scheduler')
        self.assert_refused({base.TIER_SPEC: 'gold'},
                            "known: basic, premium")
        self._set_extra_specs(self.flavor_id, {base.TIER_SPEC: 'basic'})

    def test_tenant_cannot_set_a_tier(self):
        self._use_nova_flavor_policies()
        e = self.assertRaises(
            client.OpenStackApiException, self._set_extra_specs,
            self.flavor_id, {base.TIER_SPEC: 'gold'}, api=self._tenant_api())
        self.assertEqual(403, e.response.status_code)
        self.assertEqual({}, self.admin_api.get_extra_specs(self.flavor_id))


class ServiceUserTest(base.PoolTestCase):
    """Desktop flavors: made by an admin, booted by a project member."""

    def setUp(self):
        super().setUp()
        self._use_nova_flavor_policies()
        self.conf = types.SimpleNamespace(desktops=types.SimpleNamespace(
            flavor_prefix='vdesk-', network='none'))
        self.project_id = self.api_fixture.project_id

    def _compute(self, roles, project_id=None, user_id='vdesk-desktops'):
        # The harness makes a request an admin's by its user id.
        return compute.Compute(
            self._openstack_connection(user_id=user_id,
                                       project_id=project_id, roles=roles),
            self.conf)

    def _boot(self, service, flavor_id):
        desktop = {'subscriber': '001010000000001', 'id': 'record-1'}
        server_id = service.create_server(desktop, flavor_id,
                                          self.image_id, tier='ignored')
        return self._wait_for_status({'id': server_id}, 'ACTIVE')

    def test_member_boots_a_private_desktop_flavor_it_has_access_to(self):
        flavor_id = self._compute(ADMIN, user_id='admin').ensure_flavor(
            GOLD, DEVICES, 'a1b2c3d4')
        flavor = self.admin_api.get_flavor(flavor_id)
        self.assertEqual('vdesk-premium.gold-a1b2c3d4', flavor['name'])
        self.assertFalse(flavor['os-flavor-access:is_public'])
        self.assertEqual(dict(DEVICES, **{base.TIER_SPEC: 'gold'}),
                         flavor['extra_specs'])
        access = self.admin_api.api_get(
            '/flavors/%s/os-flavor-access' % flavor_id).body
        self.assertEqual([self.project_id],
                         [a['tenant_id'] for a in access['flavor_access']])

        member = self._compute(MEMBER)
        # The member finds the same flavor, without creating anything.
        self.assertEqual(flavor_id,
                         member.ensure_flavor(GOLD, DEVICES, 'a1b2c3d4'))
        server = self._boot(member, flavor_id)
        self.assertEqual('pool-a', self._host_of(server))
        self.assertEqual({}, server.get('os:scheduler_hints', {}))

    def test_another_project_cannot_boot_it(self):
        flavor_id = self._compute(ADMIN, user_id='admin').ensure_flavor(
            GOLD, DEVICES, 'a1b2c3d4')
        stranger = self._compute(MEMBER, project_id='another-project')
        self.assertRaises(exceptions.Unavailable, self._boot, stranger,
                          flavor_id)

    def test_member_alone_cannot_create_one_and_says_how(self):
        member = self._compute(MEMBER)
        self.assertRaises(exceptions.Unavailable, member.ensure_flavor,
                          GOLD, DEVICES, 'a1b2c3d4')
        self.assertIn('As an admin, run: openstack flavor create --id ',
                      self.stdlog.logger.output)
        self.assertIn('--property vdesk:tier=gold vdesk-premium.gold-'
                      'a1b2c3d4', self.stdlog.logger.output)

    def test_a_new_tier_gets_a_new_flavor(self):
        admin = self._compute(ADMIN, user_id='admin')
        gold = admin.ensure_flavor(GOLD, DEVICES, 'a1b2c3d4')
        bronze_plan = hss_api.Plan(name='premium', vcpus=1, ram_mb=1024,
                                   disk_gb=1, priority='bronze')
        bronze = self._compute(ADMIN, user_id='admin').ensure_flavor(
            bronze_plan, DEVICES, 'a1b2c3d4')
        self.assertNotEqual(gold, bronze)
        self.assertEqual(
            'bronze',
            self.admin_api.get_extra_specs(bronze)[base.TIER_SPEC])
        server = self._boot(self._compute(MEMBER), bronze)
        self.assertEqual('pool-c', self._host_of(server))

    def test_a_half_made_flavor_is_completed(self):
        admin = self._compute(ADMIN, user_id='admin')
        flavor_id = admin.ensure_flavor(GOLD, DEVICES, 'a1b2c3d4')
        # As if the worker creating it had stopped after creating it.
        self.admin_api.api_delete(
            '/flavors/%s/os-extra_specs/%s' % (flavor_id, base.TIER_SPEC))
        again = self._compute(ADMIN, user_id='admin')
        self.assertEqual(flavor_id,
                         again.ensure_flavor(GOLD, DEVICES, 'a1b2c3d4'))
        self.assertEqual(
            'gold', self.admin_api.get_extra_specs(flavor_id)[base.TIER_SPEC])
