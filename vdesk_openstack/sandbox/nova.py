"""A Nova cloud for the sandbox: Nova's functional harness, out of a test.

Nova's own functional harness (real nova-api, conductor, scheduler with
SubscriptionFilter/SubscriptionWeigher, Placement, fake computes) is the
lightest real Nova there is; the sandbox runs it in its own process, as a
test would, with H fake computes in a desktop pool aggregate. Its API is
reachable in this process only (wsgi-intercept), which is why the sandbox
serves the desktop API from the same process.
"""

import os

# Native threads, not eventlet; no test-runner timeouts or output capture.
os.environ['OS_NOVA_DISABLE_EVENTLET_PATCHING'] = '1'
for _var in ('OS_TEST_TIMEOUT', 'OS_STDOUT_CAPTURE', 'OS_STDERR_CAPTURE',
             'OS_LOG_CAPTURE', 'OS_DEBUG'):
    os.environ.pop(_var, None)

from vdesk_openstack.sandbox import nova_harness  # noqa: E402


class _Cloud(nova_harness.NovaHarnessTestCase):
    """The harness as a long-lived object; ``runTest`` is never run."""

    host_names = ()

    def runTest(self):
        pass

    def setUp(self):
        # Consoles: SPICE (direct and HTML5) and noVNC.
        self.flags(enabled=True, group='spice')
        self.flags(enabled=True, group='vnc')
        super().setUp()
        self._start_computes(*self.host_names)
        self._create_pool_aggregate('desktop-pool', self.host_names)


class NovaSandbox(object):

    def __init__(self, hosts=3):
        self._cloud = _Cloud('runTest')
        self._cloud.host_names = tuple('compute%d' % (i + 1)
                                       for i in range(hosts))
        self.started = False

    @property
    def hosts(self):
        return self._cloud.host_names

    def start(self):
        self._cloud.setUp()
        self.started = True
        return self

    @property
    def image_id(self):
        return self._cloud.image_id

    @property
    def project_id(self):
        return self._cloud.api_fixture.project_id

    def connection(self):
        """openstacksdk Connection of the desktop service's user."""
        return self._cloud._openstack_connection()

    def server(self, server_id):
        return self._cloud.admin_api.get_server(server_id)

    def host_of(self, server_id):
        return self.server(server_id)['OS-EXT-SRV-ATTR:host']

    def stop(self):
        if self.started:
            self._cloud.doCleanups()
            self.started = False
