"""A private FreeRADIUS server for the sandbox and the functional tests.

:class:`FreeRadius` copies the packaged configuration (``/etc/freeradius/3.0``)
to a temporary directory, replaces the default virtual server with a small
one (authentication and accounting on 127.0.0.1 and free ports, accounting
records written by the ``detail`` module), registers the test client with
its shared secret and the vdesk RADIUS dictionary, and runs
``freeradius -f``. The server can be stopped and started again on the same
ports (a charging server outage), and :meth:`FreeRadius.records` parses the
``detail`` file: what the charging server really received.

Tests call ``services.require(test, 'freeradius')`` before using it.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import time

import fixtures

SOURCE_CONFIG = '/etc/freeradius/3.0'
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VDESK_DICTIONARY = os.path.join(PACKAGE_DIR, 'metering', 'dictionary.vdesk')

SITE = """
server default {
listen {
    type = auth
    ipaddr = 127.0.0.1
    port = %(auth_port)d
}
listen {
    type = acct
    ipaddr = 127.0.0.1
    port = %(acct_port)d
}
authorize {
    preprocess
    files
    pap
}
authenticate {
    Auth-Type PAP {
        pap
    }
}
preacct {
%(preacct)s
}
accounting {
%(accounting)s
}
post-auth {
}
}
"""

# A charging server that must be exact drops a record it has seen already:
# the first copy of a Vdesk-Record-Id creates a cache entry -- rlm_cache
# answers "updated" -- and is written; a later copy finds the entry ("ok")
# and is not.
DEDUPE_MODULE = """
cache vdesk_dedupe {
    driver = "rlm_cache_rbtree"
    key = "%{Vdesk-Record-Id}"
    ttl = 86400
    update {
        &control:Tmp-String-0 := "seen"
    }
}
"""
DEDUPE_ACCOUNTING = """
    vdesk_dedupe
    if (updated) {
        detail
    }
"""

CLIENT = """
client vdesk_test_%(name)s {
    ipaddr = %(ipaddr)s
    secret = %(secret)s
    require_message_authenticator = %(require_ma)s
}
"""


def free_udp_port(host='127.0.0.1'):
    """Return a UDP port on ``host`` that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _parse_value(value):
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse_detail(text):
    """Parse a FreeRADIUS ``detail`` file into a list of dicts.

    Records are blocks separated by blank lines; the first line of a
    block is a timestamp, the others ``\\tAttribute = value``. Values stay
    strings (quotes removed) as the charging server wrote them.
    """
    records = []
    for block in text.split('\n\n'):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        record = {}
        for line in lines[1:]:
            name, sep, value = line.strip().partition(' = ')
            if sep:
                record[name] = _parse_value(value)
        records.append(record)
    return records


class FreeRadius(fixtures.Fixture):
    """A FreeRADIUS on free loopback ports, started by :meth:`_setUp`.

    :param secret: shared secret of the test client (127.0.0.1)
    :param require_message_authenticator: make the server drop Access-Requests
        without a valid Message-Authenticator
    :param dedupe: write an accounting record only for the first request
        with its Vdesk-Record-Id, as an exact charging server does
    :param detail_only: accounting does nothing but write the ``detail``
        file (no ``preprocess``/``acct_unique``): for throughput
        measurements, where the server must not be the bottleneck
    """

    ready_timeout = 30

    def __init__(self, secret='testing123',
                 require_message_authenticator=False, dedupe=False,
                 detail_only=False):
        super().__init__()
        self.detail_only = detail_only
        self.dedupe = dedupe
        self.secret = secret
        self.require_message_authenticator = require_message_authenticator
        self.process = None

    def _setUp(self):
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.config_dir = os.path.join(self.dir, 'raddb')
        self.log_file = os.path.join(self.dir, 'radius.log')
        self.acct_dir = os.path.join(self.dir, 'radacct')
        self.auth_port = free_udp_port()
        self.acct_port = free_udp_port()
        self.inner_port = free_udp_port()
        self._write_config()
        self.addCleanup(self.stop)
        self.start()

    @property
    def acct_address(self):
        return ('127.0.0.1', self.acct_port)

    def _write_config(self):
        shutil.copytree(SOURCE_CONFIG, self.config_dir, symlinks=True)
        os.makedirs(self.acct_dir)
        os.makedirs(os.path.join(self.dir, 'run'))
        conf = os.path.join(self.config_dir, 'radiusd.conf')
        with open(conf) as f:
            lines = f.read().splitlines()
        replace = {
            'radacctdir': self.acct_dir,
            'logdir': self.dir,
            'run_dir': os.path.join(self.dir, 'run'),
            'raddbdir': self.config_dir,
        }
        if os.geteuid() == 0:
            # the packaged user (freerad) cannot read the temporary copy
            replace.update(user='root', group='root')
        out = []
        for line in lines:
            key = line.strip().split(' ', 1)[0]
            if key in ('user', 'group') and os.geteuid() != 0:
                line = '#' + line  # run as the invoking user
            elif key in replace and '=' in line:
                indent = line[:len(line) - len(line.lstrip())]
                line = '%s%s = %s' % (indent, key, replace[key])
            out.append(line)
        with open(conf, 'w') as f:
            f.write('\n'.join(out) + '\n')

        with open(os.path.join(self.config_dir, 'sites-enabled',
                               'default'), 'w') as f:
            f.write(SITE % {'auth_port': self.auth_port,
                            'acct_port': self.acct_port,
                            'preacct': '' if self.detail_only else
                            '    preprocess\n    acct_unique',
                            'accounting': DEDUPE_ACCOUNTING if self.dedupe
                            else '    detail'})
        if self.dedupe:
            with open(os.path.join(self.config_dir, 'mods-enabled',
                                   'vdesk_dedupe'), 'w') as f:
                f.write(DEDUPE_MODULE)
        inner = os.path.join(self.config_dir, 'sites-enabled', 'inner-tunnel')
        if os.path.lexists(inner):
            with open(inner) as f:
                text = f.read()
            os.unlink(inner)  # a symlink into sites-available
            with open(inner, 'w') as f:
                f.write(text.replace('port = 18120',
                                     'port = %d' % self.inner_port))
        # The packaged clients.conf declares 127.0.0.1 already (secret
        # testing123): replace it, one client per address.
        with open(os.path.join(self.config_dir, 'clients.conf'), 'w') as f:
            f.write(CLIENT % {
                'name': 'loopback', 'ipaddr': '127.0.0.1',
                'secret': self.secret,
                'require_ma': 'yes' if self.require_message_authenticator
                else 'no'})
        with open(os.path.join(self.config_dir, 'dictionary'), 'a') as f:
            f.write('\n$INCLUDE %s\n' % VDESK_DICTIONARY)

    def start(self):
        """Start the server (again) on its ports; wait until it is ready."""
        if self.process is not None:
            return
        offset = (os.path.getsize(self.log_file)
                  if os.path.exists(self.log_file) else 0)
        self.process = subprocess.Popen(
            ['freeradius', '-f', '-d', self.config_dir, '-l', self.log_file],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError('freeradius exited at start: %s'
                                   % self.log_tail(offset))
            if 'Ready to process requests' in self.log_tail(offset):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError('freeradius not ready after %ss: %s'
                           % (self.ready_timeout, self.log_tail(offset)))

    def stop(self):
        """Stop the server; its ports stay reserved for :meth:`start`."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log_tail(self, offset=0):
        try:
            with open(self.log_file, errors='replace') as f:
                f.seek(offset)
                return f.read()
        except FileNotFoundError:
            return ''

    def detail_files(self):
        return sorted(glob.glob(os.path.join(self.acct_dir, '*',
                                             'detail-*')))

    def records(self):
        """Accounting records the server wrote, oldest first."""
        records = []
        for path in self.detail_files():
            with open(path, errors='replace') as f:
                records.extend(parse_detail(f.read()))
        return records
