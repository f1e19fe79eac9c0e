"""SubscriptionFilter: desktops go to pool hosts that keep their tier free.

A request whose flavor carries the extra spec ``vdesk:tier=<tier>`` is a
desktop: only admins and the desktop service set flavor extra specs, so a
tenant cannot make its server a desktop. The scheduler hint
``vdesk_priority`` is not trusted and changes nothing. A host passes a
desktop when

1. it is in the desktop pool (an aggregate with ``vdesk_pool=true``),
2. its aggregates accept the tier (``vdesk_tiers``, if any narrows it), and
3. after placing the desktop it keeps the tier's fraction of its RAM and of
   its vCPUs free (``[vdesk_scheduler] tiers``).

Any other request passes untouched, unless ``[vdesk_scheduler]
reserve_pool`` keeps it off the pool. A desktop of an unknown tier is
refused by every host, with one log line saying why, which Nova turns into
NoValidHost.

The filter reads the request once in :meth:`filter_all` and then does a
constant amount of work per host; it keeps no state between requests, so
the scheduler's threads may share it.
"""

import nova.conf
from nova.scheduler import filters
from nova.scheduler import utils as scheduler_utils
from oslo_log import log as logging

from vdesk_openstack.conf import scheduler as scheduler_conf
from vdesk_openstack.scheduler import pool
from vdesk_openstack.scheduler import tiers

LOG = logging.getLogger(__name__)

CONF = nova.conf.CONF
scheduler_conf.register_opts(CONF)


class SubscriptionFilter(filters.BaseHostFilter):
    """Place desktops on pool hosts that keep their tier's share free."""

    # Headroom changes as each instance of a multi-instance request is
    # consumed from the host states, so run for every instance.
    run_filter_once_per_request = False

    # A rebuild keeps the server on its host: its own usage is already
    # counted there, so checking headroom again would count it twice.
    RUN_ON_REBUILD = False

    def __init__(self):
        # Refuse to start nova-scheduler with tiers it cannot read, rather
        # than failing every desktop later.
        try:
            tiers.parse_tiers(CONF.vdesk_scheduler.tiers)
        except ValueError as e:
            raise ValueError('[vdesk_scheduler] tiers: %s' % e)

    def filter_all(self, filter_obj_list, spec_obj):
        if scheduler_utils.request_is_rebuild(spec_obj):
            return filter_obj_list
        conf = CONF.vdesk_scheduler
        try:
            request = pool.desktop_request(spec_obj, conf)
        except (pool.UnknownTier, ValueError) as e:
            LOG.error('Refusing desktop %(instance)s on every host: '
                      '%(reason)s.',
                      {'instance': spec_obj.instance_uuid, 'reason': e})
            return []
        if request is None:
            if pool.legacy_hint(spec_obj) is not None:
                # Helps operators find servers created before the tier
                # moved to the flavor; a forged hint earns nothing else.
                LOG.info('Server %(instance)s: ignoring the scheduler hint '
                         '%(hint)s; its flavor has no %(spec)s extra spec, '
                         'so it is not a desktop.',
                         {'instance': spec_obj.instance_uuid,
                          'hint': pool.LEGACY_HINT,
                          'spec': pool.TIER_SPEC})
            if conf.reserve_pool:
                return [host for host in filter_obj_list
                        if not pool.in_pool(host)]
            return filter_obj_list
        return self._desktop_hosts(filter_obj_list, spec_obj, request)

    def _desktop_hosts(self, host_states, spec_obj, request):
        tier = request.rule.name
        passed = []
        outside = refused = full = 0
        for host_state in host_states:
            in_pool, accepted = pool.membership(host_state)
            if not in_pool:
                outside += 1
            elif accepted is not None and tier not in accepted:
                refused += 1
            elif not request.headroom(host_state).admits(request.rule):
                full += 1
            else:
                passed.append(host_state)
        # One summary per request instead of a line per host: a cell has
        # thousands of hosts.
        LOG.debug('Desktop %(instance)s (tier %(tier)s): %(passed)d host(s) '
                  'passed; %(outside)d outside the pool, %(refused)d not '
                  'accepting the tier, %(full)d without the tier\'s '
                  'headroom.',
                  {'instance': spec_obj.instance_uuid, 'tier': tier,
                   'passed': len(passed), 'outside': outside,
                   'refused': refused, 'full': full})
        return passed

    def host_passes(self, host_state, spec_obj):
        """Single-host form of :meth:`filter_all`, for callers that use it."""
        return bool(self.filter_all([host_state], spec_obj))
