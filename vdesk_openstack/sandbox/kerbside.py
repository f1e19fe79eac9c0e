"""Kerbside, the token-validating SPICE proxy, in the real-cloud sandbox.

Nova sets no SPICE password on a desktop's domain, so a subscriber's SPICE
client must reach the desktop through a proxy that checks who it is.
Kerbside is one: its API (``GET /nova-console.vv?token=...``) takes a Nova
spice-direct console token, checks it with Nova
(``GET /os-console-auth-tokens/{token}``, as a Keystone user of its own),
records the console and answers a ``.vv`` naming Kerbside's SPICE proxy,
with a password Kerbside made and the CA of the proxy's TLS certificate;
the proxy (``kerbside daemon run``, which runs the Rust ``kerbside-proxy``)
relays a SPICE connection to the hypervisor only for such a password.

Kerbside pins its dependencies exactly (SQLAlchemy 2.1 among them), so it
lives in a virtualenv of its own, made by ``tools/setup-kerbside.sh``
(``VDESK_KERBSIDE_VENV`` names another than ``/opt/vdesk/kerbside-venv``).
:func:`start` runs it for a :class:`~vdesk_openstack.sandbox.cloud.Cloud`:

* a Keystone user ``kerbside`` with only the ``console-auth`` role on the
  ``service`` project, which the sandbox's Nova policy lets read console
  tokens (:func:`console_auth_policy`);
* a MariaDB database ``<run id>_kerbside`` on the cloud's server, created
  and recorded among the cloud's databases (dropped with them), and its
  schema (``kerbside db upgrade``);
* a CA and the proxy's certificate, made at start;
* ``sources.yaml`` with one ``openstack`` source: the cloud's Keystone and
  that user, on the ``public`` interface (the sandbox's only one);
* Kerbside's API under gunicorn and its proxy daemon, each a child of the
  sandbox (process group, ``PR_SET_PDEATHSIG``) among the cloud's
  processes, so :meth:`Cloud.stop` stops them; everything on loopback, on
  free ports, configured through ``KERBSIDE_*`` environment variables.

Its settings, sources, certificates and Nova's policy rule come from
:mod:`vdesk_openstack.deploy`, as the DevStack plugin's do.
"""

import os
import secrets

from oslo_log import log as logging

from vdesk_openstack import deploy
from vdesk_openstack.sandbox import net
from vdesk_openstack.sandbox import procs

LOG = logging.getLogger(__name__)

VENV_ENV = 'VDESK_KERBSIDE_VENV'
DEFAULT_VENV = '/opt/vdesk/kerbside-venv'
INSTALL_HINT = ('tools/setup-kerbside.sh installs it (tools/test-setup.sh '
                'runs it)')
USER = deploy.KERBSIDE_USER
ROLE = deploy.KERBSIDE_ROLE
# The proxy certificate's subject, which the .vv names (host-subject=):
# the client checks the proxy's certificate against it and the CA.
HOST_SUBJECT = deploy.kerbside_host_subject()
# Environment of the sandbox that must not reach Kerbside's interpreter.
FOREIGN_ENV = ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'PYTHONSTARTUP',
               'PYTHONUSERBASE')


class KerbsideError(RuntimeError):
    pass


def venv():
    """The virtualenv Kerbside is installed in."""
    return os.environ.get(VENV_ENV) or DEFAULT_VENV


def _bin(name):
    return os.path.join(venv(), 'bin', name)


def missing():
    """None when Kerbside can run here, else a sentence saying why not."""
    for name in ('kerbside', 'kerbside-proxy', 'gunicorn'):
        if not os.access(_bin(name), os.X_OK):
            return ('Kerbside is not installed: no %s; %s'
                    % (_bin(name), INSTALL_HINT))
    return None


def start(cloud):
    """Start Kerbside for ``cloud``, or return None if it is not installed.

    Call after Nova is up (Kerbside checks tokens with it) and before the
    desktop service (which is pointed at Kerbside's API).
    """
    reason = missing()
    if reason:
        LOG.warning('%s: spice-direct consoles of this sandbox go straight '
                    'to the hypervisor', reason)
        return None
    return Kerbside(cloud).start()


class Kerbside(object):
    """Kerbside's API and proxy for one sandbox cloud."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.workdir = cloud._path('kerbside', '')
        self.password = secrets.token_urlsafe(16)
        # Kerbside's AUTH_SECRET_SEED: the desktop service revokes
        # consoles with it.
        self.auth_secret = secrets.token_hex(32)
        self.database = '%s_kerbside' % cloud.run_id
        self.host_subject = HOST_SUBJECT
        # Where the subscriber's client connects: the proxy's ports.
        self.proxy_host = '127.0.0.1'
        self.proxy_port = net.free_port()
        self.proxy_tls_port = net.free_port()
        self.api_port = net.free_port()
        self.api_url = 'http://127.0.0.1:%d' % self.api_port
        self.deployment = deploy.Deployment(
            keystone_url=cloud.keystone_url,
            kerbside_dir=self.workdir.rstrip('/'), kerbside_venv=venv(),
            kerbside_database_connection='%s/%s' % (cloud.database_url,
                                                    self.database),
            kerbside_password=self.password,
            kerbside_public_host=self.proxy_host,
            kerbside_listen='127.0.0.1',
            kerbside_proxy_port=self.proxy_port,
            kerbside_proxy_tls_port=self.proxy_tls_port,
            kerbside_metrics_port=net.free_port(),
            kerbside_node_name='vdesk-sandbox',
            kerbside_auth_secret=self.auth_secret,
            console_token_ttl=cloud.console_token_ttl)
        self.ca_file = deploy.kerbside_path(self.deployment, 'ca')
        self.sources_file = deploy.kerbside_path(self.deployment, 'sources')
        self.processes = []

    # -- start ----------------------------------------------------------------
    def start(self):
        self._service_user()
        deploy.kerbside_certificates(self.workdir, [self.proxy_host,
                                                    'localhost'], days=30)
        deploy.write_file(self.sources_file, deploy.dump_yaml(
            deploy.kerbside_sources(self.deployment),
            quoted=True).encode(), 0o600)
        self._create_database()
        env = self._env()
        procs.run([_bin('kerbside'), 'db', 'upgrade'], 'kerbside db upgrade',
                  env=env, timeout=300,
                  log_path=os.path.join(self.cloud.logdir, 'setup.log'))
        self._spawn('kerbside-api', [
            _bin('gunicorn'), '--bind', '127.0.0.1:%d' % self.api_port,
            '--workers', '1', '--threads', '4', '--worker-class', 'gthread',
            '--timeout', '120', 'kerbside.api:app'], env, self.api_port)
        self._spawn('kerbside-proxy', [_bin('kerbside'), 'daemon', 'run'],
                    env, self.proxy_tls_port)
        net.wait_for_port(self.proxy_port, timeout=60,
                          process=self.processes[-1].popen)
        LOG.info('Kerbside: API %s, SPICE proxy 127.0.0.1:%d (TLS %d)',
                 self.api_url, self.proxy_port, self.proxy_tls_port)
        return self

    def _service_user(self):
        """The Keystone user Kerbside checks console tokens with.

        Nova's default policy lets only an admin read a console token's
        connection details (``os_compute_api:os-console-auth-tokens``);
        the sandbox's Nova widens that one rule to ``ROLE``
        (:func:`console_auth_policy`), and Kerbside's user has that role
        alone, as the admin guide recommends.
        """
        cloud = self.cloud
        user = cloud._post('users', {'user': {
            'name': USER, 'password': self.password,
            'domain_id': 'default'}})['user']
        cloud._admin.put('%s/projects/%s/users/%s/roles/%s' % (
            cloud.keystone_url, cloud._service_project, user['id'],
            cloud._find('roles', ROLE, create=True)))

    def _create_database(self):
        import sqlalchemy
        url = self.cloud.database_url
        try:
            deploy.kerbside_sql_url(url)
        except ValueError as e:
            raise KerbsideError(str(e)) from None
        engine = sqlalchemy.create_engine(url + '/')
        try:
            with engine.connect() as c:
                c.execute(sqlalchemy.text(
                    'CREATE DATABASE `%s` CHARACTER SET utf8mb4'
                    % self.database))
        finally:
            engine.dispose()
        # Dropped with the cloud's own databases.
        self.cloud._databases.append(self.database)

    def _env(self):
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
        env['PATH'] = os.pathsep.join([os.path.join(venv(), 'bin'),
                                       env.get('PATH', '/usr/bin:/bin')])
        env.update(deploy.kerbside_environment(self.deployment))
        return env

    def _spawn(self, name, argv, env, port):
        process = procs.Process(name, argv, os.path.join(
            self.cloud.logdir, name + '.log'), env=env, cwd=self.workdir)
        process.start()
        self.processes.append(process)
        # Among the cloud's processes: Cloud.stop() stops them.
        self.cloud.processes.append(process)
        try:
            net.wait_for_port(port, timeout=120, process=process.popen)
        except RuntimeError as e:
            raise KerbsideError('%s: %s\n%s' % (name, e, process.tail()))


def console_auth_policy():
    """Nova's policy.yaml: console token details for ``ROLE`` too."""
    return deploy.dump_yaml(deploy.nova_policy())
