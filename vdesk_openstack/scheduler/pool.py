"""What the filter and the weigher read from Nova's scheduler objects.

- From the ``RequestSpec``: whether the request is a desktop (the scheduler
  hint ``vdesk_priority=<tier>``, sent by the desktop service and kept in the
  RequestSpec, so moves and unshelves see it again) and its tier's rule.
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

PRIORITY_HINT = 'vdesk_priority'
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


def priority_hint(spec_obj):
    """The ``vdesk_priority`` hint of a request, or None if it has none."""
    return spec_obj.get_scheduler_hint(PRIORITY_HINT)


def desktop_request(spec_obj, conf):
    """Read a request once: None if it is not a desktop.

    Raises :class:`UnknownTier` (with a message fit for a log line) if the
    hint names no configured tier, and ValueError if ``[vdesk_scheduler]
    tiers`` is malformed.
    """
    hint = priority_hint(spec_obj)
    if hint is None:
        return None
    rules = tiers.parse_tiers(conf.tiers)
    name = tiers.normalize_name(hint) if isinstance(hint, str) else None
    rule = rules.get(name)
    if rule is None:
        raise UnknownTier(
            'scheduler hint %s=%r names no tier of [vdesk_scheduler] tiers '
            '(known: %s)' % (PRIORITY_HINT, hint, ', '.join(sorted(rules))))
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
