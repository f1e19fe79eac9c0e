"""[vdesk_scheduler] options of nova.conf: SubscriptionFilter/Weigher.

These options live in the nova.conf of the nodes that run nova-scheduler,
and ``tiers`` also in that of nova-api, whose validator of the
``vdesk:tier`` flavor extra spec accepts only configured tiers. The filter,
the weigher and the validator register them on Nova's configuration object
when Nova loads them; ``oslo-config-generator`` lists them through the
``vdesk_openstack.scheduler`` entry point (``tox -e genconfig`` writes
``etc/nova/nova.conf.vdesk-sample``).
"""

from oslo_config import cfg

from vdesk_openstack.conf import groups

scheduler_group = cfg.OptGroup(
    'vdesk_scheduler', title='Subscription-tier scheduling of desktops',
    help='Options of vdesk-openstack\'s Nova scheduler plugins, '
         'vdesk_openstack.scheduler.filters.SubscriptionFilter and '
         'vdesk_openstack.scheduler.weighers.SubscriptionWeigher. A '
         'desktop is a server whose flavor has the extra spec '
         '"vdesk:tier=<tier>" (only admins and the desktop service set '
         'flavor extra specs); it is placed only on hosts of the desktop '
         'pool (host aggregates with the metadata "vdesk_pool=true") that '
         'keep the tier\'s share of RAM and vCPUs free after placing it. '
         'Other servers are not desktops and are left alone unless '
         '"reserve_pool" is set. The scheduler hint "vdesk_priority" is not '
         'trusted: it makes no server a desktop.')

scheduler_opts = [
    cfg.StrOpt('tiers', default='gold:0.30,silver:0.15,bronze:0.0',
               help='Subscription tiers, as comma-separated "name:fraction" '
                    'pairs. The fraction (0 <= fraction < 1, a decimal '
                    'number) is the share of a host\'s RAM and of its vCPUs '
                    'that must stay free after a desktop of that tier is '
                    'placed on it: the higher the fraction, the less '
                    'contention the desktop suffers. A host\'s capacity is '
                    'its physical amount times its allocation ratio; the '
                    'memory and CPUs the compute reserves for itself '
                    '(reserved_host_memory_mb, reserved_host_cpus) count as '
                    'used. A desktop whose flavor names a tier missing from '
                    'this list is refused (NoValidHost). Tier names are '
                    'case-insensitive. Set the same value in the nova.conf '
                    'of nova-api: its validator refuses a "vdesk:tier" '
                    'flavor extra spec that names no tier of this list.'),
    cfg.ListOpt('spread_tiers', default=['gold', 'silver'],
                help='Tiers whose desktops prefer the emptiest pool host '
                     '(spreading, so they meet the least contention). '
                     'Desktops of the other tiers pack onto the fullest '
                     'pool host that still keeps their tier\'s share free, '
                     'which leaves whole hosts free for the spreading '
                     'tiers.'),
    cfg.BoolOpt('reserve_pool', default=False,
                help='Keep servers that are not desktops (servers whose '
                     'flavor has no "vdesk:tier" extra spec, whatever '
                     'scheduler hints they carry) off the hosts of the '
                     'desktop pool. By default they may use pool hosts like '
                     'any other host.'),
    cfg.FloatOpt('weight_multiplier', default=10.0,
                 help='Multiplier of SubscriptionWeigher\'s weight, which is '
                      'normalized to 0..1 like every Nova weigher. Positive '
                      'values apply the tiers\' placement preference '
                      '(spread or pack); 0 disables it; negative values '
                      'invert it. The default outweighs Nova\'s RAM, CPU, '
                      'disk and I/O weighers together (which spread with a '
                      'multiplier of 1.0 each), so packing tiers do pack. '
                      'Host aggregates may override it with the metadata '
                      'key "vdesk_weight_multiplier"; when a host is in '
                      'several aggregates that set it, the smallest value '
                      'is used.'),
]


def register_opts(conf):
    groups.register(conf, scheduler_group, scheduler_opts)


def list_opts():
    return [(scheduler_group, scheduler_opts)]
