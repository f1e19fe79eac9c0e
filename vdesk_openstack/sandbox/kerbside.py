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

* a Keystone user ``kerbside`` with the ``admin`` role on the ``service``
  project (Nova's default policy for ``os-console-auth-tokens``);
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
"""

import datetime
import ipaddress
import os
import secrets
import textwrap

from oslo_log import log as logging

from vdesk_openstack.sandbox import net
from vdesk_openstack.sandbox import procs

LOG = logging.getLogger(__name__)

VENV_ENV = 'VDESK_KERBSIDE_VENV'
DEFAULT_VENV = '/opt/vdesk/kerbside-venv'
INSTALL_HINT = ('tools/setup-kerbside.sh installs it (tools/test-setup.sh '
                'runs it)')
USER = 'kerbside'
# The role Nova's policy lets read console tokens' details, besides admin
# (see console_auth_policy): Kerbside needs nothing more.
ROLE = 'console-auth'
SOURCE = 'vdesk-sandbox'
# The proxy certificate's subject, which the .vv names (host-subject=):
# the client checks the proxy's certificate against it and the CA.
SUBJECT = (('O', 'vdesk-sandbox'), ('CN', 'kerbside-proxy'))
HOST_SUBJECT = ','.join('%s=%s' % part for part in SUBJECT)
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
        self.ca_file = os.path.join(self.workdir, 'ca-cert.pem')
        self.cert_file = os.path.join(self.workdir, 'proxy-cert.pem')
        self.key_file = os.path.join(self.workdir, 'proxy-key.pem')
        self.sources_file = os.path.join(self.workdir, 'sources.yaml')
        self.password = secrets.token_urlsafe(16)
        self.database = '%s_kerbside' % cloud.run_id
        self.host_subject = HOST_SUBJECT
        # Where the subscriber's client connects: the proxy's ports.
        self.proxy_host = '127.0.0.1'
        self.proxy_port = net.free_port()
        self.proxy_tls_port = net.free_port()
        self.api_port = net.free_port()
        self.api_url = 'http://127.0.0.1:%d' % self.api_port
        self.processes = []

    # -- start ----------------------------------------------------------------
    def start(self):
        self._service_user()
        self._make_certificates()
        self._write_sources()
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

    def _make_certificates(self):
        """A CA and the proxy's certificate, signed by it (30 days)."""
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives import serialization
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        oids = {'O': NameOID.ORGANIZATION_NAME, 'CN': NameOID.COMMON_NAME}
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = rsa.generate_private_key(public_exponent=65537,
                                          key_size=2048)
        ca_name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'vdesk-sandbox'),
            x509.NameAttribute(NameOID.COMMON_NAME, 'vdesk-sandbox CA')])
        ca = (x509.CertificateBuilder()
              .subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5))
              .not_valid_after(now + datetime.timedelta(days=30))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0),
                             critical=True)
              .add_extension(x509.KeyUsage(
                  digital_signature=True, key_cert_sign=True, crl_sign=True,
                  content_commitment=False, key_encipherment=False,
                  data_encipherment=False, key_agreement=False,
                  encipher_only=False, decipher_only=False), critical=True)
              .sign(ca_key, hashes.SHA256()))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(oids[k], v)
                                         for k, v in SUBJECT]))
                .issuer_name(ca_name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=False,
                                                     path_length=None),
                               critical=True)
                .add_extension(x509.SubjectAlternativeName([
                    x509.DNSName('localhost'),
                    x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                    critical=False)
                .add_extension(x509.ExtendedKeyUsage(
                    [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                    critical=False)
                .sign(ca_key, hashes.SHA256()))
        pem = serialization.Encoding.PEM
        _write(self.ca_file, ca.public_bytes(pem), 0o644)
        _write(self.cert_file, cert.public_bytes(pem), 0o644)
        _write(self.key_file, key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()), 0o600)

    def _write_sources(self):
        # Every value quoted: Kerbside reads the file as strings.
        text = textwrap.dedent('''\
            - source: "{source}"
              type: "openstack"
              url: "{url}"
              username: "{user}"
              password: "{password}"
              project_name: "service"
              user_domain_id: "default"
              project_domain_id: "default"
              interface: "public"
            ''').format(source=SOURCE, url=self.cloud.keystone_url,
                        user=USER, password=self.password)
        _write(self.sources_file, text.encode(), 0o600)

    def _create_database(self):
        import sqlalchemy
        url = self.cloud.database_url
        if not url.split('://', 1)[0].startswith('mysql'):
            raise KerbsideError('Kerbside needs MariaDB or MySQL, not %s'
                                % url.split('://', 1)[0])
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
        # mysqlclient, Kerbside's own driver, on the cloud's server.
        server = self.cloud.database_url.split('://', 1)[1]
        settings = {
            'SQL_URL': 'mysql://%s/%s' % (server, self.database),
            'SOURCES_PATH': self.sources_file,
            'AUTH_SECRET_SEED': secrets.token_hex(32),
            'KEYSTONE_AUTH_URL': self.cloud.keystone_url,
            'LOG_OUTPUT_PATH': 'stdout',
            'NODE_NAME': 'vdesk-sandbox',
            'PUBLIC_FQDN': self.proxy_host,
            'PUBLIC_INSECURE_PORT': self.proxy_port,
            'PUBLIC_SECURE_PORT': self.proxy_tls_port,
            'VDI_ADDRESS': '127.0.0.1',
            'VDI_INSECURE_PORT': self.proxy_port,
            'VDI_SECURE_PORT': self.proxy_tls_port,
            'PROMETHEUS_METRICS_ADDRESS': '127.0.0.1',
            'PROMETHEUS_METRICS_PORT': net.free_port(),
            'CACERT_PATH': self.ca_file,
            'PROXY_HOST_CERT_PATH': self.cert_file,
            'PROXY_HOST_CERT_KEY_PATH': self.key_file,
            'PROXY_HOST_SUBJECT': self.host_subject,
            # The daemon's gRPC socket, which its proxy dials; short paths
            # only (AF_UNIX).
            'API_SOCKET_PATH': os.path.join(self.workdir, 'api.sock'),
            'PROXY_BIN': _bin('kerbside-proxy'),
            # Kerbside's tokens live a minute by default: a slow CI
            # machine must still open every channel with one.
            'CONSOLE_TOKEN_DURATION': 5,
        }
        env.update(('KERBSIDE_%s' % k, str(v)) for k, v in settings.items())
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
    return ('"os_compute_api:os-console-auth-tokens": '
            '"rule:context_is_admin or role:%s"\n' % ROLE)


def _write(path, data, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
