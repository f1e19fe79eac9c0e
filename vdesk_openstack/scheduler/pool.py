"""What the filter and the weigher read from Nova's scheduler objects.

- From the ``RequestSpec``: whether the request is a desktop and its tier's
  rule. A desktop is a server whose flavor carries the extra spec
  ``vdesk:tier=<tier>``. Only admins (and the desktop service, which owns
  its flavors) may set flavor extra specs, so a tenant cannot forge a tier;
  the RequestSpec keeps its copy of the flavor, so unshelves and moves see
  the tier again. The scheduler hint ``vdesk_priority``, which any tenant
  may send, is not trusted: it makes nothing a desktop.
- From the ``HostState``: whether the host is in the desktop pool (one of
  its host aggregates has ``vdesk_pool=true``), which tiers it accepts
  (``vdesk_tiers=gold,silver`` narrows them; the union over the host's
  aggregates, as Nova's aggregate filters combine metadata), and its
  headroom after placing the request.

Only request-level work happens once per request (:class:`DesktopRequest`);
the per-host functions do a constant amount of work without I/O, since the
scheduler calls them for every host of a cell.
"""

from oslo_log import log as logging

from vdesk_openstack.scheduler import tiers

LOG = logging.getLogger(__name__)

TIER_SPEC = 'vdesk:tier'
# Desktops were once recognized by this scheduler hint; it is only logged.
LEGACY_HINT = 'vdesk_priority'
POOL_KEY = 'vdesk_pool'
TIERS_KEY = 'vdesk_tiers'
MULTIPLIER_KEY = 'vdesk_weight_multiplier'


class DesktopRequest(object):
    """A desktop scheduling request: its tier rule and its size."""

    __slots__ = ('rule', 'ram_mb', 'vcpus', 'spread')

    def __init__(self, rule, ram_mb, vcpus, spread):
        self.rule = rule
        self.ram_mb = ram_mb
        self.vcpus = vcpus
        self.spread = spread

    def headroom(self, host_state):
        """The host's :class:`~tiers.Headroom` after placing this desktop."""
        total_ram = host_state.total_usable_ram_mb
        return tiers.Headroom(
            tiers.capacity(total_ram, host_state.ram_allocation_ratio),
            total_ram - host_state.free_ram_mb,
            tiers.capacity(host_state.vcpus_total,
                           host_state.cpu_allocation_ratio),
            host_state.vcpus_used,
            self.ram_mb, self.vcpus)


class UnknownTier(Exception):
    """The request names a tier that the configuration does not define."""


def flavor_tier(spec_obj):
    """The ``vdesk:tier`` extra spec of a request's flavor, or None."""
    if 'flavor' not in spec_obj:
        return None
    flavor = spec_obj.flavor
    # An unset field would be loaded from the database: no I/O here. A
    # request to schedule always has its flavor's extra specs (Nova's
    # AggregateInstanceExtraSpecsFilter relies on the same).
    if 'extra_specs' not in flavor:
        return None
    return flavor.extra_specs.get(TIER_SPEC)


def legacy_hint(spec_obj):
    """The untrusted ``vdesk_priority`` hint of a request, or None."""
    return spec_obj.get_scheduler_hint(LEGACY_HINT)


def desktop_request(spec_obj, conf):
    """Read a request once: None if it is not a desktop.

    Raises :class:`UnknownTier` (with a message fit for a log line) if the
    flavor's tier is not configured, and ValueError if ``[vdesk_scheduler]
    tiers`` is malformed.
    """
    tier = flavor_tier(spec_obj)
    if tier is None:
        return None
    rules = tiers.parse_tiers(conf.tiers)
    name = tiers.normalize_name(tier)
    rule = rules.get(name)
    if rule is None:
        raise UnknownTier(
            'flavor extra spec %s=%r names no tier of [vdesk_scheduler] '
            'tiers (known: %s)' % (TIER_SPEC, tier, ', '.join(sorted(rules))))
    spread = name in {tiers.normalize_name(t) for t in conf.spread_tiers}
    return DesktopRequest(rule, spec_obj.memory_mb, spec_obj.vcpus, spread)


def membership(host_state):
    """``(in_pool, accepted_tiers)`` of a host.

    ``accepted_tiers`` is None when no aggregate of the host narrows the
    tiers, otherwise the frozenset of tier names its aggregates accept.
    """
    in_pool = False
    accepted = None
    for aggregate in host_state.aggregates:
        metadata = aggregate.metadata
        if not in_pool:
            flag = metadata.get(POOL_KEY)
            in_pool = flag is not None and tiers.is_true(flag)
        names = metadata.get(TIERS_KEY)
        if names is not None:
            names = tiers.parse_tier_names(names)
            accepted = names if accepted is None else accepted | names
    return in_pool, accepted


def in_pool(host_state):
    """Whether a host is in the desktop pool."""
    for aggregate in host_state.aggregates:
        flag = aggregate.metadata.get(POOL_KEY)
        if flag is not None and tiers.is_true(flag):
            return True
    return False
