"""A real Keystone with the ``aka`` method, deployed on loopback.

:class:`KeystoneDeployment` does what an operator does: writes
keystone.conf, runs ``keystone-manage db_sync / fernet_setup /
credential_setup / bootstrap`` on sqlite, then serves Keystone's WSGI
application with gunicorn (several worker processes) on free loopback
ports. Several servers may share one deployment (database and keys), like
Keystone nodes behind a load balancer.
"""

import os
import shutil
import signal
import subprocess
import sys
import textwrap

from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session

from vdesk_openstack import deploy
from vdesk_openstack.sandbox import net
from vdesk_openstack.sandbox import private
from vdesk_openstack import subscriber_rights

ADMIN_PASSWORD = 'sandbox-admin'  # nosec: loopback sandbox only

SUBSCRIBER_DOMAIN = 'vdesk'
SUBSCRIBER_PROJECT = 'subscribers'
SUBSCRIBER_ROLE = 'vdesk_subscriber'


def _bin(name):
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else name


class KeystoneServer(object):
    """One gunicorn serving Keystone; stop() it when done."""

    def __init__(self, process, port, log_path):
        self.process = process
        self.port = port
        self.log_path = log_path
        self.url = 'http://127.0.0.1:%d/v3' % port

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class KeystoneDeployment(object):
    """keystone.conf, database and keys in ``workdir``."""

    def __init__(self, workdir, vdesk_config_file, challenge_ttl=60,
                 notification_url=None, aka_options=None,
                 database_connection=None):
        self.workdir = workdir
        self.database_connection = (database_connection or
                                    'sqlite:///%s/keystone.sqlite' % workdir)
        self.vdesk_config_file = vdesk_config_file
        self.config_file = os.path.join(workdir, 'keystone.conf')
        # Keystone's policy: SIM logins mint no credential.
        self.policy_file = os.path.join(workdir, 'policy.yaml')
        self.challenge_ttl = challenge_ttl
        # More [vdesk_aka] options (e.g. the challenge rate bounds).
        self.aka_options = dict(aka_options or {})
        # oslo.messaging transport for Keystone's notifications (and the
        # aka method's login announcements); None: no notifications.
        self.notification_url = notification_url
        self.servers = []

    def _manage(self, *args):
        cmd = [_bin('keystone-manage'), '--config-file', self.config_file]
        cmd.extend(args)
        result = subprocess.run(cmd, capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            raise RuntimeError('keystone-manage %s failed: %s'
                               % (' '.join(args), result.stderr[-2000:]))

    def write_config(self, path=None, **aka_overrides):
        """Write keystone.conf (or a variant at ``path``, same database)."""
        w = private.make_dir(self.workdir)
        extra = dict(self.aka_options, **aka_overrides)
        aka = {'ttl': extra.pop('challenge_ttl', self.challenge_ttl)}
        notifications = ''
        if self.notification_url:
            notifications = ('[oslo_messaging_notifications]\n'
                             'driver = messagingv2\n'
                             'transport_url = %s\n' % self.notification_url)
        with os.fdopen(private.open_fd(path or self.config_file), 'w') as f:
            f.write(textwrap.dedent('''\
                [DEFAULT]
                use_stderr = false
                log_file = {w}/keystone.log
                [database]
                connection = {db}
                [fernet_tokens]
                key_repository = {w}/fernet-keys
                [fernet_receipts]
                key_repository = {w}/fernet-receipts
                [credential]
                key_repository = {w}/credential-keys
                [cache]
                enabled = true
                backend = dogpile.cache.memory
                [catalog]
                # The in-memory cache is per worker process: a catalog
                # change made through one worker would stay invisible to
                # the others. (Production uses memcached, shared by all.)
                caching = false
                [auth]
                methods = password,token,application_credential,aka
                additional_primary_auth_methods = aka
                [oslo_policy]
                policy_file = {policy}
                [vdesk_aka]
                vdesk_config_file = {vdesk}
                subscriber_domain = {domain}
                subscriber_project = {project}
                subscriber_role = {role}
                challenge_ttl = {ttl}
                ''').format(w=w, vdesk=self.vdesk_config_file,
                            db=self.database_connection,
                            policy=self.policy_file,
                            domain=SUBSCRIBER_DOMAIN,
                            project=SUBSCRIBER_PROJECT,
                            role=SUBSCRIBER_ROLE,
                            **aka))
            for name, value in sorted(extra.items()):
                f.write('%s = %s\n' % (name, value))
            f.write(notifications)

    def setup(self, public_url='http://127.0.0.1/v3'):
        """Create the database, keys, policy and the bootstrap admin."""
        self.write_config()
        self.write_policy()
        user = ['--keystone-user', str(os.getuid()),
                '--keystone-group', str(os.getgid())]
        self._manage('db_sync')
        self._manage('fernet_setup', *user)
        self._manage('credential_setup', *user)
        receipts = os.path.join(self.workdir, 'fernet-receipts')
        shutil.rmtree(receipts, ignore_errors=True)
        shutil.copytree(os.path.join(self.workdir, 'fernet-keys'), receipts)
        self._manage('bootstrap', '--bootstrap-password', ADMIN_PASSWORD,
                     '--bootstrap-public-url', public_url,
                     '--bootstrap-region-id', 'RegionOne')

    def write_policy(self):
        """Keystone's policy.yaml, as ``--target keystone-policy`` renders."""
        private.write(self.policy_file, deploy.dump_yaml(
            subscriber_rights.keystone_policy(SUBSCRIBER_ROLE)))

    def start(self, workers=2, threads=4, port=None, **aka_overrides):
        """Serve Keystone on a free port.

        ``aka_overrides`` ([vdesk_aka] options, e.g. challenge_ttl) give
        this server its own values while it shares the database and keys.
        """
        port = port or net.free_port()
        log_path = os.path.join(self.workdir, 'gunicorn-%d.log' % port)
        config_file = self.config_file
        if aka_overrides:
            config_file = os.path.join(self.workdir,
                                       'keystone-%d.conf' % port)
            self.write_config(config_file, **aka_overrides)
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=config_file)
        with open(log_path, 'ab') as log:
            process = subprocess.Popen(
                [_bin('gunicorn'), '--bind', '127.0.0.1:%d' % port,
                 '--workers', str(workers), '--threads', str(threads),
                 '--worker-class', 'gthread', '--timeout', '120',
                 'vdesk_openstack.sandbox.keystone_wsgi:application'],
                stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True)
        server = KeystoneServer(process, port, log_path)
        self.servers.append(server)
        try:
            net.wait_for_port(port, process=process)
        except RuntimeError as e:
            server.stop()
            raise RuntimeError('%s (see %s)' % (e, log_path)) from None
        return server

    def stop(self):
        for server in self.servers:
            server.stop()
        self.servers = []

    def admin_session(self, url):
        auth = v3.Password(auth_url=url, username='admin',
                           password=ADMIN_PASSWORD, user_domain_id='default',
                           project_name='admin', project_domain_id='default')
        return ks_session.Session(auth=auth)

    def create_subscriber_project(self, url):
        """Create the subscriber domain, project and role.

        The deployment's job; the aka method creates only the users and
        their role assignment.
        """
        sess = self.admin_session(url)
        sess.post(url + '/roles', json={'role': {
            'name': SUBSCRIBER_ROLE,
            'description': 'vdesk subscribers: the desktop API, nothing '
                           'else'}})
        domain = sess.post(url + '/domains', json={'domain': {
            'name': SUBSCRIBER_DOMAIN,
            'description': 'vdesk subscribers (users named by IMSI)'}}
        ).json()['domain']
        sess.post(url + '/projects', json={'project': {
            'name': SUBSCRIBER_PROJECT, 'domain_id': domain['id'],
            'description': 'Project subscriber tokens are scoped to'}})
        return domain['id']
