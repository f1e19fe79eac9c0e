"""A real OpenStack cloud on loopback (``vdesk-sandbox --cloud libvirt``).

Every service runs in its own process, configured by files written the way
an operator writes them, over the machine's MariaDB and RabbitMQ (one
database set and one RabbitMQ vhost per run, removed at the end):

* Keystone with the ``aka`` method (gunicorn), Placement, Glance with a
  file store, the Neutron API (ML2 without agents: Nova asks Neutron for
  ports on every server show), nova-api, nova-conductor, nova-scheduler
  (with our filter and weigher) and nova-compute on the libvirt driver
  with QEMU (TCG); libvirtd and virtlogd are started when not running;
* the desktop image built from Debian packages and registered in Glance
  (kernel, ramdisk and disk: Nova boots the kernel directly);
* Ceilometer's notification agent with our ``radius://`` publisher and
  FreeRADIUS, or (``charging='diameter'``) our ``diameter://`` publisher
  and a freeDiameter charging data function writing into PostgreSQL;
* with ``hss='gsup'``, osmo-hlr holds the SIM secrets and Keystone gets
  its authentication vectors over GSUP;
* Kerbside, the token-validating SPICE proxy, when installed
  (:mod:`vdesk_openstack.sandbox.kerbside`): spice-direct consoles go
  through it, else straight to the hypervisor;
* vdesk-api under uwsgi and vdesk-engine, on vdesk.conf written from
  :mod:`vdesk_openstack.deploy` (the same values the DevStack plugin
  writes).

:meth:`Cloud.stop` stops everything it started -- processes, libvirt
domains, databases, the vhost -- on success, on errors and on signals.
The start-up time of each phase is kept in :attr:`Cloud.timings`.
"""

import collections
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import textwrap
import time
import urllib.parse

from oslo_log import log as logging

import vdesk_openstack
from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack import deploy
from vdesk_openstack import hss
from vdesk_openstack.sandbox import aio
from vdesk_openstack.sandbox import hypervisor as hypervisor_mod
from vdesk_openstack.sandbox import image as image_mod
from vdesk_openstack.sandbox import kerbside as kerbside_mod
from vdesk_openstack.sandbox import keystone
from vdesk_openstack.sandbox import net
from vdesk_openstack.sandbox import private
from vdesk_openstack.sandbox import procs
from vdesk_openstack import subscriber_rights

LOG = logging.getLogger(__name__)

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(
    vdesk_openstack.__file__)))
VENV_ETC = os.path.join(sys.prefix, 'etc')
COMPUTE_HOST = 'vdesk-compute1'
POOL_AGGREGATE = 'desktop-pool'
RADIUS_SECRET = 'sandbox-radius'  # nosec: loopback sandbox only
SERVICES = ('nova', 'placement', 'glance', 'neutron', 'vdesk')
DATABASES = ('keystone', 'nova_api', 'nova', 'nova_cell0', 'placement',
             'glance', 'neutron', 'vdesk', 'hss')
LIBVIRT_MODULES = ('libvirt.py', 'libvirt_qemu.py', 'libvirt_lxc.py',
                   'libvirtaio.py', 'libvirtmod', 'libvirtmod_qemu',
                   'libvirtmod_lxc')
INTERIM_INTERVAL = 5
DIAMETER_REALM = 'vdesk.sandbox'
CEILOMETER_DIAMETER_IDENTITY = 'ceilometer.vdesk.sandbox'
# Accounting-Record-Type of Diameter Rf, by RADIUS Acct-Status-Type name.
DIAMETER_RECORD_TYPES = {2: 'Start', 3: 'Interim-Update', 4: 'Stop'}
COMPUTE_MICROVERSION = '2.99'


class CloudError(RuntimeError):
    pass


def _read(path):
    with open(path) as f:
        return f.read()


def _ini(text):
    """An ini file's text without the indentation of the source code."""
    return ''.join(line.strip() + '\n' for line in text.splitlines())


def _wsgi_app(module):
    return 'vdesk_openstack.sandbox.wsgi_apps:load(%r)' % module


class Cloud(object):
    """Start with :meth:`start`, always :meth:`stop` (also on errors)."""

    def __init__(self, subscribers=1, database_url=None, transport_url=None,
                 workdir=None, interim_interval=INTERIM_INTERVAL, hss='sql',
                 charging='radius',
                 console_token_ttl=deploy.CONSOLE_TOKEN_TTL):
        if hss not in deploy.HSS_DRIVERS:
            raise ValueError('hss must be one of %s' % ', '.join(
                deploy.HSS_DRIVERS))
        if charging not in deploy.CHARGING:
            raise ValueError('charging must be one of %s' % ', '.join(
                deploy.CHARGING))
        self.hss_driver = hss
        self.charging = charging
        self.hlr = None
        self.cdf = None
        self.n_subscribers = subscribers
        self.database_url = (database_url or
                             'mysql+pymysql://root@127.0.0.1').rstrip('/')
        self.base_transport_url = (transport_url or
                                   'rabbit://guest:guest@127.0.0.1:5672/')
        self.interim_interval = interim_interval
        # Seconds a console credential (Kerbside's, Nova's) lives.
        self.console_token_ttl = console_token_ttl
        self.workdir = workdir or tempfile.mkdtemp(prefix='vdesk-cloud-')
        # QEMU runs as libvirt-qemu: it must reach the instance files.
        os.chmod(self.workdir, 0o711)  # nosec: traverse only, no listing
        self.logdir = os.path.join(self.workdir, 'log')
        private.make_dir(self.logdir)  # logs name URLs, users, tokens' ids
        self.run_id = 'vdsb%s' % secrets.token_hex(3)
        self.passwords = {name: secrets.token_urlsafe(12)
                          for name in SERVICES}
        self.timings = collections.OrderedDict()
        self.processes = []
        self.subscribers = []
        self.hypervisor = None
        self.radius = None
        self.keystone = None
        self.kerbside = None
        self.hss = None
        self.vhost = None
        self._databases = []
        self._admin = None
        self.urls = {}
        self.subscriber_project_id = None

    # -- helpers --------------------------------------------------------------
    @contextlib.contextmanager
    def _phase(self, name):
        LOG.info('Starting: %s', name)
        started = time.monotonic()
        yield
        self.timings[name] = round(time.monotonic() - started, 2)
        LOG.info('Started: %s (%.1f s)', name, self.timings[name])

    def _path(self, *parts):
        path = os.path.join(self.workdir, *parts)
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            # Each service's directory is its owner's alone; only Nova's
            # instance files must be reachable by QEMU (see _start_nova).
            private.make_dir(directory)
        return path

    def _write(self, text, *parts):
        # Configuration files carry passwords and secrets.
        return private.write(self._path(*parts), _ini(text))

    def _db(self, name):
        return '%s/%s_%s?charset=utf8' % (self.database_url, self.run_id,
                                          name)

    def _spawn(self, name, argv, env=None, port=None, timeout=120):
        process = procs.Process(name, argv, os.path.join(
            self.logdir, name + '.log'), env=dict(os.environ, **(env or {})))
        self.processes.append(process.start())
        if port is not None:
            try:
                net.wait_for_port(port, timeout=timeout,
                                  process=process.popen)
            except RuntimeError as e:
                raise CloudError('%s: %s\n%s' % (name, e, process.tail()))
        return process

    def _gunicorn(self, name, app, env, workers=1, threads=4):
        port = net.free_port()
        self._spawn(name, [procs.bin_path('gunicorn'), '--bind',
                           '127.0.0.1:%d' % port, '--workers', str(workers),
                           '--threads', str(threads), '--worker-class',
                           'gthread', '--timeout', '300', app],
                    env=env, port=port)
        return 'http://127.0.0.1:%d' % port

    def _manage(self, what, argv, env=None, timeout=600):
        return procs.run(argv, what, env=dict(os.environ, **(env or {})),
                         timeout=timeout,
                         log_path=os.path.join(self.logdir, 'setup.log'))

    def _authtoken(self, user):
        return '''\
            [keystone_authtoken]
            www_authenticate_uri = {ks}
            auth_url = {ks}
            auth_type = password
            username = {user}
            password = {pw}
            user_domain_name = Default
            project_name = service
            project_domain_name = Default
            interface = public
            service_token_roles_required = true
            '''.format(ks=self.keystone_url, user=user,
                       pw=self.passwords.get(user))

    def _service_auth(self, section, user='nova', extra=''):
        return '''\
            [{section}]
            auth_type = password
            auth_url = {ks}
            username = {user}
            password = {pw}
            user_domain_name = Default
            project_name = service
            project_domain_name = Default
            region_name = RegionOne
            {extra}
            '''.format(section=section, ks=self.keystone_url, user=user,
                       pw=self.passwords[user], extra=extra)

    # -- start ----------------------------------------------------------------
    def start(self):
        started = time.monotonic()
        try:
            with self._phase('hypervisor'):
                self.hypervisor = hypervisor_mod.Hypervisor().start()
            with self._phase('databases and message bus'):
                self._create_databases()
                self._create_vhost()
            with self._phase('keystone'):
                self._start_keystone()
            with self._phase('placement, glance, neutron'):
                self._start_placement()
                self._start_glance()
                self._start_neutron()
            with self._phase('desktop image'):
                self._register_image()
            with self._phase('nova'):
                self._start_nova()
                self._zero_subscriber_quotas()
            with self._phase('kerbside'):
                self.kerbside = kerbside_mod.start(self)
                self._install_spice_certificates()
            with self._phase('charging'):
                self._start_charging()
            with self._phase('desktop service'):
                self._start_desktop_service()
        except BaseException:
            self.stop()
            raise
        self.timings['total'] = round(time.monotonic() - started, 2)
        return self

    def _create_databases(self):
        import sqlalchemy
        engine = sqlalchemy.create_engine(self.database_url + '/')
        try:
            with engine.connect() as c:
                for name in DATABASES:
                    db = '%s_%s' % (self.run_id, name)
                    c.execute(sqlalchemy.text(
                        'CREATE DATABASE `%s` CHARACTER SET utf8' % db))
                    self._databases.append(db)
        except sqlalchemy.exc.OperationalError as e:
            raise CloudError('cannot create databases at %s: %s (is MariaDB '
                             'running? see --database-url)'
                             % (self.database_url, e.orig))
        finally:
            engine.dispose()

    def _create_vhost(self):
        parsed = urllib.parse.urlsplit(self.base_transport_url)
        if shutil.which('rabbitmqctl') and parsed.hostname in (
                '127.0.0.1', 'localhost'):
            ctl = shutil.which('rabbitmqctl')
            self._manage('rabbitmqctl add_vhost',
                         [ctl, 'add_vhost', self.run_id])
            self.vhost = self.run_id
            self._manage('rabbitmqctl set_permissions',
                         [ctl, 'set_permissions', '-p', self.run_id,
                          parsed.username or 'guest', '.*', '.*', '.*'])
            self.transport_url = urllib.parse.urlunsplit(
                parsed._replace(path='/' + self.run_id))
        else:
            self.transport_url = self.base_transport_url

    def _start_keystone(self):
        if self.hss_driver == 'gsup':
            # The SIM secrets live in the operator's HLR; we keep plans.
            from vdesk_openstack.sandbox import hlr
            self.hlr = hlr.OsmoHlr(self._path('hlr', '')).start()
        lines = ['[hss]', 'driver = %s' % self.hss_driver,
                 'connection = %s' % self._db('hss')]
        if self.hlr is not None:
            lines += ['[hss_gsup]', 'servers = %s' % self.hlr.gsup_server]
        else:
            lines.append('key_file = %s' % self._path('hss', 'hss.key'))
        self.hss_conf_file = self._write('\n'.join(lines) + '\n', 'hss',
                                         'vdesk.conf')
        self.hss = hss.get_driver(
            vdesk_conf.make_vdesk_conf([self.hss_conf_file]))
        self.hss.db_sync()
        for plan in aio.PLANS:
            self.hss.add_plan(plan)
        for index in range(self.n_subscribers):
            sub = aio.make_subscriber(index + 1)
            sub.plan = aio.PLANS[index % len(aio.PLANS)].name
            if self.hlr is not None:
                self.hlr.provision(sub.imsi, sub.k, sub.opc)
                self.hss.add_subscriber(sub.imsi, plan=sub.plan)
            else:
                self.hss.add_subscriber(sub.imsi, bytes.fromhex(sub.k),
                                        bytes.fromhex(sub.opc),
                                        plan=sub.plan)
            self.subscribers.append(sub)

        self.keystone = keystone.KeystoneDeployment(
            os.path.join(self.workdir, 'keystone'), self.hss_conf_file,
            notification_url=self.transport_url,
            database_connection=self._db('keystone'))
        port = net.free_port()
        self.keystone_url = 'http://127.0.0.1:%d/v3' % port
        self.keystone.setup(public_url=self.keystone_url)
        self.keystone.start(port=port)
        self.keystone.create_subscriber_project(self.keystone_url)
        self._admin = self.keystone.admin_session(self.keystone_url)
        self.urls['keystone'] = self.keystone_url
        self._service_project = self._find('projects', 'service',
                                           create=True)
        admin_role = self._find('roles', 'admin')
        service_role = self._find('roles', 'service', create=True)
        for name in SERVICES:
            user = self._post('users', {'user': {
                'name': name, 'password': self.passwords[name],
                'domain_id': 'default'}})['user']
            for role in (admin_role, service_role):
                self._admin.put('%s/projects/%s/users/%s/roles/%s' % (
                    self.keystone_url, self._service_project, user['id'],
                    role))

    def _find(self, kind, name, create=False):
        found = self._admin.get('%s/%s?name=%s' % (
            self.keystone_url, kind, name)).json()[kind]
        if found:
            return found[0]['id']
        if not create:
            raise CloudError('Keystone has no %s named %s' % (kind, name))
        body = {'name': name}
        if kind == 'projects':
            body['domain_id'] = 'default'
        return self._post(kind, {kind[:-1]: body})[kind[:-1]]['id']

    def _post(self, path, body):
        return self._admin.post('%s/%s' % (self.keystone_url, path),
                                json=body).json()

    def _register(self, kind, name, url):
        service = self._post('services', {'service': {
            'type': kind, 'name': name}})['service']
        self._post('endpoints', {'endpoint': {
            'service_id': service['id'], 'interface': 'public',
            'region_id': 'RegionOne', 'url': url}})
        self.urls[kind] = url

    def _start_placement(self):
        text = '''\
            [DEFAULT]
            use_stderr = false
            [placement_database]
            connection = {db}
            [api]
            auth_strategy = keystone
            '''.format(db=self._db('placement'))
        self._write(text + self._authtoken('placement'),
                    'placement', 'placement.conf')
        env = {'OS_PLACEMENT_CONFIG_DIR': self._path('placement', '')}
        self._manage('placement-manage db sync',
                     [procs.bin_path('placement-manage'), '--config-file',
                      self._path('placement', 'placement.conf'), 'db',
                      'sync'])
        url = self._gunicorn('placement', _wsgi_app('placement.wsgi.api'),
                             env)
        self._register('placement', 'placement', url)

    def _start_glance(self):
        images = self._path('glance', 'images', '')
        conf_dir = self._path('glance', '')
        private.write(os.path.join(conf_dir, 'glance-api-paste.ini'), _read(
            os.path.join(VENV_ETC, 'glance', 'glance-api-paste.ini')))
        text = '''\
            [DEFAULT]
            use_stderr = false
            enabled_backends = fs:file
            [database]
            connection = {db}
            [glance_store]
            default_backend = fs
            [fs]
            filesystem_store_datadir = {images}
            [os_glance_staging_store]
            filesystem_store_datadir = {w}/staging/
            [os_glance_tasks_store]
            filesystem_store_datadir = {w}/tasks/
            [paste_deploy]
            flavor = keystone
            config_file = {conf_dir}glance-api-paste.ini
            [oslo_concurrency]
            lock_path = {w}/locks
            '''.format(db=self._db('glance'), images=images,
                       w=self._path('glance'), conf_dir=conf_dir)
        self._write(text + self._authtoken('glance'),
                    'glance', 'glance-api.conf')
        self._manage('glance-manage db_sync',
                     [procs.bin_path('glance-manage'), '--config-file',
                      conf_dir + 'glance-api.conf', 'db_sync'])
        url = self._gunicorn('glance', _wsgi_app('glance.wsgi.api'),
                             {'OS_GLANCE_CONFIG_DIR': conf_dir})
        self._register('image', 'glance', url)

    def _start_neutron(self):
        conf_dir = self._path('neutron', '')
        text = '''\
            [DEFAULT]
            use_stderr = false
            core_plugin = ml2
            service_plugins =
            auth_strategy = keystone
            api_paste_config = {paste}
            notify_nova_on_port_status_changes = false
            notify_nova_on_port_data_changes = false
            transport_url = {transport}
            [database]
            connection = {db}
            [oslo_concurrency]
            lock_path = {conf_dir}locks
            '''.format(db=self._db('neutron'), transport=self.transport_url,
                       paste=os.path.join(VENV_ETC, 'neutron',
                                          'api-paste.ini'),
                       conf_dir=conf_dir)
        self._write(text + self._authtoken('neutron'),
                    'neutron', 'neutron.conf')
        self._write('''\
            [ml2]
            type_drivers = flat,local
            tenant_network_types = local
            mechanism_drivers =
            extension_drivers =
            ''', 'neutron', 'ml2_conf.ini')
        files = [conf_dir + 'neutron.conf', conf_dir + 'ml2_conf.ini']
        self._manage('neutron-db-manage upgrade heads',
                     [procs.bin_path('neutron-db-manage'),
                      '--config-file', files[0], '--config-file', files[1],
                      'upgrade', 'heads'])
        url = self._gunicorn('neutron', _wsgi_app('neutron.wsgi.api'), {
            'OS_NEUTRON_CONFIG_DIR': conf_dir,
            'OS_NEUTRON_CONFIG_FILES': 'neutron.conf;ml2_conf.ini'})
        self._register('network', 'neutron', url)
        # Neutron's first request must not be a port listing (its
        # extension mappers are set up lazily by the first resources).
        self._admin.get(url + '/v2.0/networks')

    def _register_image(self):
        built = image_mod.build_desktop_image(self._path('image', ''))
        glance = self.urls['image']

        def upload(name, path, disk_format, container_format, **props):
            body = dict(name=name, disk_format=disk_format,
                        container_format=container_format,
                        visibility='public', **props)
            image = self._admin.post(glance + '/v2/images', json=body).json()
            with open(path, 'rb') as f:
                self._admin.put(
                    '%s/v2/images/%s/file' % (glance, image['id']), data=f,
                    headers={'Content-Type': 'application/octet-stream'})
            return image['id']

        kernel = upload('vdesk-desktop-kernel', built.kernel, 'aki', 'aki')
        ramdisk = upload('vdesk-desktop-ramdisk', built.ramdisk, 'ari',
                         'ari')
        self.image_id = upload(
            'vdesk-desktop', built.disk, 'qcow2', 'bare',
            kernel_id=kernel, ramdisk_id=ramdisk, hw_video_model='qxl',
            hw_pointer_model='usbtablet')

    def _libvirt_path(self):
        """A directory holding only Debian's libvirt bindings."""
        shim = self._path('python-libvirt', '')
        source = '/usr/lib/python3/dist-packages'
        found = False
        for name in os.listdir(source) if os.path.isdir(source) else ():
            if any(name == m or name.startswith(m + '.')
                   for m in LIBVIRT_MODULES):
                os.symlink(os.path.join(source, name),
                           os.path.join(shim, name))
                found = found or name.startswith('libvirtmod.')
        if not found:
            raise CloudError('the libvirt Python bindings are missing: '
                             'apt-get install python3-libvirt '
                             '(tools/test-setup.sh does it)')
        return shim

    def _nova_conf(self, compute=False):
        w = self._path('nova', '')
        privsep = '%s --config-file %snova-compute.conf' % (
            procs.bin_path('privsep-helper'), w)
        text = '''\
            [DEFAULT]
            use_stderr = false
            transport_url = {transport}
            state_path = {w}state
            instances_path = {w}instances
            host = {host}
            my_ip = 127.0.0.1
            compute_driver = libvirt.LibvirtDriver
            shutdown_timeout = 3
            graceful_shutdown_timeout = 10
            shelved_offload_time = 0
            reserved_host_memory_mb = 0
            # A desktop's snapshot is a sparse qcow2 of the flavor's disk
            # size: converting it to raw at every restore costs minutes.
            force_raw_images = false
            [libvirt]
            virt_type = qemu
            # Each desktop disk a qcow2 of its own, no backing file: on the
            # default qcow2 backend, unshelve rebases the restored disk onto
            # the original image, a qemu-img pass over the whole virtual
            # disk (3 s for 20 GB here) on every restore.
            images_type = flat
            connection_uri = qemu:///system
            [spice]
            enabled = true
            server_listen = 127.0.0.1
            server_proxyclient_address = 127.0.0.1
            spice_direct_proxy_base_url = http://127.0.0.1:13002/nova
            require_secure = {spice_secure}
            [consoleauth]
            token_ttl = {token_ttl}
            [vnc]
            enabled = false
            [scheduler]
            discover_hosts_in_cells_interval = -1
            [quota]
            instances = -1
            cores = -1
            ram = -1
            [oslo_concurrency]
            lock_path = {w}locks
            [oslo_messaging_notifications]
            driver = messagingv2
            [nova_sys_admin]
            helper_command = {privsep}
            [privsep_osbrick]
            helper_command = {privsep}
            [vif_plug_linux_bridge_privileged]
            helper_command = {privsep}
            [vif_plug_ovs_privileged]
            helper_command = {privsep}
            [os_vif_linux_bridge]
            use_ipv6 = false
            [service_user]
            send_service_user_token = true
            '''.format(transport=self.transport_url, w=w, host=COMPUTE_HOST,
                       privsep=privsep, token_ttl=self.console_token_ttl,
                       # SPICE over TLS only when Kerbside, which trusts
                       # the hypervisor's certificate, proxies it.
                       spice_secure=kerbside_mod.missing() is None)
        if not compute:
            text += '''\
            [api_database]
            connection = {api}
            [database]
            connection = {main}
            [oslo_policy]
            policy_file = {w}policy.yaml
            '''.format(api=self._db('nova_api'), main=self._db('nova'), w=w)
        text = textwrap.dedent(text)
        for section in ('placement', 'neutron', 'glance', 'service_user'):
            extra = ''
            if section == 'glance':
                extra = 'api_servers = %s' % self.urls['image']
            text += textwrap.dedent(self._service_auth(
                section + ('_auth' if section == 'service_user' else ''),
                extra=extra)).replace('[service_user_auth]',
                                      '[service_user]')
        text += textwrap.dedent(self._authtoken('nova'))
        # Our scheduler filter and weigher, the versioned notifications
        # the engine listens to: the same lines the DevStack plugin sets.
        current = deploy.read_ini(None)
        sections = collections.OrderedDict()
        for s in deploy.nova_settings(self.deployment_facts(), current):
            sections.setdefault(s.section, []).append(s)
        for section, settings in sections.items():
            text += '[%s]\n' % section
            for s in settings:
                text += '%s = %s\n' % (s.option, s.value)
        return text

    def _start_nova(self):
        w = self._path('nova', '')
        for sub in ('state', 'instances', 'locks'):
            private.make_dir(w + sub)
        # QEMU runs as libvirt-qemu: it traverses to the instance files
        # (nothing here can be listed by others).
        for sub in ('', 'instances'):
            os.chmod(w + sub, 0o711)  # nosec: traverse only, no listing
        private.write(w + 'api-paste.ini', _read(
            os.path.join(VENV_ETC, 'nova', 'api-paste.ini')))
        # Kerbside's user reads console tokens with a role of its own.
        self._write(kerbside_mod.console_auth_policy(), 'nova', 'policy.yaml')
        self._write(self._nova_conf(), 'nova', 'nova.conf')
        self._write(self._nova_conf(compute=True), 'nova',
                    'nova-compute.conf')
        conf = ['--config-file', w + 'nova.conf']
        manage = procs.bin_path('nova-manage')
        self._manage('nova-manage api_db sync', [manage] + conf +
                     ['api_db', 'sync'])
        self._manage('nova-manage cell_v2 map_cell0', [manage] + conf + [
            'cell_v2', 'map_cell0', '--database_connection',
            self._db('nova_cell0')])
        self._manage('nova-manage cell_v2 create_cell', [manage] + conf + [
            'cell_v2', 'create_cell', '--name', 'cell1', '--verbose'])
        self._manage('nova-manage db sync', [manage] + conf + ['db', 'sync'])
        for service in ('nova-conductor', 'nova-scheduler'):
            self._spawn(service, [procs.bin_path(service)] + conf)
        pythonpath = os.pathsep.join(
            [self._libvirt_path()] +
            [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep)
             if p])
        self._spawn('nova-compute', [procs.bin_path('nova-compute'),
                                     '--config-file',
                                     w + 'nova-compute.conf'],
                    env={'PYTHONPATH': pythonpath})
        url = self._gunicorn('nova-api', _wsgi_app('nova.wsgi.osapi_compute'),
                             {'OS_NOVA_CONFIG_DIR': w,
                              'OS_NOVA_CONFIG_FILES':
                                  'api-paste.ini;nova.conf'}, threads=8)
        self._register('compute', 'nova', url + '/v2.1')
        self.nova_url = url + '/v2.1'
        self._wait_for_compute()
        aggregate = self._nova('POST', '/os-aggregates', {'aggregate': {
            'name': POOL_AGGREGATE}})['aggregate']
        self._nova('POST', '/os-aggregates/%s/action' % aggregate['id'],
                   {'set_metadata': {'metadata': {'vdesk_pool': 'true'}}})
        self._nova('POST', '/os-aggregates/%s/action' % aggregate['id'],
                   {'add_host': {'host': COMPUTE_HOST}})

    def _zero_subscriber_quotas(self):
        """The subscribers' project can create nothing in Nova or Neutron.

        Their role is granted nothing there either: the quotas hold even
        where a policy would let a subscriber token create something.
        """
        url = self.keystone_url
        domain = self._admin.get(url + '/domains', params={
            'name': keystone.SUBSCRIBER_DOMAIN}).json()['domains'][0]
        project = self._admin.get(url + '/projects', params={
            'name': keystone.SUBSCRIBER_PROJECT,
            'domain_id': domain['id']}).json()['projects'][0]['id']
        path = '/os-quota-sets/%s' % project
        current = self._nova('GET', path)['quota_set']
        self._nova('PUT', path, {'quota_set': subscriber_rights.zero_quotas(
            'compute', current)})
        path = '%s/v2.0/quotas/%s' % (self.urls['network'], project)
        current = self._admin.get(path).json()['quota']
        self._admin.put(path, json={'quota': subscriber_rights.zero_quotas(
            'network', current)})
        self.subscriber_project_id = project

    def _nova(self, method, path, body=None, ok=(200, 201, 202, 204)):
        response = self._admin.request(
            self.nova_url + path, method, json=body, raise_exc=False,
            headers={'OpenStack-API-Version': 'compute %s'
                     % COMPUTE_MICROVERSION})
        if response.status_code not in ok:
            raise CloudError('Nova %s %s: %d %s' % (
                method, path, response.status_code, response.text[:500]))
        return response.json() if response.content else None

    def _wait_for_compute(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                process.check()
            services = self._nova('GET', '/os-services?binary=nova-compute')
            if any(s['state'] == 'up' for s in services['services']):
                # The compute node record follows the service record.
                self._manage('nova-manage cell_v2 discover_hosts', [
                    procs.bin_path('nova-manage'), '--config-file',
                    self._path('nova', 'nova.conf'), 'cell_v2',
                    'discover_hosts', '--verbose'])
                if self._nova('GET', '/os-hypervisors')['hypervisors']:
                    return
            time.sleep(1)
        raise CloudError('nova-compute did not come up in %d s; see %s'
                         % (timeout, os.path.join(self.logdir,
                                                  'nova-compute.log')))

    def deployment_facts(self):
        """What :mod:`vdesk_openstack.deploy` derives every file from."""
        return deploy.Deployment(
            keystone_url=self.keystone_url,
            vdesk_config_file=self._path('vdesk', 'vdesk.conf'),
            hss_driver=self.hss_driver,
            hss_gsup_servers=self.hlr.gsup_server if self.hlr else None,
            hss_connection=self._db('hss'),
            hss_key_file=os.path.join(self.workdir, 'hss', 'hss.key'),
            database_connection=self._db('vdesk'),
            transport_url=self.transport_url,
            coordination_url='file://%s' % self._path('vdesk', 'locks'),
            service_user='vdesk',
            service_password=self.passwords['vdesk'],
            radius_server=('127.0.0.1:%d' % self.radius.acct_port
                           if self.radius else None),
            radius_secret=RADIUS_SECRET,
            radius_nas_identifier='vdesk-sandbox',
            radius_spool_dir=self._path('ceilometer', 'spool', ''),
            charging=self.charging,
            diameter_server=('127.0.0.1:%d' % self.cdf.port
                             if self.cdf else None),
            diameter_origin_host=CEILOMETER_DIAMETER_IDENTITY,
            diameter_origin_realm=DIAMETER_REALM,
            diameter_destination_realm=DIAMETER_REALM,
            diameter_spool_dir=self._path('ceilometer', 'diameter-spool',
                                          ''),
            kerbside_url=self.kerbside.api_url if self.kerbside else None,
            kerbside_auth_secret=(self.kerbside.auth_secret
                                  if self.kerbside else None),
            console_token_ttl=self.console_token_ttl)

    def _install_spice_certificates(self):
        """The hypervisor's SPICE certificate, from Kerbside's CA.

        Kerbside's proxy reaches the desktops' SPICE servers over TLS and
        checks their certificate against its CA.
        """
        if self.kerbside is not None:
            self.hypervisor.install_spice_certificates(
                self.kerbside.workdir)

    def _start_charging(self):
        if self.charging == 'diameter':
            from vdesk_openstack.sandbox import cdf
            self.cdf = cdf.ChargingDataFunction(
                identity='cdf.' + DIAMETER_REALM, realm=DIAMETER_REALM,
                clients=(CEILOMETER_DIAMETER_IDENTITY,),
                workdir=self._path('cdf', ''))
            self.cdf.setUp()
        else:
            from vdesk_openstack.sandbox import freeradius
            self.radius = freeradius.FreeRadius(secret=RADIUS_SECRET)
            self.radius.setUp()
        facts = self.deployment_facts()
        w = self._path('ceilometer', '')
        lines = ['[DEFAULT]', 'use_stderr = false',
                 'transport_url = %s' % self.transport_url,
                 'event_pipeline_cfg_file = %sevent_pipeline.yaml' % w,
                 'pipeline_cfg_file = %spipeline.yaml' % w,
                 '[event]', 'definitions_cfg_file = %sevent_definitions.yaml'
                 % w, '[notification]', 'workers = 1', 'pipelines = event']
        settings = deploy.ceilometer_settings(facts)
        section = None
        for s in settings:
            if s.section != section:
                lines.append('[%s]' % s.section)
                section = s.section
            lines.append('%s = %s' % (s.option, s.value))
        self._write('\n'.join(lines) + '\n', 'ceilometer', 'ceilometer.conf')
        # The publisher URLs carry the RADIUS secret.
        private.write(w + 'event_pipeline.yaml',
                      deploy.dump_yaml(deploy.event_pipeline(facts)))
        private.write(w + 'pipeline.yaml',
                      deploy.dump_yaml({'sources': [], 'sinks': []}))
        private.write(w + 'event_definitions.yaml',
                      deploy.dump_yaml(deploy.event_definitions()))
        self._spawn('ceilometer-agent-notification',
                    [procs.bin_path('ceilometer-agent-notification'),
                     '--config-file', w + 'ceilometer.conf'])

    def _start_desktop_service(self):
        facts = self.deployment_facts()
        lines, section = [], None
        for s in deploy.vdesk_settings(facts):
            if s.section != section:
                lines.append('[%s]' % s.section)
                section = s.section
            lines.append('%s = %s' % (s.option, s.value))
        port = net.free_port()
        self.desktop_url = 'http://127.0.0.1:%d' % port
        lines += textwrap.dedent('''\
            [desktops]
            default_image = {image}
            network = none
            idle_timeout = 0
            spice_direct_to_hypervisor = {direct}
            [charging]
            interim_interval = {interim}
            ''').format(image=self.image_id,
                        interim=self.interim_interval,
                        # Only without Kerbside (kerbside_url comes from
                        # the deployment facts): loopback, a lab.
                        direct='false' if self.kerbside else 'true'
                        ).splitlines()
        lines += textwrap.dedent(self._authtoken('vdesk')).splitlines()
        conf_file = self._write('\n'.join(lines) + '\n', 'vdesk',
                                'vdesk.conf')
        self._manage('vdesk-manage db sync', [
            procs.bin_path('vdesk-manage'), '--config-file', conf_file,
            'db', 'sync', '--schema', 'desktops'])
        ini = self._uwsgi_ini(conf_file, port)
        self._spawn('vdesk-api', [procs.bin_path('uwsgi'), '--ini', ini],
                    port=port)
        self._spawn('vdesk-engine', [procs.bin_path('vdesk-engine'),
                                     '--config-file', conf_file])
        self._register('desktop', 'vdesk', self.desktop_url)

    def _uwsgi_ini(self, conf_file, port):
        """etc/vdesk/vdesk-api-uwsgi.ini, on loopback and our files."""
        with open(os.path.join(REPO_DIR, 'etc', 'vdesk',
                               'vdesk-api-uwsgi.ini')) as f:
            source = f.read().splitlines()
        keep = []
        for line in source:
            key = line.split('=', 1)[0].strip()
            if key in ('http-socket', 'processes', 'env', 'plugins'):
                continue
            keep.append(line)
        keep += ['http-socket = 127.0.0.1:%d' % port, 'processes = 2',
                 # This interpreter's environment (a virtualenv).
                 'home = %s' % sys.prefix,
                 'env = VDESK_CONFIG_FILE=%s' % conf_file,
                 'env = VDESK_API_PASTE=%s' % os.path.join(
                     REPO_DIR, 'etc', 'vdesk', 'api-paste.ini'),
                 'logto = %s' % os.path.join(self.logdir,
                                             'vdesk-api-requests.log')]
        return private.write(self._path('vdesk', 'vdesk-api-uwsgi.ini'),
                             '\n'.join(keep) + '\n')

    # -- use ------------------------------------------------------------------
    def server(self, server_id):
        return self._nova('GET', '/servers/%s' % server_id)['server']

    def host_of(self, server_id):
        return self.server(server_id).get('OS-EXT-SRV-ATTR:host')

    def console_log(self, server_id):
        response = self._nova('POST', '/servers/%s/action' % server_id,
                              {'os-getConsoleOutput': {}})
        return response.get('output') or ''

    real_guests = True

    @property
    def accounting_source(self):
        return 'diameter-cdf' if self.charging == 'diameter' else \
            'freeradius-detail'

    def boot_count(self, server_id, after=0):
        """N of the last ``VDESK-DESKTOP boot=<N>`` line if above ``after``.

        None while the guest has not printed a newer line (a restored
        desktop's console log starts anew, but a caller must not take a
        line of the previous boot for the current one).
        """
        found = image_mod.BOOT_LINE_RE.findall(self.console_log(server_id))
        count = int(found[-1]) if found else None
        return count if count is not None and count > after else None

    def wait_accounting(self, timeout=60):
        """Wait until the engine's outbox is empty (records on the bus)."""
        from vdesk_openstack.desktops.db import api as db_api
        store = db_api.DesktopStore(vdesk_conf.make_vdesk_conf(
            [self._path('vdesk', 'vdesk.conf')]))
        try:
            deadline = time.monotonic() + timeout
            while store.outbox_size() and time.monotonic() < deadline:
                time.sleep(0.2)
            return not store.outbox_size()
        finally:
            store.engine.dispose()

    def check(self):
        """A sentence on what has died, or None while all is well."""
        for process in self.processes:
            if not process.alive():
                return '%s exited; see %s' % (process.name, process.log_path)
        return None

    def domain_xml(self, server_id):
        name = self.server(server_id).get('OS-EXT-SRV-ATTR:instance_name')
        return self.hypervisor.virsh('dumpxml', name)

    def accounting(self, subscriber):
        """The record types the charging server stored for ``subscriber``.

        RADIUS Acct-Status-Type names; Diameter's Accounting-Record-Type
        is given the same names (START -> Start, INTERIM -> Interim-Update,
        STOP -> Stop).
        """
        if self.cdf is not None:
            return [DIAMETER_RECORD_TYPES.get(
                int(r.get('Accounting-Record-Type') or 0), 'Unknown')
                for r in self.cdf.records()
                if r.get('User-Name') == subscriber]
        return [r.get('Acct-Status-Type') for r in self.radius.records()
                if r.get('User-Name') == subscriber]

    def serve_info(self):
        """What ``vdesk-sandbox --serve`` prints first."""
        return {'cloud': 'libvirt', 'keystone_url': self.keystone_url,
                'desktop_url': self.desktop_url, 'nova_url': self.nova_url,
                'kerbside_url': (self.kerbside.api_url
                                 if self.kerbside else None),
                'admin': {'username': 'admin',
                          'password': keystone.ADMIN_PASSWORD,
                          'project_name': 'admin',
                          'user_domain_name': 'Default',
                          'project_domain_name': 'Default'},
                'subscribers': [{'imsi': s.imsi, 'k': s.k, 'opc': s.opc,
                                 'plan': s.plan} for s in self.subscribers]}

    # -- stop -----------------------------------------------------------------
    def stop(self):
        # The engine and the API first (no new work), Nova's services, then
        # the domains they leave, then everything else.
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception:
                LOG.exception('Could not stop %s', process.name)
        self.processes = []
        if self.hypervisor is not None:
            self._destroy_domains()
            self.hypervisor.stop()
            self.hypervisor = None
        if self.radius is not None:
            self.radius.cleanUp()
            self.radius = None
        if self.cdf is not None:
            self.cdf.cleanUp()
            self.cdf = None
        if self.keystone is not None:
            self.keystone.stop()
            self.keystone = None
        if self.hss is not None:
            self.hss.engine.dispose()
            self.hss = None
        if self.hlr is not None:
            self.hlr.stop()
            self.hlr = None
        self._drop_databases()
        if self.vhost:
            with contextlib.suppress(procs.ProcessError, OSError):
                self._manage('rabbitmqctl delete_vhost', [
                    shutil.which('rabbitmqctl'), 'delete_vhost', self.vhost])
            self.vhost = None
        if not os.environ.get('VDESK_SANDBOX_KEEP'):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _destroy_domains(self):
        """Remove the libvirt domains of this cloud's instances."""
        instances = os.path.join(self.workdir, 'nova', 'instances')
        try:
            names = self.hypervisor.virsh('list', '--all', '--name').split()
        except hypervisor_mod.HypervisorError:
            return
        for name in names:
            try:
                xml = self.hypervisor.virsh('dumpxml', name)
            except hypervisor_mod.HypervisorError:
                continue
            if instances not in xml:
                continue  # not ours
            for command in (('destroy', name),
                            ('undefine', name, '--nvram')):
                with contextlib.suppress(hypervisor_mod.HypervisorError):
                    self.hypervisor.virsh(*command)

    def _drop_databases(self):
        if not self._databases:
            return
        import sqlalchemy
        engine = sqlalchemy.create_engine(self.database_url + '/')
        try:
            with engine.connect() as c:
                for db in self._databases:
                    c.execute(sqlalchemy.text(
                        'DROP DATABASE IF EXISTS `%s`' % db))
        except sqlalchemy.exc.SQLAlchemyError:
            LOG.exception('Could not drop the sandbox databases %s',
                          ', '.join(self._databases))
        finally:
            engine.dispose()
        self._databases = []
