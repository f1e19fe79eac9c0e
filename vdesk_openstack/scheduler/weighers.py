"""SubscriptionWeigher: spread the premium tiers, pack the others.

For a desktop (a server whose flavor has the extra spec
``vdesk:tier=<tier>``) the weight of a host is how empty it would stay
after placing the desktop: the smaller of its free RAM and free vCPU shares
(see :meth:`tiers.Headroom.free_share`). Tiers listed in
``[vdesk_scheduler] spread_tiers`` prefer the emptiest host so they meet
the least contention; the other tiers get the opposite weight and pack onto
the fullest host that SubscriptionFilter let through, which keeps whole
hosts free for the spreading tiers.

Other requests weigh 0 on every host, so they are left to Nova's other
weighers; the scheduler hint ``vdesk_priority`` is not trusted and changes
nothing. The multiplier is ``[vdesk_scheduler] weight_multiplier``,
overridable per aggregate with ``vdesk_weight_multiplier``, as Nova's own
weighers do (see ``nova/scheduler/weights/ram.py``).
"""

import nova.conf
from nova.scheduler import utils as scheduler_utils
from nova.scheduler import weights

from vdesk_openstack.conf import scheduler as scheduler_conf
from vdesk_openstack.scheduler import pool

CONF = nova.conf.CONF
scheduler_conf.register_opts(CONF)


class SubscriptionWeigher(weights.BaseHostWeigher):
    """Weigh pool hosts by the desktop's tier: spread or pack."""

    def weight_multiplier(self, host_state):
        return scheduler_utils.get_weight_multiplier(
            host_state, pool.MULTIPLIER_KEY,
            CONF.vdesk_scheduler.weight_multiplier)

    def weigh_objects(self, weighed_obj_list, weight_properties):
        # Read the request once, then do constant work per host; nothing
        # is kept on self, so concurrent requests do not interfere.
        try:
            request = pool.desktop_request(weight_properties,
                                           CONF.vdesk_scheduler)
        except (pool.UnknownTier, ValueError):
            # SubscriptionFilter has refused (and logged) it already.
            request = None
        if request is None:
            return [0.0] * len(weighed_obj_list)
        sign = 1.0 if request.spread else -1.0
        headroom = request.headroom
        return [sign * headroom(weighed.obj).free_share()
                for weighed in weighed_obj_list]

    def _weigh_object(self, host_state, weight_properties):
        return self.weigh_objects(
            [weights.WeighedHost(host_state, 0.0)], weight_properties)[0]
