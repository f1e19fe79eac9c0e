"""A private Diameter Rf charging server (CDF) for the sandbox and the tests.

:class:`ChargingDataFunction` runs ``freediameterd`` with the ``app_acct``
extension (``tools/setup-freediameter.sh`` builds it) on a free TCP port of
127.0.0.1, with its own configuration and self-signed TLS credentials in a
work directory. ``app_acct`` answers every Accounting-Request with
Result-Code 2001 (DIAMETER_SUCCESS) once it inserted a row into a PostgreSQL
table of a database of its own; :meth:`ChargingDataFunction.records` reads
the rows: what the charging server really recorded. The server can be
stopped and started again on the same port (an outage).

Usage::

    cdf = ChargingDataFunction()
    cdf.setUp()              # or useFixture(cdf) in a test
    url = 'diameter://127.0.0.1:%d?origin_host=..&origin_realm=..' \\
          '&destination_realm=%s' % (cdf.port, cdf.realm)
    ...
    cdf.records()            # list of dicts, one per ACR, insertion order
    cdf.stop(); cdf.start()  # outage
    cdf.cleanUp()            # stops the server, drops the database

PostgreSQL must accept ``psql -h 127.0.0.1 -U postgres`` without a password
(the CI and sandbox set-up).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid

import fixtures

APP_ACCT = os.environ.get('VDESK_APP_ACCT',
                          '/usr/local/lib/freeDiameter/app_acct.fdx')
EXTENSIONS = '/usr/lib/freeDiameter'

# AVP -> column type; top-level AVPs of an ACR that app_acct stores (it
# does not store grouped AVPs). Columns after freeDiameter's
# contrib/app_acct_tools/database.sql.
COLUMNS = (
    ('Session-Id', 'bytea NOT NULL'),
    ('Origin-Host', 'bytea NOT NULL'),
    ('Origin-Realm', 'bytea NOT NULL'),
    ('Destination-Realm', 'bytea'),
    ('Accounting-Record-Type', 'integer NOT NULL'),
    ('Accounting-Record-Number', 'integer NOT NULL'),
    ('Acct-Application-Id', 'integer'),
    ('User-Name', 'bytea'),
    ('Event-Timestamp', 'bytea'),
    ('Acct-Interim-Interval', 'integer'),
    ('Acct-Session-Time', 'integer'),
    ('Acct-Session-Id', 'bytea'),
    ('Acct-Multi-Session-Id', 'bytea'),
    ('Accounting-Input-Octets', 'bigint'),
    ('Accounting-Output-Octets', 'bigint'),
    ('Termination-Cause', 'integer'),
    ('NAS-Identifier', 'bytea'),
    ('Origin-State-Id', 'integer'),
)
DICTIONARIES = ('dict_nasreq', 'dict_dcca', 'dict_dcca_3gpp')
REQUIRED = ('Session-Id', 'Origin-Host', 'Origin-Realm',
            'Accounting-Record-Type', 'Accounting-Record-Number')

FD_CONF = """\
Identity = "%(identity)s";
Realm = "%(realm)s";
Port = %(port)d;
SecPort = 0;
No_SCTP;
No_IPv6;
ListenOn = "127.0.0.1";
ThreadsPerServer = %(threads)d;
TLS_Cred = "%(cert)s", "%(key)s";
TLS_CA = "%(cert)s";
%(dictionaries)sLoadExtension = "%(ext)s/acl_wl.fdx" : "%(acl)s";
LoadExtension = "%(app_acct)s" : "%(acct)s";
"""


class CDFError(RuntimeError):
    """The charging server cannot be set up or started."""


def free_tcp_port(host='127.0.0.1'):
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _pg_text(value):
    if isinstance(value, str) and value.startswith('\\x'):
        raw = bytes.fromhex(value[2:])
        try:
            return raw.decode('utf-8')
        except UnicodeDecodeError:
            return raw
    return value


class ChargingDataFunction(fixtures.Fixture):
    """freeDiameter + app_acct + a PostgreSQL table; see the module doc.

    :param identity: Diameter identity (Origin-Host) of the server
    :param realm: its realm: the publishers' ``destination_realm``
    :param clients: Diameter identities allowed to connect (acl_wl
        patterns, ``*.realm`` accepted); others get DIAMETER_UNKNOWN_PEER
    :param required: AVPs app_acct requires beyond the base ones (beware:
        app_acct then leaves an ACR lacking one unanswered)
    :param dictionaries: freeDiameter dictionary extensions to load; an
        ACR with a mandatory (M bit) AVP the CDF's dictionary lacks is
        refused with 5001 DIAMETER_AVP_UNSUPPORTED (without
        ``dict_dcca_3gpp``: every ACR, for its 3GPP Service-Information)
    :param workdir: where the configuration goes (default: a temporary
        directory removed by cleanUp)
    :param pg: libpq connection parameters of the PostgreSQL server
    """

    ready_timeout = 30

    def __init__(self, identity='cdf.vdesk.test', realm='vdesk.test',
                 clients=('*.vdesk.test',), required=(),
                 dictionaries=DICTIONARIES, workdir=None,
                 pg='host=127.0.0.1 port=5432 user=postgres', threads=4):
        super().__init__()
        self.identity = identity
        self.realm = realm
        self.clients = tuple(clients)
        self.required = tuple(required)
        self.dictionaries = tuple(dictionaries)
        self.workdir = workdir
        self.pg = pg
        self.threads = threads
        self.port = None
        self.process = None
        self.database = None
        unknown = [a for a in self.required if a not in dict(COLUMNS)]
        if unknown:
            raise CDFError('cannot require %s: the table stores %s'
                           % (', '.join(unknown),
                              ', '.join(name for name, _ in COLUMNS)))

    # -- set-up --------------------------------------------------------------

    def _setUp(self):
        self.binary = (shutil.which('freeDiameterd')
                       or shutil.which('freediameterd'))
        if not self.binary:
            raise CDFError('freediameterd is not installed: run '
                           'tools/setup-freediameter.sh as root')
        if not os.path.exists(APP_ACCT):
            raise CDFError('%s is missing: run tools/setup-freediameter.sh '
                           'as root (it builds app_acct)' % APP_ACCT)
        if self.workdir is None:
            self.workdir = self.useFixture(fixtures.TempDir()).path
        else:
            os.makedirs(self.workdir, exist_ok=True)
        self.log_file = os.path.join(self.workdir, 'freediameterd.log')
        self.port = free_tcp_port()
        self.database = 'vdesk_cdf_%s' % uuid.uuid4().hex[:12]
        self._psql('postgres', 'CREATE DATABASE %s' % self.database)
        self.addCleanup(self._drop_database)
        self._psql(self.database, 'CREATE TABLE incoming (%s, '
                   'recorded_on timestamp with time zone NOT NULL, '
                   'recorded_serv bytea, row_id bigserial PRIMARY KEY)'
                   % ', '.join('"%s" %s' % c for c in COLUMNS))
        self._write_config()
        self.addCleanup(self.stop)
        self.start()

    @property
    def address(self):
        return ('127.0.0.1', self.port)

    def _psql(self, database, sql):
        result = subprocess.run(
            ['psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
             '-d', '%s dbname=%s' % (self.pg, database), '-c', sql],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if result.returncode:
            raise CDFError('psql (%s) failed: %s' % (
                sql.split(' (')[0], result.stderr.decode(errors='replace')))
        return result.stdout.decode()

    def _drop_database(self):
        self._psql('postgres', 'DROP DATABASE IF EXISTS %s' % self.database)

    def _write_config(self):
        cert = os.path.join(self.workdir, 'cdf.crt')
        key = os.path.join(self.workdir, 'cdf.key')
        result = subprocess.run(
            ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
             '-days', '3650', '-subj', '/CN=%s' % self.identity,
             '-keyout', key, '-out', cert],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        if result.returncode:
            raise CDFError('cannot make a TLS certificate: %s'
                           % result.stdout.decode(errors='replace'))
        acl = os.path.join(self.workdir, 'acl_wl.conf')
        with open(acl, 'w') as f:
            for client in self.clients:
                f.write('ALLOW_IPSEC %s\n' % client)
        acct = os.path.join(self.workdir, 'app_acct.conf')
        with open(acct, 'w') as f:
            for name, _type in COLUMNS:
                if name in REQUIRED or name in self.required:
                    f.write('"%s" = { required; };\n' % name)
                else:
                    f.write('"%s";\n' % name)
            f.write('ConnInfo = "%s dbname=%s";\n' % (self.pg, self.database))
            f.write('Table = "incoming";\n')
            f.write('Timestamp_field = "recorded_on";\n')
            f.write('Server_name_field = "recorded_serv";\n')
        self.config_file = os.path.join(self.workdir, 'freeDiameter.conf')
        with open(self.config_file, 'w') as f:
            f.write(FD_CONF % {
                'identity': self.identity, 'realm': self.realm,
                'port': self.port, 'threads': self.threads,
                'dictionaries': ''.join(
                    'LoadExtension = "%s/%s.fdx";\n' % (EXTENSIONS, d)
                    for d in self.dictionaries),
                'cert': cert, 'key': key, 'ext': EXTENSIONS, 'acl': acl,
                'app_acct': APP_ACCT, 'acct': acct})

    # -- running -------------------------------------------------------------

    def start(self):
        """Start the server (again) on its port; wait until it accepts."""
        if self.process is not None:
            return
        log = open(self.log_file, 'ab')
        try:
            self.process = subprocess.Popen(
                [self.binary, '-c', self.config_file],
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise CDFError('freediameterd exited at start: %s'
                               % self.log_tail())
            try:
                socket.create_connection(self.address, timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise CDFError('freediameterd does not listen on port %d after %ss: '
                       '%s' % (self.port, self.ready_timeout, self.log_tail()))

    def stop(self):
        """Stop the server; its port and its records stay for start()."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def log_tail(self, size=4000):
        try:
            with open(self.log_file, 'rb') as f:
                f.seek(max(0, os.path.getsize(self.log_file) - size))
                return f.read().decode(errors='replace')
        except FileNotFoundError:
            return ''

    # -- what the server recorded -------------------------------------------

    def records(self):
        """The stored ACRs, in insertion order: dicts keyed by AVP name.

        Text AVPs are ``str``, integers ``int``, Event-Timestamp the raw
        4-octet NTP time (``bytes``); absent AVPs are ``None``.
        ``recorded_serv`` is the server's identity.
        """
        out = self._psql(self.database, 'SELECT coalesce(json_agg(t ORDER BY '
                         'row_id), \'[]\') FROM incoming t')
        rows = json.loads(out)
        return [{k: _pg_text(v) for k, v in row.items()} for row in rows]

    def count(self):
        return int(self._psql(self.database,
                              'SELECT count(*) FROM incoming').strip())
