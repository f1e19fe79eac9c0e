"""Subscription tiers and host headroom: the arithmetic of the scheduler.

A subscriber's plan has a priority tier. The tier says how much contention
the subscriber's desktop may suffer: after the desktop is placed, its host
must keep the tier's fraction of RAM and of vCPUs free. Gold desktops thus
share a host with less load than bronze ones.

Everything here is pure (no Nova import) and exact: fractions are kept as
integer ratios parsed from their decimal text, and capacities are whole
numbers, as Placement computes them (``int(total * allocation_ratio)``), so
``0.30`` of 10 vCPUs is exactly 3 and never 3.0000000000000004.

Parsing is cached per text value: Nova's scheduler parses a config value
once, not once per host, and :func:`functools.lru_cache` is safe to share
between the scheduler's native threads.
"""

import fractions
import functools


class TierRule(object):
    """A tier: its name and the fraction of a host that must stay free."""

    __slots__ = ('name', 'fraction', '_num', '_den')

    def __init__(self, name, fraction):
        self.name = name
        self.fraction = fraction
        self._num = fraction.numerator
        self._den = fraction.denominator

    def keeps_free(self, free_after, capacity):
        """Whether ``free_after`` units left of ``capacity`` are enough.

        Both are integers; the comparison ``free/capacity >= fraction`` is
        done in integers, so it is exact.
        """
        return (capacity > 0 and free_after >= 0 and
                free_after * self._den >= self._num * capacity)

    def __eq__(self, other):
        return (isinstance(other, TierRule) and
                (self.name, self.fraction) == (other.name, other.fraction))

    def __hash__(self):
        return hash((self.name, self.fraction))

    def __repr__(self):
        return 'TierRule(%r, %s)' % (self.name, self.fraction)


def normalize_name(name):
    return name.strip().lower()


@functools.lru_cache(maxsize=16)
def parse_tiers(value):
    """Parse ``[vdesk_scheduler] tiers`` into ``{name: TierRule}``.

    ``value`` is the option's text, e.g. ``gold:0.30,silver:0.15,bronze:0``.
    Raises ValueError with a message naming the bad entry.
    """
    rules = {}
    for entry in (value or '').split(','):
        if not entry.strip():
            continue
        name, sep, number = entry.partition(':')
        name = normalize_name(name)
        if not sep or not name:
            raise ValueError(
                'tier %r is not of the form "name:fraction"' % entry.strip())
        try:
            fraction = fractions.Fraction(number.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError('tier %r: %r is not a decimal number' %
                             (name, number.strip()))
        if not 0 <= fraction < 1:
            raise ValueError('tier %r: the fraction to keep free must be at '
                             'least 0 and less than 1, not %s' %
                             (name, number.strip()))
        if name in rules:
            raise ValueError('tier %r is listed twice' % name)
        rules[name] = TierRule(name, fraction)
    if not rules:
        raise ValueError('no tier is defined')
    return rules


@functools.lru_cache(maxsize=256)
def parse_tier_names(value):
    """Parse a comma-separated list of tier names into a frozenset.

    Used for the aggregate metadata ``vdesk_tiers=gold,silver``; cached
    because every host of an aggregate carries the same text.
    """
    return frozenset(normalize_name(name) for name in value.split(',')
                     if name.strip())


_TRUE = frozenset(('1', 't', 'true', 'on', 'y', 'yes'))


@functools.lru_cache(maxsize=64)
def is_true(value):
    """Truth of an aggregate metadata value, as oslo's bool_from_string."""
    return str(value).strip().lower() in _TRUE


def capacity(total, allocation_ratio):
    """Schedulable amount of a resource, as Placement computes it.

    An allocation ratio that is not known yet (None or 0) counts as 1.
    """
    return int(total * (allocation_ratio or 1.0))


class Headroom(object):
    """What would stay free on a host after placing a request on it.

    ``ram_used`` and ``vcpus_used`` include what the compute reserves for
    itself (Nova's resource tracker folds ``reserved_host_memory_mb`` and
    ``reserved_host_cpus`` into them).
    """

    __slots__ = ('ram_free', 'ram_capacity', 'vcpus_free', 'vcpus_capacity')

    def __init__(self, ram_capacity, ram_used, vcpus_capacity, vcpus_used,
                 ram_mb, vcpus):
        self.ram_capacity = ram_capacity
        self.ram_free = ram_capacity - ram_used - ram_mb
        self.vcpus_capacity = vcpus_capacity
        self.vcpus_free = vcpus_capacity - vcpus_used - vcpus

    def admits(self, rule):
        """Whether the host keeps ``rule``'s share of RAM and vCPUs free."""
        return (rule.keeps_free(self.ram_free, self.ram_capacity) and
                rule.keeps_free(self.vcpus_free, self.vcpus_capacity))

    def free_share(self):
        """The smaller free share (0..1) of RAM and vCPUs: how empty.

        The scarcer resource is what a desktop contends for, so it decides
        how empty a host is.
        """
        if self.ram_capacity <= 0 or self.vcpus_capacity <= 0:
            return 0.0
        return min(self.ram_free / self.ram_capacity,
                   self.vcpus_free / self.vcpus_capacity)
