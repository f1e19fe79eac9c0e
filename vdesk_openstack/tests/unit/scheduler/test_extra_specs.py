"""Tests of the ``vdesk`` extra spec validator, alone and inside Nova's."""

from nova.api.validation.extra_specs import base as nova_base
from nova.api.validation.extra_specs import validators
from nova import exception

from vdesk_openstack.scheduler import extra_specs
from vdesk_openstack.tests.unit.scheduler import base


class TierValidatorTest(base.SchedulerTestCase):

    def validate(self, name, value):
        validators.validate(name, value)

    def test_registered_with_nova_through_the_entry_point(self):
        # Loaded by stevedore from setup.cfg when nova's module is
        # imported, as nova-api does.
        self.assertIsInstance(validators.VALIDATORS['vdesk:tier'],
                              extra_specs.TierValidator)
        self.assertIn('vdesk', validators.NAMESPACES)
        for validator in extra_specs.register():
            self.assertIsInstance(validator, nova_base.ExtraSpecValidator)

    def test_configured_tiers_are_accepted(self):
        for value in ('gold', 'silver', 'bronze', 'Gold'):
            self.validate('vdesk:tier', value)

    def test_unknown_tier_is_refused_naming_the_known_ones(self):
        for value in ('glod', 'platinum', '', 'gold,silver'):
            e = self.assertRaises(exception.ValidationError,
                                  self.validate, 'vdesk:tier', value)
            self.assertIn("'%s' is not a tier" % value, str(e))
            self.assertIn('known: bronze, gold, silver', str(e))

    def test_misspelled_vdesk_spec_is_refused(self):
        for name in ('vdesk:teir', 'vdesk:tiers', 'vdesk:priority'):
            e = self.assertRaises(exception.ValidationError,
                                  self.validate, name, 'gold')
            self.assertIn("'%s' does not appear to be a valid" % name,
                          str(e))

    def test_other_namespaces_are_left_to_nova(self):
        self.validate('vdesk_tier', 'anything')  # no namespace
        self.validate('custom:tier', 'anything')  # unknown namespace

    def test_tiers_are_read_when_validating(self):
        # nova-api loads validators before it reads nova.conf.
        self.flags(tiers='premium:0.5,basic:0', group='vdesk_scheduler')
        self.validate('vdesk:tier', 'premium')
        e = self.assertRaises(exception.ValidationError,
                              self.validate, 'vdesk:tier', 'gold')
        self.assertIn('known: basic, premium', str(e))

    def test_unreadable_tiers_refuse_every_tier(self):
        self.flags(tiers='gold=0.3', group='vdesk_scheduler')
        e = self.assertRaises(exception.ValidationError,
                              self.validate, 'vdesk:tier', 'gold')
        self.assertIn('[vdesk_scheduler] tiers of nova-api cannot be read',
                      str(e))
