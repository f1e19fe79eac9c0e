"""Reachability checks for the real services the functional tests use.

A functional test that needs MariaDB, PostgreSQL, RabbitMQ, Redis or
FreeRADIUS calls :func:`require`. On a developer machine a missing service
skips the test with the command that starts it; in CI (``CI=true``) a
missing service is an error, because a skipped real-component test would let
a broken change land.
"""

import os
import shutil
import socket

import testtools

SERVICES = {
    'mariadb': (('127.0.0.1', 3306),
                'start-stop-daemon --start --oknodo --background '
                '--exec /usr/sbin/mariadbd'),
    'postgresql': (('127.0.0.1', 5432),
                   'pg_ctlcluster --skip-systemctl-redirect '
                   '$(ls /etc/postgresql) main start'),
    'rabbitmq': (('127.0.0.1', 5672), 'rabbitmq-server -detached'),
    'redis': (('127.0.0.1', 6379),
              'redis-server --daemonize yes --bind 127.0.0.1 -::1 '
              '--port 6379 --save "" --appendonly no'),
}

BINARIES = {
    'rabbitmq-server': ('rabbitmq-server',
                        'apt-get install -y rabbitmq-server'),
    'freeradius': ('freeradius',
                   'apt-get install -y freeradius freeradius-utils '
                   '(tools/test-setup.sh does it)'),
    'radclient': ('radclient',
                  'apt-get install -y freeradius-utils '
                  '(tools/test-setup.sh does it)'),
    # A real hypervisor, the desktop image's packages and a SPICE client.
    'libvirtd': ('libvirtd', 'apt-get install -y libvirt-daemon-system '
                 '(tools/test-setup.sh does it)'),
    'virtlogd': ('virtlogd', 'apt-get install -y libvirt-daemon-system '
                 '(tools/test-setup.sh does it)'),
    'virsh': ('virsh', 'apt-get install -y libvirt-clients '
              '(tools/test-setup.sh does it)'),
    'qemu-system-x86_64': ('qemu-system-x86_64',
                           'apt-get install -y qemu-system-x86 '
                           '(tools/test-setup.sh does it)'),
    'qemu-img': ('qemu-img', 'apt-get install -y qemu-utils '
                 '(tools/test-setup.sh does it)'),
    'busybox': ('busybox', 'apt-get install -y busybox-static '
                '(tools/test-setup.sh does it)'),
    'Xvfb': ('Xvfb', 'apt-get install -y xvfb '
             '(tools/test-setup.sh does it)'),
    'remote-viewer': ('remote-viewer', 'apt-get install -y virt-viewer '
                      '(tools/test-setup.sh does it)'),
    'import': ('import', 'apt-get install -y imagemagick '
               '(tools/test-setup.sh does it)'),
    # The operator's HLR (HSS over GSUP) and a Diameter Rf CDF.
    'osmo-hlr': ('osmo-hlr', 'apt-get install -y osmo-hlr '
                 '(tools/test-setup.sh does it)'),
    'freediameterd': ('freeDiameterd', 'apt-get install -y freediameter; '
                      'tools/setup-freediameter.sh builds its app_acct '
                      '(tools/test-setup.sh runs it)'),
}


def in_ci():
    return os.environ.get('CI', '').lower() in ('1', 'true', 'yes')


def _missing(test, message):
    if in_ci():
        raise AssertionError('CI=true and %s' % message)
    test.skipTest(message)


def _reachable(addr, timeout=1.0):
    try:
        with socket.create_connection(addr, timeout=timeout):
            return True
    except OSError:
        return False


def require(test, name):
    """Fail (CI) or skip (elsewhere) ``test`` unless service ``name`` runs."""
    if name in SERVICES:
        addr, start = SERVICES[name]
        if not _reachable(addr):
            _missing(test, '%s is not reachable on %s:%d; start it with: %s'
                     % (name, addr[0], addr[1], start))
    elif name in BINARIES:
        binary, install = BINARIES[name]
        if not shutil.which(binary) and not os.path.exists(
                '/usr/sbin/' + binary):
            _missing(test, '%s is not installed; install it with: %s'
                     % (binary, install))
    else:
        raise ValueError('unknown service %r' % name)


class ServiceTestCase(testtools.TestCase):
    """Base class declaring the services a test case needs."""

    services = ()

    def setUp(self):
        super().setUp()
        for name in self.services:
            require(self, name)
