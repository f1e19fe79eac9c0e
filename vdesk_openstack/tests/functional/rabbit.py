"""Private RabbitMQ brokers for tests: a node of their own, or a vhost.

The machine's RabbitMQ serves every test at once, so a test that needs a
broker outage runs its own node: ``rabbitmq-server`` with its own node
name, port, database and logs in a temporary directory, started and
stopped with RabbitMQ's own tools. Stopping it is a real broker outage for
every client; starting it again on the same port and directory brings
back the same broker.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import fixtures

MACHINE_RABBIT = '127.0.0.1:5672'


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _open(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivateRabbit(fixtures.Fixture):
    """A RabbitMQ node on a free loopback port; see the module."""

    ready_timeout = 90

    def _setUp(self):
        # Not under $TMPDIR: test runners point it at private (0700)
        # directories the rabbitmq user cannot enter.
        self.dir = tempfile.mkdtemp(prefix='vdesk-rabbit-', dir='/tmp')
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.port = _free_port()
        self.node = 'vdesk-test-%s@localhost' % uuid.uuid4().hex[:8]
        for sub in ('mnesia', 'log'):
            os.makedirs(os.path.join(self.dir, sub))
        with open(os.path.join(self.dir, 'rabbitmq.conf'), 'w') as f:
            f.write('listeners.tcp.local = 127.0.0.1:%d\n' % self.port)
            f.write('loopback_users = none\n')
        with open(os.path.join(self.dir, 'enabled_plugins'), 'w') as f:
            f.write('[].\n')
        if os.geteuid() == 0:
            # The packaged scripts run the node as the rabbitmq user.
            entry = pwd.getpwnam('rabbitmq')
            for root, dirs, files in os.walk(self.dir):
                for name in [root] + [os.path.join(root, n)
                                      for n in dirs + files]:
                    os.chown(name, entry.pw_uid, entry.pw_gid)
            os.chmod(self.dir, 0o755)
        self.env = dict(
            os.environ, RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(_free_port()),
            RABBITMQ_MNESIA_BASE=os.path.join(self.dir, 'mnesia'),
            RABBITMQ_LOG_BASE=os.path.join(self.dir, 'log'),
            RABBITMQ_PID_FILE=os.path.join(self.dir, 'rabbit.pid'),
            RABBITMQ_CONFIG_FILE=os.path.join(self.dir, 'rabbitmq.conf'),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(self.dir,
                                                       'enabled_plugins'),
            RABBITMQ_FEATURE_FLAGS_FILE=os.path.join(self.dir,
                                                     'feature_flags'),
            RABBITMQ_QUORUM_DIR=os.path.join(self.dir, 'quorum'))
        self.process = None
        self.addCleanup(self.stop)
        self.start()

    @property
    def url(self):
        return 'rabbit://guest:guest@127.0.0.1:%d/' % self.port

    def start(self):
        out = open(os.path.join(self.dir, 'server.out'), 'ab')
        self.process = subprocess.Popen(
            ['rabbitmq-server'], env=self.env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        deadline = time.monotonic() + self.ready_timeout
        while not _open(self.port):
            if self.process.poll() is not None or \
                    time.monotonic() > deadline:
                raise RuntimeError(
                    'private RabbitMQ did not start on port %d: %s'
                    % (self.port, self.log_tail()))
            time.sleep(0.2)

    def stop(self):
        if self.process is None:
            return
        subprocess.run(['rabbitmqctl', '-n', self.node, 'stop'],
                       env=self.env, capture_output=True, timeout=60)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(10)
        self.process = None
        deadline = time.monotonic() + 30
        while _open(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def log_tail(self, size=2000):
        try:
            with open(os.path.join(self.dir, 'server.out'), 'rb') as f:
                return f.read()[-size:].decode('utf-8', 'replace')
        except OSError:
            return ''


class PrivateVhost(fixtures.Fixture):
    """A vhost of its own on the machine's RabbitMQ.

    Every test (and the sandbox) shares the machine's broker. Keystone's
    login announcements and Nova's notifications of one test would reach
    the listeners of another on the shared vhost: a pre-warm of the same
    test IMSI bound to another test's user. A vhost keeps a test's
    exchanges and queues to itself. Made and removed with
    ``rabbitmqctl``; a test that cannot make one fails (it needs root,
    as CI runs).
    """

    def _setUp(self):
        self.ctl = shutil.which('rabbitmqctl') or '/usr/sbin/rabbitmqctl'
        self.name = 'vdesk-test-%s' % uuid.uuid4().hex[:8]
        try:
            self._ctl('add_vhost', self.name)
            self.addCleanup(self._ctl, 'delete_vhost', self.name,
                            check=False)
            self._ctl('set_permissions', '-p', self.name, 'guest',
                      '.*', '.*', '.*')
        except (OSError, subprocess.SubprocessError) as e:
            raise RuntimeError('cannot make a RabbitMQ vhost with %s: %s'
                               % (self.ctl, e))

    def _ctl(self, *args, check=True):
        subprocess.run([self.ctl] + list(args), check=check,  # nosec
                       capture_output=True, timeout=60)

    @property
    def url(self):
        return 'rabbit://guest:guest@%s/%s' % (MACHINE_RABBIT, self.name)
