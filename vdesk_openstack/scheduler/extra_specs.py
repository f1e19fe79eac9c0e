"""Nova API validator of the ``vdesk`` flavor extra specs.

Loaded by nova-api through the ``nova.api.extra_spec_validators`` entry
point, as Nova's own namespaces (``hw``, ``accel``, ...) are. Once the
``vdesk`` namespace is known, Nova refuses (400) any ``vdesk:*`` extra spec
it has no validator for, so an operator's ``vdesk:teir`` fails at once
instead of silently making an ordinary flavor. Nova validates extra specs
from compute API microversion 2.86 on.

``vdesk:tier`` must name a tier of ``[vdesk_scheduler] tiers`` in the
nova.conf of nova-api (keep it the same as nova-scheduler's). The tiers are
read when a value is checked, not when Nova loads the validator, which
happens before nova-api has read its configuration.
"""

from nova.api.validation.extra_specs import base
import nova.conf
from nova import exception

from vdesk_openstack.conf import scheduler as scheduler_conf
from vdesk_openstack.scheduler import pool
from vdesk_openstack.scheduler import tiers

CONF = nova.conf.CONF
scheduler_conf.register_opts(CONF)


class TierValidator(base.ExtraSpecValidator):
    """``vdesk:tier``: a tier that ``[vdesk_scheduler] tiers`` defines."""

    def validate(self, name, value):
        super().validate(name, value)
        try:
            rules = tiers.parse_tiers(CONF.vdesk_scheduler.tiers)
        except ValueError as e:
            raise exception.ValidationError(
                f"Validation failed; [vdesk_scheduler] tiers of nova-api "
                f"cannot be read: {e}.")
        if tiers.normalize_name(value) not in rules:
            known = ', '.join(sorted(rules))
            raise exception.ValidationError(
                f"Validation failed; '{value}' is not a tier of "
                f"[vdesk_scheduler] tiers (known: {known}).")


EXTRA_SPEC_VALIDATORS = [
    TierValidator(
        name=pool.TIER_SPEC,
        description=(
            'The subscription tier of a desktop flavor. Servers of a '
            'flavor with this extra spec are desktops: '
            'vdesk_openstack.scheduler.filters.SubscriptionFilter places '
            'them on hosts of the desktop pool that keep the tier\'s share '
            'of RAM and vCPUs free. Keep such flavors private to the '
            'desktop service\'s project.'
        ),
        value={
            'type': str,
            'description': (
                'A tier of [vdesk_scheduler] tiers in nova.conf, e.g. gold '
                '(case-insensitive).'
            ),
        },
    ),
]


def register():
    return EXTRA_SPEC_VALIDATORS
