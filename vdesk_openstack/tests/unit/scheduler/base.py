"""Nova fake host states and request specs for the scheduler unit tests."""

from nova import objects
from nova import test
from nova.tests.unit.scheduler import fakes
from oslo_utils.fixture import uuidsentinel as uuids


def aggregate(agg_id, **metadata):
    return objects.Aggregate(id=agg_id, name='agg%d' % agg_id, hosts=[],
                             metadata=metadata)


POOL = aggregate(1, vdesk_pool='true')
GOLD_ONLY = aggregate(2, vdesk_tiers='gold')
SILVER_POOL = aggregate(3, vdesk_pool='True', vdesk_tiers='Silver,bronze')
OTHER = aggregate(4, ssd='true')


def host(name, ram_used=0, vcpus_used=0, aggregates=(POOL,),
         total_ram=8192, vcpus=10, ram_ratio=1.0, cpu_ratio=1.0):
    """A HostState as nova builds it from a compute node.

    ``ram_used`` includes the compute's reserved memory, as nova's resource
    tracker reports it.
    """
    return fakes.FakeHostState(name, name, {
        'total_usable_ram_mb': total_ram,
        'free_ram_mb': total_ram - ram_used,
        'vcpus_total': vcpus,
        'vcpus_used': vcpus_used,
        'ram_allocation_ratio': ram_ratio,
        'cpu_allocation_ratio': cpu_ratio,
        'aggregates': list(aggregates)})


def request(tier=None, ram_mb=1024, vcpus=1, extra_specs=None, **hints):
    """A RequestSpec; ``tier`` goes into the flavor's ``vdesk:tier``.

    Hints are given as nova stores them: lists of values.
    """
    extra_specs = dict(extra_specs or {})
    if tier is not None:
        extra_specs['vdesk:tier'] = tier
    return objects.RequestSpec(
        instance_uuid=uuids.instance,
        flavor=objects.Flavor(memory_mb=ram_mb, vcpus=vcpus, root_gb=1,
                              ephemeral_gb=0, swap=0,
                              extra_specs=extra_specs),
        scheduler_hints=hints)


class SchedulerTestCase(test.NoDBTestCase):
    """Nova's unit-test base: flags on nova's CONF, captured logs."""

    def setUp(self):
        super().setUp()
        self.flags(tiers='gold:0.30,silver:0.15,bronze:0.0',
                   spread_tiers=['gold', 'silver'], reserve_pool=False,
                   weight_multiplier=10.0, group='vdesk_scheduler')
