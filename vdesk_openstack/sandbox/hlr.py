"""A private osmo-hlr: the operator's HLR of the sandbox and the tests.

:class:`OsmoHlr` runs Osmocom's HLR (``apt-get install osmo-hlr``, see
tools/setup-osmo-hlr.sh) with a configuration and a sqlite database of its
own in a work directory, provisions subscribers through its VTY, and can
be stopped and started again on the same database (HLR outages)::

    hlr = OsmoHlr(workdir).start()
    hlr.provision('001010000000001', k_hex, opc_hex)
    hlr.gsup_server          # '127.0.0.7:4222', for [hss_gsup] servers
    hlr.stop(); hlr.start()  # same address, same subscribers and SQNs
    hlr.cleanup()            # stop; remove the work directory if ours

osmo-hlr's GSUP port is fixed (4222), and 127.0.0.1:4222 may be taken (by
NATS, say): each instance gets a loopback address of its own
(127.0.0.2 and up; Linux routes all of 127/8 to the loopback interface),
where its GSUP, VTY (4258) and CTRL (4259) interfaces listen.
"""

import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import textwrap
import time

GSUP_PORT = 4222
VTY_PORT = 4258
CTRL_PORT = 4259
_PORTS = (GSUP_PORT, VTY_PORT, CTRL_PORT)
_PROMPT_ENABLED = b'OsmoHLR# '
_PROMPT = b'OsmoHLR> '
_PASSWORD_PROMPT = b'Password: '


class HlrError(RuntimeError):
    """osmo-hlr is missing, would not start, or refused a command."""


def find_binary():
    """Path of osmo-hlr, or None."""
    found = shutil.which('osmo-hlr')
    if found:
        return found
    for candidate in ('/usr/bin/osmo-hlr', '/usr/sbin/osmo-hlr'):
        if os.path.exists(candidate):
            return candidate
    return None


def _address_free(address):
    for port in _PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((address, port))
            except OSError:
                return False
    return True


def free_loopback_address(rng=random):
    """A loopback address other than 127.0.0.1 whose HLR ports are free."""
    for _ in range(200):
        address = '127.0.%d.%d' % (rng.randint(0, 254), rng.randint(2, 254))
        if _address_free(address):
            return address
    raise HlrError('no loopback address with ports %s free'
                   % '/'.join(map(str, _PORTS)))


class OsmoHlr(object):
    """One osmo-hlr process with its own config and database.

    :param workdir: directory for hlr.cfg, hlr.sqlite and hlr.log (created
        if missing); None: a temporary one, removed by :meth:`cleanup`.
    :param address: loopback address to listen on; None: a free one.
    """

    def __init__(self, workdir=None, address=None, binary=None):
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix='vdesk-hlr-')
        # The database holds every SIM's K and OPc; the config, the VTY
        # password.
        os.makedirs(self.workdir, mode=0o700, exist_ok=True)
        os.chmod(self.workdir, 0o700)
        # Anyone on the host can reach a loopback port: the VTY (which can
        # read and change subscribers) asks for this password.
        self.vty_password = secrets.token_urlsafe(18)
        self.address = address
        self.binary = binary or find_binary()
        self.config_file = os.path.join(self.workdir, 'hlr.cfg')
        self.database = os.path.join(self.workdir, 'hlr.sqlite')
        self.log_path = os.path.join(self.workdir, 'hlr.log')
        self.process = None

    # -- addresses ----------------------------------------------------------
    @property
    def gsup_address(self):
        """``(host, port)`` of the GSUP interface."""
        return (self.address, GSUP_PORT)

    @property
    def gsup_server(self):
        """``host:port`` for ``[hss_gsup] servers``."""
        return '%s:%d' % self.gsup_address

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    # -- life cycle -----------------------------------------------------------
    def _write_config(self):
        fd = os.open(self.config_file,
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                     0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(textwrap.dedent('''\
                log stderr
                 logging filter all 1
                 logging color 0
                 logging print category 1
                 logging print extended-timestamp 1
                 logging level main notice
                 logging level db notice
                 logging level auc notice
                 logging level linp error
                password {p}
                line vty
                 login
                 bind {a}
                ctrl
                 bind {a}
                hlr
                 gsup
                  bind ip {a}
                ''').format(a=self.address, p=self.vty_password))

    def start(self, timeout=20.0):
        """Start osmo-hlr and wait until its GSUP and VTY ports answer.

        Starting again after :meth:`stop` keeps the address and database.
        """
        if self.binary is None:
            raise HlrError('osmo-hlr is not installed; install it with: '
                           'apt-get install -y osmo-hlr (or run '
                           'tools/setup-osmo-hlr.sh)')
        if self.running:
            return self
        fixed = self.address is not None
        for attempt in range(1 if fixed else 5):
            if not fixed:
                self.address = free_loopback_address()
            self._write_config()
            try:
                self._spawn(timeout)
                return self
            except HlrError:
                if fixed or attempt == 4:
                    raise
                # Another process took the address meanwhile.
                self.address = None
        return self  # pragma: no cover

    def _spawn(self, timeout):
        with open(self.log_path, 'ab') as log:
            self.process = subprocess.Popen(
                [self.binary, '-c', self.config_file, '-l', self.database],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise HlrError('osmo-hlr exited with code %s at start (see '
                               '%s)' % (code, self.log_path))
            if all(_listening(self.address, port)
                   for port in (GSUP_PORT, VTY_PORT)):
                return
            time.sleep(0.05)
        self.stop()
        raise HlrError('osmo-hlr did not listen on %s within %.0f s (see %s)'
                       % (self.gsup_server, timeout, self.log_path))

    def stop(self):
        """Stop osmo-hlr (SIGTERM, then SIGKILL); the database stays."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def cleanup(self):
        """Stop, and remove the work directory if this object made it."""
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- provisioning -------------------------------------------------------
    def vty(self, *commands):
        """Run VTY ``commands`` (enable mode); return their outputs.

        Raises :class:`HlrError` when osmo-hlr answers a command with an
        error line (``% ...``), except "already exists" on create.
        """
        with _Vty(self.address, VTY_PORT, self.vty_password) as session:
            return [session.run(c) for c in commands]

    def provision(self, imsi, k, opc, sqn=None):
        """Create subscriber ``imsi`` with MILENAGE K and OPc (hex).

        ``sqn`` (an int, the last SQN issued) is written to the database
        when given: osmo-hlr has no VTY command for it.
        """
        _check_hex(k, 'K')
        _check_hex(opc, 'OPc')
        self.vty('subscriber imsi %s create' % imsi,
                 'subscriber imsi %s update aud3g milenage k %s opc %s'
                 % (imsi, k, opc))
        if sqn is not None:
            self.set_sqn(imsi, sqn)

    def delete(self, imsi):
        self.vty('subscriber imsi %s delete' % imsi)

    def _db(self):
        return contextlib.closing(sqlite3.connect(self.database, timeout=10))

    def set_sqn(self, imsi, sqn):
        """Set the last SQN issued to ``imsi`` (read at every request)."""
        with self._db() as conn, conn:
            changed = conn.execute(
                'UPDATE auc_3g SET sqn = ? WHERE subscriber_id = '
                '(SELECT id FROM subscriber WHERE imsi = ?)',
                (int(sqn), imsi)).rowcount
        if changed != 1:
            raise HlrError('no MILENAGE data for IMSI %s' % imsi)

    def get_sqn(self, imsi):
        """The last SQN osmo-hlr issued to ``imsi`` (an int)."""
        with self._db() as conn:
            row = conn.execute(
                'SELECT sqn FROM auc_3g JOIN subscriber ON '
                'auc_3g.subscriber_id = subscriber.id WHERE imsi = ?',
                (imsi,)).fetchone()
        if row is None:
            raise HlrError('no MILENAGE data for IMSI %s' % imsi)
        return row[0]

    def log_text(self):
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''


def _check_hex(value, name):
    try:
        ok = len(bytes.fromhex(value)) == 16
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise HlrError('%s must be 32 hex digits' % name)


def _listening(address, port):
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


class _Vty(object):
    """A telnet-less session on osmo-hlr's VTY (plain lines suffice)."""

    def __init__(self, address, port, password, timeout=10.0):
        self._sock = socket.create_connection((address, port),
                                              timeout=timeout)
        self._buf = b''
        self._read_until(_PASSWORD_PROMPT)
        self._send(password)
        self._read_until(_PROMPT)
        self._send('enable')
        self._read_until(_PROMPT_ENABLED)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._sock.close()

    def _send(self, line):
        self._sock.sendall(line.encode('ascii') + b'\n')

    def _read_until(self, prompt):
        while prompt not in self._buf:
            data = self._sock.recv(65536)
            if not data:
                raise HlrError('osmo-hlr closed its VTY')
            self._buf += data
        text, _, self._buf = self._buf.partition(prompt)
        return text.decode('ascii', 'replace')

    def run(self, command):
        self._send(command)
        output = self._read_until(_PROMPT_ENABLED)
        lines = [line.strip() for line in output.splitlines()]
        errors = [line for line in lines if line.startswith('%') and
                  'Created' not in line and 'Deleted' not in line and
                  'already exists' not in line]
        if errors:
            raise HlrError('osmo-hlr refused "%s": %s'
                           % (command.split(' update ')[0], errors[0]))
        return '\n'.join(lines)
