"""The desktop service against Nova's real services, in one process.

:class:`DesktopTestCase` adds to :class:`NovaHarnessTestCase` (real
nova-api, conductor, scheduler with our filter/weigher, Placement, fake
computes) what the desktop service needs: a desktop pool of fake computes,
an embedded HSS with gold/silver/bronze plans, the service's own database,
tooz locks and the charging outbox, and a :class:`DesktopManager` wired to
Nova through openstacksdk exactly as in production (only the auth plugin
differs: the harness stubs Keystone). :meth:`notifications` delivers the
outbox as the engine does, through a sender that keeps the notifications
it builds (the engine's tests use the real RabbitMQ).

The service's database defaults to sqlite; subclasses switch it to
MariaDB or PostgreSQL with oslo.db's opportunistic fixtures.
"""

import os
import textwrap

import fixtures
import oslo_messaging

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops import compute
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import locks
from vdesk_openstack.desktops import manager
from vdesk_openstack.desktops import outbox
from vdesk_openstack import hss
from vdesk_openstack.hss import api as hss_api
from vdesk_openstack.sandbox import nova_harness

PLANS = (
    hss_api.Plan(name='gold', vcpus=2, ram_mb=2048, disk_gb=1,
                 priority='gold'),
    hss_api.Plan(name='silver', vcpus=1, ram_mb=1024, disk_gb=1,
                 priority='silver'),
    hss_api.Plan(name='bronze', vcpus=1, ram_mb=512, disk_gb=1,
                 priority='bronze'),
)
K = bytes.fromhex('465b5ce8b199b49faa5f0a2ee238a6bc')
OPC = bytes.fromhex('cd63cb71954a9f4e48a5994e37a02baf')


class DesktopTestCase(nova_harness.NovaHarnessTestCase):
    """Nova + HSS + the desktop service's manager."""

    pool_hosts = ('pool1', 'pool2', 'pool3')
    other_hosts = ('other1',)
    coordination_url = None  # file:// in the temp dir unless set

    def database_url(self, tmp):
        return 'sqlite:///%s/desktops.sqlite' % tmp

    def setUp(self):
        super().setUp()
        self._start_computes(*(self.pool_hosts + self.other_hosts))
        self._create_pool_aggregate('desktop-pool', self.pool_hosts)
        tmp = self.useFixture(fixtures.TempDir()).path
        self.conf_file = os.path.join(tmp, 'vdesk.conf')
        with open(self.conf_file, 'w') as f:
            f.write(textwrap.dedent('''\
                [DEFAULT]
                [oslo_messaging_notifications]
                driver = messagingv2
                [hss]
                connection = sqlite:///{t}/hss.sqlite
                key_file = {t}/hss.key
                [database]
                connection = {db}
                [coordination]
                backend_url = {coord}
                lock_timeout = 60
                [desktops]
                default_image = {image}
                network = none
                build_timeout = 120
                spice_direct_to_hypervisor = true
                ''').format(t=tmp, db=self.database_url(tmp),
                            coord=self.coordination_url or 'file://%s/locks'
                            % tmp, image=self.image_id))
        self.vconf = vdesk_conf.make_vdesk_conf([self.conf_file])
        self.hss = hss.get_driver(self.vconf)
        self.hss.db_sync()
        for plan in PLANS:
            self.hss.add_plan(plan)
        self.store = db_api.DesktopStore(self.vconf)
        self.store.db_sync()
        self.addCleanup(self.store.engine.dispose)
        self.addCleanup(self.hss.engine.dispose)
        self.locks = locks.SubscriberLocks(self.vconf)
        self.addCleanup(self.locks.stop)
        self.sender = KeepingSender(self.vconf)
        self.delivery = outbox.Delivery(self.vconf, self.store, self.sender,
                                        self.locks)
        self.compute = compute.Compute(self._openstack_connection(),
                                       self.vconf)
        self.manager = manager.DesktopManager(
            self.vconf, self.store, self.hss, self.compute, self.locks)
        self._subscribers = 0

    def add_subscriber(self, plan='gold'):
        self._subscribers += 1
        imsi = '0010100%08d' % self._subscribers
        self.hss.add_subscriber(imsi, K, OPC, plan=plan)
        return imsi

    def notifications(self, subscriber=None):
        """Charging events delivered so far: [(event_type, payload)].

        Delivers the outbox first, as the engine would.
        """
        self.delivery.deliver_once()
        return [(m['event_type'], m['payload']) for m in self.sender.sent
                if subscriber is None or
                m['payload'].get('subscriber') == subscriber]

    def server(self, instance_id):
        return self.admin_api.get_server(instance_id)


class KeepingSender(charging.NotificationSender):
    """The engine's sender, keeping the notifications instead of sending."""

    def __init__(self, conf):
        transport = oslo_messaging.get_notification_transport(
            conf, url='fake:/')
        super().__init__(conf, transport=transport, host='test')
        self.sent = []

    def send(self, rec):
        self.sent.append(self.message(rec))
