"""The whole system on loopback: what ``vdesk-sandbox`` runs.

* the embedded HSS and a real Keystone with the ``aka`` method
  (:mod:`.aio`);
* Nova -- API, conductor, scheduler with SubscriptionFilter and
  SubscriptionWeigher, Placement, H fake computes in a desktop pool -- from
  Nova's functional harness (:mod:`.nova`);
* the desktop service: its real paste pipeline (keystonemiddleware against
  that Keystone, policy, controllers) served on a loopback port, the
  manager and an engine thread (sync, interim records, idle release);
* charging: Ceilometer's converter and our ``radius://`` publisher
  (:mod:`.charging`) to a FreeRADIUS started on free loopback ports when
  FreeRADIUS is installed; otherwise the records stay in the publisher's
  spool.

Nova's API is reachable only inside this process (wsgi-intercept), so the
desktop service runs here too; Keystone, the desktop API and FreeRADIUS
listen on real loopback ports that anyone may use.
"""

import os
import shutil
import socket
import tempfile
import textwrap
import threading
import time

from oslo_log import log as logging

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.desktops.api import app as api_app
from vdesk_openstack.desktops.api import wsgi as api_wsgi
from vdesk_openstack.desktops import compute
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import locks
from vdesk_openstack.desktops import manager
from vdesk_openstack.desktops import outbox
from vdesk_openstack.sandbox import aio
from vdesk_openstack.sandbox import charging as sandbox_charging
from vdesk_openstack.sandbox import keystone
from vdesk_openstack.sandbox import net
from vdesk_openstack.sandbox import nova as nova_sandbox
from vdesk_openstack.sandbox import private

LOG = logging.getLogger(__name__)

RADIUS_SECRET = 'sandbox-radius'  # nosec: loopback sandbox only
INTERIM_INTERVAL = 2


class System(object):
    """Start with :meth:`start`, always :meth:`stop`."""

    def __init__(self, subscribers=1, hosts=3):
        self.n_subscribers = subscribers
        self.n_hosts = hosts
        self.workdir = tempfile.mkdtemp(prefix='vdesk-sandbox-')
        self.identity = aio.AllInOne()
        self.nova = nova_sandbox.NovaSandbox(hosts)
        self.radius = None
        self.bridge = None
        self.manager = None
        self._httpd = None
        self._stop_engine = threading.Event()
        self._engine = None
        self.subscribers = []

    # -- start ---------------------------------------------------------------
    def start(self):
        try:
            LOG.info('Starting the HSS and Keystone (aka method)')
            self.identity.start()
            self.subscribers = [self.identity.provision()
                                for _ in range(self.n_subscribers)]
            LOG.info('Starting Nova with %d fake compute hosts',
                     self.n_hosts)
            self.nova.start()
            self._start_charging()
            self._start_desktop_service()
            self._register_endpoint()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_charging(self):
        spool = os.path.join(self.workdir, 'spool')
        if shutil.which('freeradius') or os.path.exists(
                '/usr/sbin/freeradius'):
            from vdesk_openstack.sandbox import freeradius
            self.radius = freeradius.FreeRadius(secret=RADIUS_SECRET)
            self.radius.setUp()
            port = self.radius.acct_port
            self.accounting_source = 'freeradius-detail'
            LOG.info('FreeRADIUS accounting on 127.0.0.1:%d', port)
        else:
            # Nobody listens there: the records wait in the spool.
            port = net.free_port(kind=socket.SOCK_DGRAM)
            self.accounting_source = 'spool'
            LOG.warning('FreeRADIUS is not installed: accounting records '
                        'stay in the publisher\'s spool')
        url = ('radius://127.0.0.1:%d?secret=%s&nas_identifier='
               'vdesk-sandbox&spool=%s' % (port, RADIUS_SECRET, spool))
        self.bridge = sandbox_charging.CeilometerBridge(url)

    def _start_desktop_service(self):
        port = net.free_port()
        self.desktop_url = 'http://127.0.0.1:%d' % port
        conf_file = os.path.join(self.workdir, 'vdesk.conf')
        with os.fdopen(private.open_fd(conf_file), 'w') as f:
            f.write(textwrap.dedent('''\
                [DEFAULT]
                [hss]
                connection = sqlite:///{hss}/hss.sqlite
                key_file = {hss}/hss.key
                [database]
                connection = sqlite:///{w}/desktops.sqlite
                [coordination]
                backend_url = file://{w}/locks
                [desktops]
                default_image = {image}
                network = none
                idle_timeout = 0
                spice_direct_to_hypervisor = true
                [charging]
                interim_interval = {interim}
                [keystone_authtoken]
                www_authenticate_uri = {ks}
                auth_url = {ks}
                auth_type = password
                username = admin
                password = {pw}
                project_name = admin
                user_domain_id = default
                project_domain_id = default
                interface = public
                ''').format(hss=self.identity.workdir, w=self.workdir,
                            image=self.nova.image_id,
                            interim=INTERIM_INTERVAL, ks=self.identity.url,
                            pw=keystone.ADMIN_PASSWORD))
        conf = vdesk_conf.make_vdesk_conf([conf_file])
        store = db_api.DesktopStore(conf)
        store.db_sync()
        subscriber_locks = locks.SubscriberLocks(conf)
        self.delivery = outbox.Delivery(conf, store, self.bridge,
                                        subscriber_locks)
        self.manager = manager.DesktopManager(
            conf, store, self.identity.hss,
            compute.Compute(self.nova.connection(), conf),
            subscriber_locks)
        app = api_app.load_app(conf, self.manager,
                               api_wsgi.find_paste_file())
        self._httpd = api_wsgi.make_server(app, port=port)
        threading.Thread(target=self._httpd.serve_forever,
                         name='desktop-api', daemon=True).start()
        self._engine = threading.Thread(target=self._run_engine,
                                        name='desktop-engine', daemon=True)
        self._engine.start()
        LOG.info('Desktop service at %s', self.desktop_url)

    def _run_engine(self):
        while not self._stop_engine.wait(0.5):
            try:
                self.manager.periodic()
            except Exception:
                LOG.exception('Engine pass failed')
            try:
                self.delivery.deliver()
            except Exception:
                LOG.exception('Charging outbox not delivered; retrying')

    def _register_endpoint(self):
        """Put the desktop service in Keystone's catalog (type desktop)."""
        url = self.identity.url
        admin = self.identity.deployment.admin_session(url)
        service = admin.post(url + '/services', json={'service': {
            'type': 'desktop', 'name': 'vdesk',
            'description': 'Subscriber desktops'}}).json()['service']
        admin.post(url + '/endpoints', json={'endpoint': {
            'service_id': service['id'], 'interface': 'public',
            'region_id': 'RegionOne', 'url': self.desktop_url}})

    # -- what vdesk-sandbox uses ---------------------------------------------
    real_guests = False  # fake computes: no guest prints a boot line
    interim_interval = INTERIM_INTERVAL

    @property
    def keystone_url(self):
        return self.identity.url

    def server(self, server_id):
        return self.nova.server(server_id)

    def host_of(self, server_id):
        return self.nova.host_of(server_id)

    def boot_count(self, server_id, after=0):
        return None

    def check(self):
        """A sentence on what has died, or None while all is well."""
        for server in self.identity.deployment.servers:
            if server.process.poll() is not None:
                return 'Keystone exited (code %s); see %s' % (
                    server.process.returncode, server.log_path)
        return None

    def serve_info(self):
        return {'cloud': 'fake', 'keystone_url': self.identity.url,
                'desktop_url': self.desktop_url,
                'admin': {'username': 'admin',
                          'password': keystone.ADMIN_PASSWORD,
                          'project_name': 'admin',
                          'user_domain_name': 'Default',
                          'project_domain_name': 'Default'},
                'subscribers': [{'imsi': s.imsi, 'k': s.k, 'opc': s.opc,
                                 'plan': s.plan} for s in self.subscribers]}

    # -- results -------------------------------------------------------------
    def accounting(self, subscriber):
        """Acct-Status-Types the accounting server got for ``subscriber``."""
        if self.radius is not None:
            return [r.get('Acct-Status-Type') for r in self.radius.records()
                    if r.get('User-Name') == subscriber]
        return [status for imsi, status in self.bridge.sent
                if imsi == subscriber]

    def wait_accounting(self, timeout=30):
        deadline = time.monotonic() + timeout
        while self.manager.store.outbox_size() and \
                time.monotonic() < deadline:
            time.sleep(0.1)  # the engine thread delivers the outbox
        if self.radius is not None:
            return self.bridge.wait_delivered(timeout)
        return True

    # -- stop ----------------------------------------------------------------
    def stop(self):
        self._stop_engine.set()
        if self._engine is not None:
            self._engine.join(10)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self.manager is not None:
            self.manager.locks.stop()
        if self.bridge is not None:
            self.bridge.close()
        if self.radius is not None:
            self.radius.cleanUp()
        self.nova.stop()
        self.identity.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
