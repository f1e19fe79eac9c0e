"""The DevStack plugin, run phase by phase on DevStack's own functions.

``devstack/plugin.sh`` is sourced the way ``stack.sh`` sources it, after
DevStack's real ``functions``, ``lib/database``, ``lib/apache``,
``lib/rpc_backend`` and ``lib/keystone``. Only what would change the host
is replaced: systemd (``restart_service``, ``run_process``,
``stop_process``, ``systemd-tmpfiles``), the package install
(``setup_develop``) and ``sudo`` (absent here; the test runs as the user
DevStack would). Keystone is a real one (the sandbox's), the databases are
throwaway MariaDB databases, and the files the plugin writes are checked
with oslo.config and YAML parsers.

DevStack's functions come from ``devstack_snapshot/`` beside this module
(a copy of the files the plugin needs), or from the tree that
``$VDESK_DEVSTACK_DIR`` names.
"""

import os
import shutil
import subprocess
import textwrap
import uuid

import sys

import fixtures
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
from oslo_config import cfg
import pymysql
from testtools import content
import yaml

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.conf import aka as aka_conf
from vdesk_openstack.conf import scheduler as scheduler_conf
from vdesk_openstack import deploy
from vdesk_openstack.sandbox import aio
from vdesk_openstack.sandbox import kerbside
from vdesk_openstack.sandbox import keystone
from vdesk_openstack import subscriber_rights
from vdesk_openstack.tests import services

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
DB_USER = DB_PASSWORD = 'openstack_citest'  # nosec: tools/test-setup.sh
TMPFILES = '/etc/tmpfiles.d/uwsgi.conf'
DEMO_K = '465b5ce8b199b49faa5f0a2ee238a6bc'  # devstack/settings' default
BIN = os.path.dirname(sys.executable)
WSGI_MODULE = 'vdesk_openstack.wsgi.api:application'
SNAPSHOT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'devstack_snapshot')


def find_devstack():
    """$VDESK_DEVSTACK_DIR, or the snapshot kept beside this test."""
    return os.path.abspath(os.environ.get('VDESK_DEVSTACK_DIR') or SNAPSHOT)


HARNESS = textwrap.dedent('''\
    set -o errexit
    set -o pipefail
    TOP_DIR={devstack}
    source $TOP_DIR/functions
    source $TOP_DIR/lib/database
    source $TOP_DIR/lib/apache
    source $TOP_DIR/lib/rpc_backend
    source $TOP_DIR/lib/keystone

    # Stand-ins for what would change the host.
    function sudo {{ "$@"; }}
    function setup_develop {{ echo "setup_develop $*" >> {tmp}/calls; }}
    function restart_service {{ echo "restart_service $*" >> {tmp}/calls; }}
    function run_process {{ echo "run_process $1 $2" >> {tmp}/calls; }}
    function stop_process {{ echo "stop_process $1" >> {tmp}/calls; }}

    # lib/keystone derives Keystone's URL from the host (Apache's
    # /identity); the Keystone of this test listens on a port of its own.
    KEYSTONE_SERVICE_URI={keystone_uri}
    initialize_database_backends
    define_database_baseurl
    # What stack.sh's create_keystone_accounts made before the plugins ran.
    get_or_create_project $SERVICE_PROJECT_NAME default > /dev/null
    get_or_create_role service > /dev/null
    source {repo}/devstack/settings
    for phase in {phases}; do
        source {repo}/devstack/plugin.sh ${{phase/:/ }}
    done
    ''')


class DevstackPluginTest(services.ServiceTestCase):

    services = ('mariadb',)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keystone = aio.AllInOne().start()
        cls.addClassCleanup(cls.keystone.stop)

    def setUp(self):
        super().setUp()
        self.devstack = find_devstack()
        self.assertTrue(os.path.exists(os.path.join(self.devstack,
                                                    'functions')),
                        'no DevStack tree at %s' % self.devstack)
        self.tmp = self.useFixture(fixtures.TempDir()).path
        tag = uuid.uuid4().hex[:8]
        self.hss_db, self.db = 'vdesk_hss_' + tag, 'vdesk_' + tag
        self.kerbside_db = 'kerbside_' + tag
        self.addCleanup(self.drop_databases)
        self.domain, self.project = 'subs-' + tag, 'desk-' + tag
        self.user = 'vdesk-' + tag
        self.service_password = 'svc-' + tag
        self.radius_secret = 'radius-' + tag
        if not os.path.exists(TMPFILES):
            self.addCleanup(lambda: os.path.exists(TMPFILES) and
                            os.remove(TMPFILES))
        self.admin = self.keystone.deployment.admin_session(self.keystone.url)
        self.seed_files()

    def drop_databases(self):
        conn = pymysql.connect(host='127.0.0.1', user=DB_USER,
                               password=DB_PASSWORD)
        try:
            with conn.cursor() as cur:
                for name in (self.hss_db, self.db, self.kerbside_db):
                    cur.execute('DROP DATABASE IF EXISTS `%s`' % name)
        finally:
            conn.close()

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def seed_files(self):
        """The files DevStack and Ceilometer's plugin wrote before us."""
        os.makedirs(self.path('keystone'))
        with open(self.path('keystone', 'keystone.conf'), 'w') as f:
            f.write('[auth]\nmethods = password,token,application_credential'
                    '\n')
        with open(self.path('nova.conf'), 'w') as f:
            f.write('[filter_scheduler]\nenabled_filters = ComputeFilter,'
                    'ImagePropertiesFilter\n[notifications]\n'
                    'notification_format = unversioned\n')
        ceilometer = self.path('ceilometer')
        os.makedirs(ceilometer)
        import ceilometer.pipeline
        data = os.path.join(os.path.dirname(ceilometer.pipeline.__file__),
                            'data')
        for name in ('event_pipeline.yaml', 'event_definitions.yaml'):
            shutil.copy(os.path.join(data, name), self.path('ceilometer',
                                                            name))
        with open(self.path('ceilometer', 'ceilometer.conf'), 'w') as f:
            f.write('[DEFAULT]\n')
        admin = {'auth_url': self.keystone.url, 'username': 'admin',
                 'password': keystone.ADMIN_PASSWORD,
                 'user_domain_id': 'default'}
        with open(self.path('clouds.yaml'), 'w') as f:
            yaml.safe_dump({'clouds': {
                'devstack-system-admin': {
                    'auth': dict(admin, system_scope='all'),
                    'region_name': 'RegionOne'},
                'devstack-admin': {
                    'auth': dict(admin, project_name='admin',
                                 project_domain_id='default'),
                    'region_name': 'RegionOne'}}}, f)
        stubs = self.path('bin')
        os.makedirs(stubs)
        for name in ('systemd-tmpfiles', 'systemctl'):
            with open(os.path.join(stubs, name), 'w') as f:
                f.write('#!/bin/sh\necho "%s $*" >> %s\n'
                        % (name, self.path('calls')))
            os.chmod(os.path.join(stubs, name), 0o755)

    def run_phases(self, *phases, services=''):
        venv = os.path.dirname(BIN)
        env = dict(
            os.environ,
            PATH='%s:%s/bin:%s' % (self.path('bin'), venv,
                                   os.environ['PATH']),
            OS_CLIENT_CONFIG_FILE=self.path('clouds.yaml'),
            OS_CLOUD='devstack-admin',
            DEST=self.path('dest'), DATA_DIR=self.path('data'),
            STACK_USER=str(os.getuid()), HOSTNAME='devstack-test',
            GLOBAL_VENV='True', DEVSTACK_VENV=venv, VDESK_DIR=REPO,
            ENABLED_SERVICES='mysql,rabbit,keystone,n-sch,'
                             'ceilometer-anotification,vdesk-api,'
                             'vdesk-engine' + services,
            MYSQL_HOST='127.0.0.1', MYSQL_USER=DB_USER,
            MYSQL_PASSWORD=DB_PASSWORD, DATABASE_PASSWORD=DB_PASSWORD,
            RABBIT_HOST='127.0.0.1', RABBIT_USERID='guest',
            RABBIT_PASSWORD='guest',
            SERVICE_HOST='127.0.0.1', SERVICE_LISTEN_ADDRESS='127.0.0.1',
            SERVICE_PROTOCOL='http', SERVICE_TIMEOUT='30',
            REGION_NAME='RegionOne', SERVICE_PASSWORD=self.service_password,
            SERVICE_PROJECT_NAME='service', SERVICE_DOMAIN_NAME='Default',
            WSGI_MODE='uwsgi', API_WORKERS='1', WORKER_TIMEOUT='30',
            MEMCACHE_SERVERS='127.0.0.1:11211', SSL_BUNDLE_FILE='',
            KEYSTONE_CONF_DIR=self.path('keystone'),
            NOVA_CONF=self.path('nova.conf'),
            CEILOMETER_CONF_DIR=self.path('ceilometer'),
            VDESK_CONF_DIR=self.path('etc-vdesk'),
            VDESK_HSS_DB_NAME=self.hss_db, VDESK_DB_NAME=self.db,
            VDESK_SERVICE_USER=self.user,
            VDESK_SUBSCRIBER_DOMAIN=self.domain,
            VDESK_SUBSCRIBER_PROJECT=self.project,
            VDESK_CHALLENGE_TTL='45',
            VDESK_RADIUS_SECRET=self.radius_secret,
            VDESK_RADIUS_SERVER='127.0.0.1:18130',
            VDESK_DEMO_SUBSCRIBER='True',
            VDESK_KERBSIDE_DIR=self.path('kerbside'),
            VDESK_KERBSIDE_DB_NAME=self.kerbside_db,
            VDESK_KERBSIDE_VENV=kerbside.venv(),
            VDESK_SPICE_TLS_DIR=self.path('spice-tls'),
            VDESK_QEMU_CONF=self.path('qemu.conf'))
        script = HARNESS.format(devstack=self.devstack, tmp=self.tmp,
                                keystone_uri=self.keystone.url[:-len('/v3')],
                                repo=REPO, phases=' '.join(phases))
        result = subprocess.run(['bash', '-c', script], env=env,
                                capture_output=True, text=True,
                                timeout=300, check=False)
        self.addDetail('stack-log', content.text_content(
            result.stdout + result.stderr))
        self.assertEqual(0, result.returncode, result.stderr[-4000:])
        # DevStack runs plugins under xtrace: a secret on a traced line
        # lands in stack.sh's log, which is often shared.
        log = result.stdout + result.stderr
        for name, secret in (('SERVICE_PASSWORD', self.service_password),
                             ('VDESK_RADIUS_SECRET', self.radius_secret),
                             ('DATABASE_PASSWORD', ':%s@' % DB_PASSWORD),
                             ('the demo SIM\'s K', DEMO_K)):
            # assertNotIn would print the log, secret and all.
            self.assertEqual(-1, log.find(secret),
                             '%s is in the stack log' % name)
        return result

    def calls(self):
        with open(self.path('calls')) as f:
            return f.read().splitlines()

    def conf_of(self, path, register=None):
        conf = cfg.ConfigOpts()
        if register:
            register(conf)
        conf([], default_config_files=[path])
        return conf

    def test_stack_unstack_clean(self):
        self.run_phases('stack:install', 'stack:post-config', 'stack:extra')
        self.check_vdesk_conf()
        self.check_keystone_conf()
        self.check_nova_conf()
        self.check_ceilometer()
        self.check_keystone_registrations()
        calls = self.calls()
        self.assertIn('setup_develop %s' % REPO, calls)
        self.assertIn('restart_service devstack@keystone', calls)
        uwsgi = self.path('etc-vdesk', 'vdesk-api-uwsgi.ini')
        self.assertIn('run_process vdesk-engine %s/vdesk-engine '
                      '--config-file %s' % (
                          BIN, self.path('etc-vdesk', 'vdesk.conf')), calls)
        self.assertTrue([c for c in calls if c.startswith(
            'run_process vdesk-api ') and c.endswith('--ini ' + uwsgi)],
            calls)
        ini = deploy.read_ini(uwsgi)['uwsgi']
        self.assertEqual([WSGI_MODULE], ini['module'])
        self.assertEqual(['127.0.0.1:8790'], ini['http'])
        self.assertEqual(['true'], ini['lazy-apps'])
        self.assertEqual(['VDESK_CONFIG_FILE=%s' % self.path(
            'etc-vdesk', 'vdesk.conf'), 'VDESK_API_PASTE=%s' % self.path(
            'etc-vdesk', 'api-paste.ini')], ini['env'])

        self.run_phases('unstack', 'clean')
        self.assertIn('stop_process vdesk-api', self.calls())
        self.assertIn('stop_process vdesk-engine', self.calls())
        self.assertFalse(os.path.exists(uwsgi))
        self.assertFalse(os.path.exists(self.path('etc-vdesk')))

    def test_kerbside(self):
        """kerbside-api and kerbside-proxy: Kerbside deployed and wired."""
        reason = kerbside.missing()
        if reason:
            if services.in_ci():
                raise AssertionError('CI=true and %s' % reason)
            self.skipTest(reason)
        self.run_phases('stack:install', 'stack:post-config', 'stack:extra',
                        services=',kerbside-api,kerbside-proxy')
        base = 'http://127.0.0.1:13002'
        vdesk = deploy.read_ini(self.path('etc-vdesk', 'vdesk.conf'))
        self.assertEqual([base], vdesk['desktops']['kerbside_url'])
        nova = deploy.read_ini(self.path('nova.conf'))
        self.assertEqual([base + '/nova'],
                         nova['spice']['spice_direct_proxy_base_url'])
        self.assertEqual(['true'], nova['spice']['enabled'])
        policy_file = self.path('policy.yaml')
        self.assertEqual([policy_file], nova['oslo_policy']['policy_file'])
        self.assertEqual(
            {deploy.NOVA_CONSOLE_AUTH_RULE:
             'rule:context_is_admin or role:console-auth'},
            deploy.read_yaml(policy_file))
        env = self.check_kerbside_files()
        self.check_kerbside_user()
        self.check_consoles_revocable_and_tls_only(env)
        # kerbside db upgrade made Kerbside's schema in its database.
        conn = pymysql.connect(host='127.0.0.1', user=DB_USER,
                               password=DB_PASSWORD, database=self.kerbside_db)
        try:
            with conn.cursor() as cur:
                cur.execute('SHOW TABLES')
                tables = {row[0] for row in cur.fetchall()}
        finally:
            conn.close()
        self.assertIn('alembic_version', tables)
        self.assertGreater(len(tables), 1, tables)
        venv = kerbside.venv()
        calls = self.calls()
        prefix = "bash -c 'set -a && . %s && exec %s/bin/" % (
            self.path('kerbside', 'kerbside.env'), venv)
        self.assertIn('run_process kerbside-proxy %skerbside daemon run\''
                      % prefix, calls)
        api = [c for c in calls if c.startswith('run_process kerbside-api ')]
        self.assertEqual(1, len(api), calls)
        self.assertIn(prefix + 'gunicorn --bind 127.0.0.1:13002 ', api[0])
        self.assertTrue(api[0].endswith(" kerbside.api:app'"), api[0])
        self.assertEqual(env['KERBSIDE_PROXY_BIN'],
                         os.path.join(venv, 'bin', 'kerbside-proxy'))

        self.run_phases('unstack', 'clean',
                        services=',kerbside-api,kerbside-proxy')
        self.assertIn('stop_process kerbside-api', self.calls())
        self.assertIn('stop_process kerbside-proxy', self.calls())
        self.assertFalse(os.path.exists(self.path('kerbside')))

    def check_kerbside_files(self):
        from cryptography import x509

        directory = self.path('kerbside')
        env_file = os.path.join(directory, 'kerbside.env')
        self.assertEqual(0o600, os.stat(env_file).st_mode & 0o777)
        env = deploy.read_env(env_file)
        self.assertEqual('mysql://%s:%s@127.0.0.1/%s' % (
            DB_USER, DB_PASSWORD, self.kerbside_db), env['KERBSIDE_SQL_URL'])
        self.assertEqual('127.0.0.1', env['KERBSIDE_PUBLIC_FQDN'])
        self.assertEqual('15900', env['KERBSIDE_PUBLIC_SECURE_PORT'])
        self.assertEqual('devstack-test', env['KERBSIDE_NODE_NAME'])
        # The service host's address, not Kerbside's default of every one.
        self.assertEqual('127.0.0.1', env['KERBSIDE_VDI_ADDRESS'])
        self.assertEqual('127.0.0.1',
                         env['KERBSIDE_PROMETHEUS_METRICS_ADDRESS'])
        self.assertEqual(self.keystone.url, env['KERBSIDE_KEYSTONE_AUTH_URL'])
        self.assertEqual(64, len(env['KERBSIDE_AUTH_SECRET_SEED']))
        # The proxy's certificate: signed by the CA the .vv hands out, for
        # the public host and the node's name, with the subject it names.
        with open(env['KERBSIDE_CACERT_PATH'], 'rb') as f:
            ca = x509.load_pem_x509_certificate(f.read())
        with open(env['KERBSIDE_PROXY_HOST_CERT_PATH'], 'rb') as f:
            cert = x509.load_pem_x509_certificate(f.read())
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
        self.assertEqual(['devstack-test'], names.get_values_for_type(
            x509.DNSName))
        self.assertEqual(['127.0.0.1'], [str(a) for a in
                                         names.get_values_for_type(
                                             x509.IPAddress)])
        self.assertEqual(env['KERBSIDE_PROXY_HOST_SUBJECT'],
                         ','.join(reversed(cert.subject.rfc4514_string()
                                           .split(','))))
        self.assertEqual(0o600, os.stat(
            env['KERBSIDE_PROXY_HOST_CERT_KEY_PATH']).st_mode & 0o777)
        with open(env['KERBSIDE_SOURCES_PATH']) as f:
            text = f.read()
        self.assertEqual(0o600, os.stat(env['KERBSIDE_SOURCES_PATH']).st_mode
                         & 0o777)
        [source] = yaml.safe_load(text)
        self.assertEqual(('openstack', self.keystone.url, 'kerbside',
                          self.service_password, 'service'),
                         (source['type'], source['url'], source['username'],
                          source['password'], source['project_name']))
        # The CA its proxy checks the computes' SPICE servers against.
        with open(env['KERBSIDE_CACERT_PATH']) as f:
            self.assertEqual(f.read(), source['ca_cert'])
        return env

    def check_consoles_revocable_and_tls_only(self, env):
        """Release revokes consoles; the compute's SPICE is TLS-only."""
        from cryptography import x509

        vdesk = deploy.read_ini(self.path('etc-vdesk', 'vdesk.conf'))
        self.assertEqual([env['KERBSIDE_AUTH_SECRET_SEED']],
                         vdesk['desktops']['kerbside_auth_secret'])
        self.assertEqual('1', env['KERBSIDE_CONSOLE_TOKEN_DURATION'])
        nova = deploy.read_ini(self.path('nova.conf'))
        self.assertEqual(['true'], nova['spice']['require_secure'])
        self.assertEqual(['60'], nova['consoleauth']['token_ttl'])
        with open(self.path('qemu.conf')) as f:
            qemu = f.read()
        self.assertIn('spice_tls = 1\nspice_tls_x509_cert_dir = "%s"\n'
                      % self.path('spice-tls'), qemu)
        self.assertIn('restart_service libvirtd', self.calls())
        # QEMU's certificate: signed by the CA Kerbside's proxy checks.
        with open(env['KERBSIDE_CACERT_PATH'], 'rb') as f:
            ca = x509.load_pem_x509_certificate(f.read())
        with open(self.path('spice-tls', 'server-cert.pem'), 'rb') as f:
            x509.load_pem_x509_certificate(f.read()).verify_directly_issued_by(
                ca)
        self.assertEqual(0o600, os.stat(self.path(
            'spice-tls', 'server-key.pem')).st_mode & 0o777)

    def check_kerbside_user(self):
        """Kerbside's user logs in and holds console-auth alone."""
        auth = v3.Password(auth_url=self.keystone.url, username='kerbside',
                           password=self.service_password,
                           user_domain_id='default', project_name='service',
                           project_domain_id='default')
        session = ks_session.Session(auth=auth)
        access = auth.get_access(session)
        self.assertEqual(['console-auth'], access.role_names)

    def check_vdesk_conf(self):
        path = self.path('etc-vdesk', 'vdesk.conf')
        conf = vdesk_conf.make_vdesk_conf([path])
        url = 'mysql+pymysql://%s:%s@127.0.0.1/%%s?charset=utf8' % (
            DB_USER, DB_PASSWORD)
        self.assertEqual(url % self.hss_db, conf.hss.connection)
        self.assertEqual(url % self.db, conf.database.connection)
        self.assertEqual(self.domain, conf.vdesk_aka.subscriber_domain)
        self.assertEqual(self.project, conf.vdesk_aka.subscriber_project)
        self.assertEqual('file://%s/vdesk/locks' % self.path('data'),
                         conf.coordination.backend_url)
        raw = deploy.read_ini(path)
        self.assertEqual(['messagingv2'],
                         raw['oslo_messaging_notifications']['driver'])
        self.assertEqual(['rabbit://guest:guest@127.0.0.1:5672/'],
                         raw['oslo_messaging_notifications'][
                             'transport_url'])
        self.assertEqual([self.user], raw['nova']['username'])
        self.assertEqual([self.service_password], raw['nova']['password'])
        self.assertEqual([self.keystone.url], raw['nova']['auth_url'])
        authtoken = raw['keystone_authtoken']
        self.assertEqual([self.user], authtoken['username'])
        self.assertEqual(['password'], authtoken['auth_type'])
        self.assertEqual([self.keystone.url[:-3]],
                         authtoken['www_authenticate_uri'])
        self.assertTrue(os.path.exists(self.path('etc-vdesk',
                                                 'api-paste.ini')))
        self.assertEqual(0o600, os.stat(self.path(
            'etc-vdesk', 'hss.key')).st_mode & 0o777)
        # Both schemas were created, in their own databases.
        out = subprocess.run(
            [os.path.join(BIN, 'vdesk-manage'), '--config-file', path, 'db',
             'version'], capture_output=True, text=True, check=True)
        self.assertEqual({'revision': '0003', 'desktops_revision': '0004'},
                         yaml.safe_load(out.stdout))
        self.assertIn('"imsi": "001010000000001"', subprocess.run(
            [os.path.join(BIN, 'vdesk-manage'), '--config-file', path,
             'subscriber', 'list'], capture_output=True, text=True,
            check=True).stdout)

    def check_keystone_conf(self):
        path = self.path('keystone', 'keystone.conf')
        raw = deploy.read_ini(path)
        self.assertEqual(['password,token,application_credential,aka'],
                         raw['auth']['methods'])
        self.assertEqual(['aka'],
                         raw['auth']['additional_primary_auth_methods'])
        conf = self.conf_of(path, aka_conf.register_opts)
        self.assertEqual(self.domain, conf.vdesk_aka.subscriber_domain)
        self.assertEqual(self.project, conf.vdesk_aka.subscriber_project)
        self.assertEqual(45, conf.vdesk_aka.challenge_ttl)
        self.assertEqual(self.path('etc-vdesk', 'vdesk.conf'),
                         conf.vdesk_aka.vdesk_config_file)
        self.assertEqual('vdesk_subscriber', conf.vdesk_aka.subscriber_role)
        # Keystone's policy: the SIM token mints no credential.
        policy_file = self.path('keystone', 'policy.yaml')
        self.assertEqual([policy_file], raw['oslo_policy']['policy_file'])
        self.assertEqual(subscriber_rights.keystone_policy(
            'vdesk_subscriber'), deploy.read_yaml(policy_file))

    def check_nova_conf(self):
        path = self.path('nova.conf')
        scheduler = deploy.read_ini(path)['filter_scheduler']
        self.assertEqual(['nova.scheduler.filters.all_filters',
                          deploy.FILTER_CLASS],
                         scheduler['available_filters'])
        self.assertEqual(['ComputeFilter,ImagePropertiesFilter,'
                          'SubscriptionFilter'],
                         scheduler['enabled_filters'])
        self.assertEqual(['nova.scheduler.weights.all_weighers,'
                          + deploy.WEIGHER_CLASS],
                         scheduler['weight_classes'])
        self.assertEqual(['both'], deploy.read_ini(path)['notifications'][
            'notification_format'])
        conf = self.conf_of(path, scheduler_conf.register_opts)
        self.assertEqual(['gold', 'silver'],
                         conf.vdesk_scheduler.spread_tiers)

    def check_ceilometer(self):
        with open(self.path('ceilometer', 'event_pipeline.yaml')) as f:
            text = f.read()
        self.assertNotIn(self.radius_secret, text)
        pipeline = yaml.safe_load(text)
        sources = {s['name']: s for s in pipeline['sources']}
        sinks = {s['name']: s for s in pipeline['sinks']}
        self.assertIn('event_source', sources)  # Ceilometer's own
        self.assertEqual(['vdesk.session.*'],
                         sources['vdesk_session_source']['events'])
        self.assertEqual(
            ['radius://127.0.0.1:18130?nas_identifier=devstack-test'],
            sinks['vdesk_charging_sink']['publishers'])
        with open(self.path('ceilometer', 'event_definitions.yaml')) as f:
            definitions = yaml.safe_load(f)
        types = [d['event_type'] for d in definitions]
        self.assertIn('vdesk.session.*', types)
        self.assertIn('compute.instance.*', str(types))
        raw = deploy.read_ini(self.path('ceilometer', 'ceilometer.conf'))
        self.assertEqual([self.radius_secret], raw['vdesk_radius']['secret'])
        self.assertEqual(['False'],
                         raw['notification']['ack_on_event_error'])
        self.assertTrue(os.path.isdir(self.path('data', 'ceilometer',
                                                'vdesk-radius')))

    def check_keystone_registrations(self):
        url = self.keystone.url

        def get(path, **params):
            return self.admin.get(url + path, params=params).json()

        users = get('/users', name=self.user)['users']
        self.assertEqual(1, len(users))
        roles = {r['id']: r['name'] for r in get('/roles')['roles']}
        service_project = get('/projects', name='service')['projects'][0]
        assigned = {roles[a['role']['id']] for a in get(
            '/role_assignments', **{'user.id': users[0]['id'],
                                    'scope.project.id':
                                    service_project['id']})[
            'role_assignments']}
        self.assertEqual({'admin', 'service'}, assigned)
        services_ = get('/services', type='desktop')['services']
        self.assertEqual(['vdesk'], [s['name'] for s in services_])
        endpoints = get('/endpoints', service_id=services_[0]['id'])[
            'endpoints']
        self.assertEqual({('public', 'http://127.0.0.1:8790'),
                          ('internal', 'http://127.0.0.1:8790')},
                         {(e['interface'], e['url']) for e in endpoints})
        domains = get('/domains', name=self.domain)['domains']
        self.assertEqual(1, len(domains))
        self.assertEqual(1, len(get('/projects', name=self.project,
                                    domain_id=domains[0]['id'])[
            'projects']))
        self.assertIn('vdesk_subscriber', roles.values())
        # The service user's password works, as keystonemiddleware will
        # use it.
        auth = v3.Password(auth_url=url, username=self.user,
                           password=self.service_password,
                           user_domain_name='Default',
                           project_name='service',
                           project_domain_name='Default')
        self.assertTrue(ks_session.Session(auth=auth).get_token())
