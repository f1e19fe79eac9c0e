"""Cost of SubscriptionFilter + SubscriptionWeigher per scheduling request.

Nova's scheduler runs every enabled filter and weigher over every candidate
host of a cell for each request, so a plugin adds its cost times thousands
of hosts. This benchmark measures, in the same run and on the same host
states, one scheduling request (filtering, then weighing what passed)
through Nova's real ``HostFilterHandler`` and ``HostWeightHandler``:

- *nova default*: Nova's default filter chain (ComputeFilter,
  ComputeCapabilitiesFilter, ImagePropertiesFilter,
  ServerGroupAntiAffinityFilter, ServerGroupAffinityFilter) and all of
  Nova's weighers (the default ``weight_classes``), at default options;
- *ours*: SubscriptionFilter and SubscriptionWeigher alone, for a gold
  desktop (the costliest case: spread weighing over every pool host that
  keeps gold's headroom) and for a plain request carrying a forged
  ``vdesk_priority=gold`` hint (not a desktop: the filter only keeps it off
  the pool when ``reserve_pool`` is set).

The host states are ``nova.scheduler.host_manager.HostState`` objects
updated from ``ComputeNode`` objects, service records and aggregates the way
``HostManager`` builds them: 80% of the hosts are in desktop-pool
aggregates (a quarter of those narrowed to gold and silver), every host is
in an availability-zone aggregate, loads are spread between empty and
nearly full.

Target: ours <= 25% of the default chain's cost.
"""

import gc
import random
import statistics
import time

from nova import objects
from nova.objects import fields
from nova.scheduler import filters
from nova.scheduler import host_manager
from nova.scheduler import weights
from oslo_utils import timeutils
from oslo_utils import uuidutils

from vdesk_openstack.scheduler import filters as vdesk_filters
from vdesk_openstack.scheduler import weighers as vdesk_weighers

HOST_COUNTS = (1000, 10000)
TARGET_RATIO = 0.25
NOVA_DEFAULT_FILTERS = ('ComputeFilter', 'ComputeCapabilitiesFilter',
                        'ImagePropertiesFilter',
                        'ServerGroupAntiAffinityFilter',
                        'ServerGroupAffinityFilter')


def _aggregates():
    az = objects.Aggregate(id=1, name='az1', hosts=[],
                           metadata={'availability_zone': 'az1'})
    pool = objects.Aggregate(id=2, name='desktops', hosts=[],
                             metadata={'vdesk_pool': 'true'})
    premium = objects.Aggregate(id=3, name='desktops-premium', hosts=[],
                                metadata={'vdesk_pool': 'true',
                                          'vdesk_tiers': 'gold,silver'})
    return az, pool, premium


def build_host_states(count, seed=42):
    """``count`` HostStates as HostManager builds them for one cell."""
    rng = random.Random(seed)
    cell_uuid = uuidutils.generate_uuid()
    now = timeutils.utcnow(with_timezone=True)
    az, pool, premium = _aggregates()
    hv_specs = [objects.HVSpec(arch=fields.Architecture.X86_64,
                               hv_type=fields.HVType.KVM,
                               vm_mode=fields.VMMode.HVM)]
    hosts = []
    for i in range(count):
        name = 'compute%05d' % i
        memory_mb, vcpus, disk_gb = 262144, 64, 2000
        used = rng.random() * 0.9
        instances = int(used * 60)
        compute = objects.ComputeNode(
            uuid=uuidutils.generate_uuid(), host=name,
            hypervisor_hostname=name, hypervisor_type='QEMU',
            hypervisor_version=8002000, cpu_info='{}', host_ip='10.0.%d.%d'
            % (i // 250, i % 250 + 1),
            memory_mb=memory_mb, free_ram_mb=int(memory_mb * (1 - used)),
            memory_mb_used=int(memory_mb * used), vcpus=vcpus,
            vcpus_used=int(vcpus * 4 * used), local_gb=disk_gb,
            local_gb_used=int(disk_gb * used),
            free_disk_gb=int(disk_gb * (1 - used)),
            disk_available_least=int(disk_gb * (1 - used)),
            numa_topology=None,
            pci_device_pools=objects.PciDevicePoolList(objects=[]),
            supported_hv_specs=hv_specs, metrics='[]',
            stats={'num_instances': str(instances), 'io_workload': '0',
                   'failed_builds': '0'},
            running_vms=instances, current_workload=0,
            cpu_allocation_ratio=4.0, ram_allocation_ratio=1.0,
            disk_allocation_ratio=1.0, updated_at=now)
        service = {'host': name, 'binary': 'nova-compute',
                   'topic': 'compute', 'disabled': False,
                   'disabled_reason': None, 'forced_down': False,
                   'created_at': now, 'updated_at': now,
                   'last_seen_up': now, 'version': 70}
        if i % 5 == 4:
            aggregates = [az]
        elif i % 5 == 3:
            aggregates = [az, premium]
        else:
            aggregates = [az, pool]
        state = host_manager.HostState(name, name, cell_uuid)
        state.update(compute=compute, service=service,
                     aggregates=aggregates, inst_dict={})
        hosts.append(state)
    return hosts


def build_request(tier=None, hint=None):
    """An 8 GB desktop request: ``tier`` in the flavor, ``hint`` forged."""
    hints = {'vdesk_priority': [hint]} if hint else {}
    extra_specs = {'vdesk:tier': tier} if tier else {}
    image = objects.ImageMeta.from_dict({
        'id': uuidutils.generate_uuid(), 'name': 'desktop',
        'disk_format': 'qcow2', 'container_format': 'bare',
        'properties': {'hw_architecture': 'x86_64',
                       'hw_video_model': 'qxl'}})
    return objects.RequestSpec(
        instance_uuid=uuidutils.generate_uuid(),
        project_id=uuidutils.generate_uuid(), num_instances=1,
        flavor=objects.Flavor(name='desktop.medium', memory_mb=8192,
                              vcpus=4, root_gb=40, ephemeral_gb=0, swap=0,
                              extra_specs=extra_specs),
        image=image, instance_group=None, scheduler_hints=hints,
        force_hosts=None, force_nodes=None, ignore_hosts=None)


class Chain(object):
    """Filters and weighers run as nova's HostManager runs them."""

    filter_handler = filters.HostFilterHandler()
    weight_handler = weights.HostWeightHandler()

    def __init__(self, name, filter_objs, weigher_objs):
        self.name = name
        self.filters = filter_objs
        self.weighers = weigher_objs

    def schedule(self, hosts, spec):
        passed = self.filter_handler.get_filtered_objects(
            self.filters, hosts, spec, index=0)
        weighed = self.weight_handler.get_weighed_objects(
            self.weighers, passed, spec)
        return len(passed), weighed[0].obj if weighed else None


def nova_default_chain():
    classes = {cls.__name__: cls for cls in
               Chain.filter_handler.get_matching_classes(
                   ['nova.scheduler.filters.all_filters'])}
    weigher_classes = Chain.weight_handler.get_matching_classes(
        ['nova.scheduler.weights.all_weighers'])
    return Chain('nova default',
                 [classes[name]() for name in NOVA_DEFAULT_FILTERS],
                 [cls() for cls in weigher_classes])


def our_chain():
    return Chain('ours', [vdesk_filters.SubscriptionFilter()],
                 [vdesk_weighers.SubscriptionWeigher()])


def measure(cases, hosts, rounds):
    """Median seconds per request of each (chain, spec) case.

    The cases run interleaved, round after round, so that the noise of a
    shared machine falls on all of them alike.
    """
    samples = [[] for _ in cases]
    passed = [None] * len(cases)
    for _ in range(rounds):
        for i, (chain, spec) in enumerate(cases):
            gc.collect()
            start = time.perf_counter()
            passed[i], _ = chain.schedule(hosts, spec)
            samples[i].append(time.perf_counter() - start)
    return [statistics.median(s) for s in samples], passed


def main():
    objects.register_all()
    default = nova_default_chain()
    ours = our_chain()
    gold, plain = build_request('gold'), build_request(hint='gold')
    print('One request (8 GB, 4 vCPUs, 1 instance) through nova\'s filter '
          'and weight handlers;\nmedian of interleaved rounds, '
          'microseconds per request.')
    print('nova default: %d filters, %d weighers' % (
        len(default.filters), len(default.weighers)))
    header = ('%7s  %-24s %8s %12s %9s %7s' %
              ('hosts', 'chain', 'passed', 'us/request', 'us/host',
               'ratio'))
    print(header)
    print('-' * len(header))
    verdicts = []
    for count in HOST_COUNTS:
        hosts = build_host_states(count)
        rounds = max(5, 30000 // count)
        cases = [(default, gold), (ours, gold), (ours, plain)]
        seconds, passed = measure(cases, hosts, rounds)
        base = seconds[0]
        labels = ['nova default (gold)', 'ours: gold desktop',
                  'ours: forged hint']
        for label, secs, n in zip(labels, seconds, passed):
            print('%7d  %-24s %8d %12.0f %9.2f %6.1f%%' % (
                count, label, n, secs * 1e6, secs * 1e6 / count,
                100.0 * secs / base))
        worst = max(seconds[1:]) / base
        verdicts.append((count, worst))
    print()
    for count, worst in verdicts:
        print('%d hosts: ours costs %.1f%% of nova\'s default chain '
              '(target <= %d%%): %s' % (
                  count, 100 * worst, 100 * TARGET_RATIO,
                  'OK' if worst <= TARGET_RATIO else 'OVER TARGET'))
