"""A Nova cloud in the test process, with our scheduler filter and weigher.

:class:`NovaHarnessTestCase` builds on Nova's own functional harness
(``nova.tests.functional.integrated_helpers.ProviderUsageBaseTestCase``):
the real nova-api (through wsgi-intercept), conductor, scheduler and
Placement, and as many fake computes as a test starts, all in one process
on sqlite. The scheduler runs Nova's default filter chain and weighers plus
``SubscriptionFilter`` and ``SubscriptionWeigher``, as a deployment
following doc/source/admin/scheduler.rst does.

Capacity is exact: computes are ``fake.MediumFakeDriver`` (10 vCPUs,
8192 MB, 1028 GB), nothing is reserved for the host and the allocation
ratios are 1.0 unless a test class says otherwise.

Helpers cover what the scheduler and desktop-service tests need: desktop
pool aggregates, flavors, servers with scheduler hints,
background load pinned to a host, and an openstacksdk connection to
the in-process API.

Nova 34's services run in native threads here: tox sets
``OS_NOVA_DISABLE_EVENTLET_PATCHING=1``.
"""

import os
import time

from keystoneauth1 import plugin as ks_plugin
from keystoneauth1 import session as ks_session
import nova.conf
from nova.conf import scheduler as nova_scheduler_conf
# nova.tests.functional picks Nova's concurrency backend (native threads
# under OS_NOVA_DISABLE_EVENTLET_PATCHING=1): import it before anything
# that loads oslo.messaging, such as nova.tests.fixtures.
from nova.tests.functional import integrated_helpers
import openstack

from vdesk_openstack.conf import scheduler as scheduler_conf

CONF = nova.conf.CONF
# Register [vdesk_scheduler] before Nova loads the filter, so a test may
# set those options ahead of the scheduler's start.
scheduler_conf.register_opts(CONF)

API_PASTE_INI = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             'etc', 'nova-api-paste.ini')

SUBSCRIPTION_FILTER = (
    'vdesk_openstack.scheduler.filters.SubscriptionFilter')
SUBSCRIPTION_WEIGHER = (
    'vdesk_openstack.scheduler.weighers.SubscriptionWeigher')


def nova_default_filters():
    """Nova's default ``[filter_scheduler] enabled_filters``."""
    for opt in nova_scheduler_conf.filter_scheduler_opts:
        if opt.name == 'enabled_filters':
            return list(opt.default)
    raise LookupError('nova has no [filter_scheduler] enabled_filters')


class HarnessAuth(ks_plugin.BaseAuthPlugin):
    """keystoneauth1 plugin for the harness's stub authentication.

    Nova's API fixture replaces keystonemiddleware with a stub that builds
    the request context from these three headers.
    """

    def __init__(self, endpoint, user_id, project_id, roles):
        super().__init__()
        self._endpoint = endpoint
        self._headers = {'X-Auth-User': user_id,
                         'X-Auth-Project-Id': project_id,
                         'X-Roles': ','.join(roles)}

    def get_headers(self, session, **kwargs):
        return dict(self._headers)

    def get_endpoint(self, session, **kwargs):
        return self._endpoint

    def get_project_id(self, session, **kwargs):
        return self._headers['X-Auth-Project-Id']

    def get_user_id(self, session, **kwargs):
        return self._headers['X-Auth-User']


class NovaHarnessTestCase(integrated_helpers.ProviderUsageBaseTestCase):
    """Nova API, conductor, scheduler, Placement; computes on demand."""

    compute_driver = 'fake.MediumFakeDriver'
    microversion = 'latest'
    cpu_allocation_ratio = 1.0
    ram_allocation_ratio = 1.0
    # Filters and weighers added to Nova's defaults; a test class that
    # wants Nova's scheduler untouched sets these to ().
    extra_filters = (SUBSCRIPTION_FILTER,)
    extra_weighers = (SUBSCRIPTION_WEIGHER,)

    def setUp(self):
        # The scheduler loads its filters when it starts, inside
        # super().setUp(), so configure everything first.
        self.flags(api_paste_config=API_PASTE_INI, group='wsgi')
        self.flags(reserved_host_memory_mb=0, reserved_host_disk_mb=0,
                   reserved_host_cpus=0,
                   cpu_allocation_ratio=self.cpu_allocation_ratio,
                   ram_allocation_ratio=self.ram_allocation_ratio,
                   disk_allocation_ratio=1.0)
        # Tests fill hosts up; capacity, not quota, must be the limit.
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        self.flags(
            available_filters=['nova.scheduler.filters.all_filters'] +
            list(self.extra_filters),
            # enabled_filters names classes, without their module.
            enabled_filters=nova_default_filters() +
            [path.rpartition('.')[2] for path in self.extra_filters],
            weight_classes=['nova.scheduler.weights.all_weighers'] +
            list(self.extra_weighers),
            group='filter_scheduler')
        super().setUp()
        # An image of Nova's Glance fixture.
        self.image_id = self.glance.image1['id']

    # -- computes and the desktop pool -------------------------------------

    def _start_computes(self, *hosts):
        for host in hosts:
            self._start_compute(host)

    def _create_pool_aggregate(self, name, hosts, **metadata):
        """An aggregate of the desktop pool (``vdesk_pool=true``).

        Extra metadata, e.g. ``vdesk_tiers='gold,silver'``, is set too.
        Returns the aggregate's id.
        """
        metadata = dict(metadata, vdesk_pool='true')
        return self._create_aggregate_with_hosts(name, hosts, **metadata)

    def _create_aggregate_with_hosts(self, name, hosts, **metadata):
        agg_id = self._create_aggregate(name)
        if metadata:
            self.admin_api.post_aggregate_action(
                agg_id, {'set_metadata': {'metadata': metadata}})
        for host in hosts:
            self.admin_api.add_host_to_aggregate(agg_id, host)
        return agg_id

    # -- servers -------------------------------------------------------------

    def _flavor(self, memory_mb, vcpus, disk=1):
        """A flavor of the given size (created once per test)."""
        cache = self.__dict__.setdefault('_vdesk_flavors', {})
        key = (memory_mb, vcpus, disk)
        if key not in cache:
            cache[key] = self._create_flavor(
                name='m%d-c%d-d%d' % key, memory_mb=memory_mb, vcpu=vcpus,
                disk=disk, ephemeral=0)
        return cache[key]

    def _create_server_with_hints(self, flavor_id, hints,
                                  expected_state='ACTIVE', host=None):
        body = self._build_server(image_uuid=self.image_id,
                                  flavor_id=flavor_id, networks='none',
                                  host=host)
        request = {'server': body}
        if hints:
            request['os:scheduler_hints'] = hints
        server = self.admin_api.post_server(request)
        return self._wait_for_status(server, expected_state)

    def _wait_for_status(self, server, status, timeout=60.0):
        """Wait until the server has ``status`` (and a fault, if ERROR).

        Polls faster and longer than nova's helper, whose five seconds are
        short on a busy two-core machine.
        """
        deadline = time.monotonic() + timeout
        while True:
            server = self.admin_api.get_server(server['id'])
            if server['status'] == status and (
                    status != 'ERROR' or 'fault' in server):
                return server
            if time.monotonic() > deadline:
                self.fail('server %s did not reach %s in %ss: %s' %
                          (server['id'], status, timeout, server))
            time.sleep(0.1)

    def _load_hosts(self, loads):
        """Put non-desktop servers on hosts: ``{host: (memory_mb, vcpus)}``.

        Each server goes through the scheduler with its host as the only
        candidate (API microversion 2.74), so load lands where a test says.
        The servers are created together and waited for together.
        """
        servers = {}
        for host, (memory_mb, vcpus) in loads.items():
            body = self._build_server(
                image_uuid=self.image_id,
                flavor_id=self._flavor(memory_mb, vcpus), networks='none',
                host=host)
            servers[host] = self.admin_api.post_server({'server': body})
        for host, server in servers.items():
            servers[host] = self._wait_for_status(server, 'ACTIVE')
            self.assertEqual(host, self._host_of(servers[host]))
        return servers

    @staticmethod
    def _host_of(server):
        return server['OS-EXT-SRV-ATTR:host']

    def _assert_no_valid_host(self, server):
        """The server failed scheduling: ERROR with a NoValidHost fault."""
        self.assertEqual('ERROR', server['status'])
        self.assertIn('No valid host', server['fault']['message'])
        self.assertIsNone(self._host_of(server))

    # -- openstacksdk ---------------------------------------------------------

    def _openstack_connection(self, user_id='admin', project_id=None,
                              roles=('reader', 'member', 'admin')):
        """An openstacksdk Connection to the in-process compute API."""
        base_url = self.api_fixture.base_url
        auth = HarnessAuth(base_url, user_id,
                           project_id or self.api_fixture.project_id, roles)
        session = ks_session.Session(auth=auth)
        return openstack.connection.Connection(
            session=session, compute_endpoint_override=base_url,
            compute_api_version='2.91')
