"""A real hypervisor for desktops: libvirt with QEMU, without systemd.

:class:`Hypervisor` makes ``qemu:///system`` answer on a machine where no
service manager starts libvirt: it starts ``virtlogd`` and ``libvirtd``
(each in its own session, libvirtd with a private configuration that lets
root connect without polkit) when they are not running, and stops them
again -- only the daemons it started, and only when no other user of this
module still needs them (a shared lock that every user holds while it runs;
the last one out stops them).

Desktops run under TCG (domain type ``qemu``): ``/dev/kvm`` may exist on a
build machine while being unable to run a Linux guest.

:func:`desktop_domain_xml` describes a desktop with the devices the desktop
service asks Nova for: SPICE graphics with QXL video, an ``ich9`` sound
card (``hw:sound_model``), a ``qemu-xhci`` USB controller
(``hw:usb_model``) with SPICE USB redirection ports
(``hw:redirected_usb_ports``), a USB tablet (``hw_pointer_model``), and a
serial console logged to a file, as Nova's libvirt driver logs it. SPICE
listens on loopback only and has no password: whoever reaches the port
gets the desktop (see the desktop image documentation).

SPICE over TLS: :meth:`Hypervisor.start` makes ``/etc/libvirt/qemu.conf``
say ``spice_tls = 1`` with the certificate directory :data:`SPICE_TLS_DIR`
(a block of its own, kept between runs) and puts a certificate there
when none is; a cloud replaces it with one its console proxy trusts
(:meth:`Hypervisor.install_spice_certificates`). Domains whose SPICE
channels are all ``secure`` (Nova's ``[spice] require_secure``) then
refuse plain-text clients.
"""

import collections
import errno
import fcntl
import json
import os
import pwd
import re
import signal
import subprocess  # nosec: runs virsh and the libvirt daemons, no shell
import tempfile
import time
from xml.sax import saxutils

from vdesk_openstack import deploy
from vdesk_openstack.sandbox import image as desktop_image

URI = 'qemu:///system'
RUNDIR = '/run/vdesk-openstack/hypervisor'
DAEMONS = (
    # name, binary, pid file the daemon keeps by default
    ('virtlogd', '/usr/sbin/virtlogd', '/run/virtlogd.pid'),
    ('libvirtd', '/usr/sbin/libvirtd', '/run/libvirtd.pid'),
)
LIBVIRTD_CONF = '''\
# Private configuration of the libvirtd started by vdesk-openstack: root
# connects over the UNIX socket without polkit (no D-Bus here).
auth_unix_ro = "none"
auth_unix_rw = "none"
'''
DOMAIN_PREFIX = 'vdesk-desktop-'
QEMU_CONF = '/etc/libvirt/qemu.conf'
# QEMU reads its SPICE TLS files here; the whole path is searchable by
# QEMU's unprivileged user, the key is its own.
SPICE_TLS_DIR = '/var/lib/vdesk-openstack/spice-tls'
QEMU_USER = 'libvirt-qemu'
QEMU_CONF_BEGIN = '# vdesk-openstack: SPICE over TLS (begin)'
QEMU_CONF_END = '# vdesk-openstack: SPICE over TLS (end)'

SpiceEndpoint = collections.namedtuple('SpiceEndpoint', ['host', 'port'])
Desktop = collections.namedtuple('Desktop', ['name', 'serial_log'])


class HypervisorError(Exception):
    """libvirt could not be started, or refused a request."""


def desktop_domain_xml(name, image, serial_log, memory_mib=256,
                       sound_model='ich9', usb_model='qemu-xhci',
                       redirected_usb_ports=2, video_model='qxl',
                       pointer_model='usbtablet'):
    """libvirt XML of a desktop booting ``image`` (a DesktopImage).

    A ``None`` sound or USB model leaves that device out, as a flavor
    without the extra spec does.
    """
    q = saxutils.quoteattr
    devices = [
        '<emulator>/usr/bin/qemu-system-x86_64</emulator>',
        "<disk type='file' device='disk'>"
        "<driver name='qemu' type='qcow2'/><source file=%s/>"
        "<target dev='vda' bus='virtio'/></disk>" % q(image.disk),
        # A pty (virsh console) logged to a file by virtlogd.
        "<serial type='pty'><log file=%s append='on'/>"
        "<target port='0'/></serial>" % q(serial_log),
        "<console type='pty'><target type='serial' port='0'/></console>",
        "<graphics type='spice' autoport='yes'>"
        "<listen type='address' address='127.0.0.1'/></graphics>",
        "<video><model type=%s heads='1'/></video>" % q(video_model),
        "<memballoon model='none'/>",
    ]
    if sound_model:
        devices.append("<sound model=%s/>" % q(sound_model))
    if usb_model:
        devices.append("<controller type='usb' model=%s ports='8'/>"
                       % q(usb_model))
        if pointer_model == 'usbtablet':
            devices.append("<input type='tablet' bus='usb'/>")
        devices.extend(["<redirdev bus='usb' type='spicevmc'/>"]
                       * int(redirected_usb_ports))
    elif pointer_model == 'usbtablet':
        raise ValueError('a USB tablet needs a USB controller')
    return '\n'.join([
        "<domain type='qemu'>",
        '<name>%s</name>' % saxutils.escape(name),
        "<memory unit='MiB'>%d</memory>" % memory_mib,
        '<vcpu>1</vcpu>',
        "<os><type arch='x86_64'>hvm</type>",
        '<kernel>%s</kernel>' % saxutils.escape(image.kernel),
        '<initrd>%s</initrd>' % saxutils.escape(image.ramdisk),
        '<cmdline>console=ttyS0 quiet</cmdline></os>',
        '<features><acpi/></features>',
        "<clock offset='utc'/>",
        '<on_poweroff>destroy</on_poweroff>',
        '<on_reboot>restart</on_reboot>',
        '<on_crash>destroy</on_crash>',
        '<devices>', *devices, '</devices>',
        '</domain>',
    ]) + '\n'


def wait_for_boot(serial_log, timeout=60.0, after=0):
    """The N of the ``after``-th+1 ``VDESK-DESKTOP boot=N`` line logged.

    The log is appended to across restarts: ``after`` is the number of
    boot lines already there.
    """
    deadline = time.monotonic() + timeout
    text = ''
    while time.monotonic() < deadline:
        try:
            with open(serial_log, errors='replace') as f:
                text = f.read()
        except FileNotFoundError:
            text = ''
        boots = desktop_image.BOOT_LINE_RE.findall(text)
        if len(boots) > after:
            return int(boots[after])
        time.sleep(0.2)
    raise HypervisorError('no boot line in %s after %.0f s; it ends with: %r'
                          % (serial_log, timeout, text[-500:]))


def _check_reachable(path):
    # QEMU runs as an unprivileged user (libvirt-qemu): libvirt gives it
    # the files, not the directories above them.
    directory = os.path.dirname(os.path.abspath(path))
    while directory != '/':
        if not os.stat(directory).st_mode & 0o001:
            raise HypervisorError(
                'QEMU cannot reach %s: directory %s is not searchable by '
                'others (chmod o+x)' % (path, directory))
        directory = os.path.dirname(directory)


def qemu_tls_lines(spice_tls_dir):
    """qemu.conf's (option, value) pairs for SPICE over TLS."""
    return deploy.qemu_spice_tls(
        deploy.Deployment(spice_tls_dir=spice_tls_dir))


def _qemu_owner():
    try:
        user = pwd.getpwnam(QEMU_USER)
    except KeyError:
        return None  # QEMU runs as root here
    return user.pw_uid, user.pw_gid


def _searchable(directory):
    """Create ``directory`` and make every level searchable by others."""
    os.makedirs(directory, mode=0o755, exist_ok=True)
    path = os.path.abspath(directory)
    while path != '/':
        mode = os.stat(path).st_mode
        if not mode & 0o001:
            os.chmod(path, (mode & 0o7777) | 0o001)
        path = os.path.dirname(path)


def _process_alive(pid, name):
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return False
    # "pid (comm) state ...": a zombie has exited already.
    match = re.match(r'\d+ \((.*)\) (\S)', stat)
    return bool(match) and match.group(1) == name and match.group(2) != 'Z'


def _pid_from_file(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


class Hypervisor:
    """libvirt/QEMU on this machine, started when needed (run as root).

    Use it as a context manager: on exit (or an error) every desktop it
    booted is destroyed, and the daemons it started are stopped once no
    other user holds the hypervisor.
    """

    def __init__(self, uri=URI, rundir=RUNDIR, timeout=30.0,
                 qemu_conf=QEMU_CONF, spice_tls_dir=SPICE_TLS_DIR):
        self.uri = uri
        self.rundir = rundir
        self.timeout = timeout
        self.qemu_conf = qemu_conf
        self.spice_tls_dir = spice_tls_dir
        self._lock = None
        self._children = []
        self._desktops = []

    # -- daemons ------------------------------------------------------------
    def start(self):
        os.makedirs(self.rundir, mode=0o700, exist_ok=True)
        self._lock = open(os.path.join(self.rundir, 'lock'), 'a+')
        try:
            # Exclusive while checking and starting, shared while in use.
            fcntl.flock(self._lock, fcntl.LOCK_EX)
            self._ensure_spice_tls_files()
            changed = self._ensure_qemu_conf()
            if changed and self._answers():
                self._restart_for_qemu_conf()
            if not self._answers():
                self._start_daemons()
            fcntl.flock(self._lock, fcntl.LOCK_SH)
        except BaseException:
            self.stop()
            raise
        return self

    # -- SPICE over TLS -----------------------------------------------------
    def _ensure_qemu_conf(self):
        """Our block in qemu.conf; True if the file had to change."""
        block = '\n'.join([QEMU_CONF_BEGIN] + [
            '%s = %s' % kv for kv in qemu_tls_lines(self.spice_tls_dir)] +
            [QEMU_CONF_END]) + '\n'
        try:
            with open(self.qemu_conf) as f:
                text = f.read()
        except FileNotFoundError:
            text = ''
        if block in text:
            return False
        if QEMU_CONF_BEGIN in text and QEMU_CONF_END in text:
            head, rest = text.split(QEMU_CONF_BEGIN, 1)
            text = head + rest.split(QEMU_CONF_END, 1)[1].lstrip('\n')
        if text and not text.endswith('\n'):
            text += '\n'
        os.makedirs(os.path.dirname(self.qemu_conf), exist_ok=True)
        with open(self.qemu_conf + '.vdesk', 'w') as f:
            f.write(text + block)
        os.chmod(self.qemu_conf + '.vdesk', 0o644)
        os.replace(self.qemu_conf + '.vdesk', self.qemu_conf)
        return True

    def _restart_for_qemu_conf(self):
        """libvirtd reads qemu.conf at start: restart the one we started."""
        started = self._read_started()
        if not _process_alive(started.get('libvirtd', 0), 'libvirtd'):
            raise HypervisorError(
                '%s now enables SPICE over TLS, but the running libvirtd '
                'was not started by vdesk-openstack: restart it (e.g. '
                'systemctl restart libvirtd) and run again' % self.qemu_conf)
        self._stop_daemons()

    def _ensure_spice_tls_files(self):
        """QEMU's SPICE TLS files; a self-signed set when there is none."""
        if all(os.path.exists(os.path.join(self.spice_tls_dir, name))
               for name in deploy.SPICE_TLS_FILES.values()):
            return
        ca_dir = tempfile.mkdtemp(dir=self.rundir)
        try:
            deploy.kerbside_certificates(
                ca_dir, ['127.0.0.1'], ca_name='vdesk-openstack SPICE CA')
            self.install_spice_certificates(ca_dir)
        finally:
            for name in os.listdir(ca_dir):
                os.unlink(os.path.join(ca_dir, name))
            os.rmdir(ca_dir)

    def install_spice_certificates(self, ca_dir, hosts=('127.0.0.1',)):
        """QEMU's SPICE certificate for ``hosts``, signed by ``ca_dir``'s CA.

        Takes effect for domains started afterwards.
        """
        _searchable(self.spice_tls_dir)
        deploy.spice_certificates(ca_dir, self.spice_tls_dir, list(hosts),
                                  days=30, owner=_qemu_owner())

    def _state_path(self):
        return os.path.join(self.rundir, 'started.json')

    def _read_started(self):
        try:
            with open(self._state_path()) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _write_started(self, started):
        with open(self._state_path() + '.new', 'w') as f:
            json.dump(started, f)
        os.replace(self._state_path() + '.new', self._state_path())

    def _start_daemons(self):
        started = self._read_started()
        conf = os.path.join(self.rundir, 'libvirtd.conf')
        with open(conf, 'w') as f:
            f.write(LIBVIRTD_CONF)
        for name, binary, pidfile in DAEMONS:
            if _process_alive(_pid_from_file(pidfile), name):
                continue
            if not os.access(binary, os.X_OK):
                raise HypervisorError(
                    '%s not found; install it with: apt-get install '
                    'libvirt-daemon-system qemu-system-x86' % binary)
            argv = [binary] + (['-f', conf] if name == 'libvirtd' else [])
            with open(os.path.join(self.rundir, name + '.log'), 'ab') as log:
                child = subprocess.Popen(  # nosec: fixed daemon binaries
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    start_new_session=True, close_fds=True)
            self._children.append(child)
            started[name] = child.pid
            self._write_started(started)
        deadline = time.monotonic() + self.timeout
        while not self._answers():
            for child in self._children:
                if child.poll() is not None:
                    raise HypervisorError(
                        '%s exited (%s); see %s' % (
                            child.args[0], child.returncode,
                            os.path.join(self.rundir, '*.log')))
            if time.monotonic() > deadline:
                raise HypervisorError('%s does not answer after %.0f s'
                                      % (self.uri, self.timeout))
            time.sleep(0.3)

    def _answers(self):
        try:
            self.virsh('uri', timeout=10)
        except HypervisorError:
            return False
        return True

    def stop(self):
        """Destroy our desktops; stop the daemons if we are the last user."""
        for desktop in list(self._desktops):
            try:
                self.destroy(desktop)
            except HypervisorError:
                pass
        if self._lock is None:
            return
        try:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                return  # another user still needs libvirt: it stops it
            self._stop_daemons()
        finally:
            self._lock.close()
            self._lock = None
            for child in self._children:
                child.poll()  # reap what has exited

    def _stop_daemons(self):
        started = self._read_started()
        # libvirtd first: it talks to virtlogd until it exits.
        for name, _binary, _pidfile in reversed(DAEMONS):
            pid = started.pop(name, 0)
            if pid and _process_alive(pid, name):
                os.kill(pid, signal.SIGTERM)
                if not self._wait_exit(pid, name, 15):
                    os.kill(pid, signal.SIGKILL)
                    self._wait_exit(pid, name, 5)
            self._write_started(started)

    def _wait_exit(self, pid, name, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for child in self._children:
                if child.pid == pid:
                    child.poll()
            if not _process_alive(pid, name):
                return True
            time.sleep(0.1)
        return False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- requests -----------------------------------------------------------
    def virsh(self, *args, timeout=60):
        argv = ['virsh', '-q', '-c', self.uri] + list(args)
        try:
            result = subprocess.run(  # nosec: virsh with fixed verbs
                argv, capture_output=True, text=True, timeout=timeout,
                stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise HypervisorError('virsh not found; install it with: '
                                  'apt-get install libvirt-clients')
        except subprocess.TimeoutExpired:
            raise HypervisorError('%s timed out' % ' '.join(argv))
        if result.returncode:
            raise HypervisorError('%s: %s' % (
                ' '.join(argv), (result.stderr or result.stdout).strip()))
        return result.stdout

    def boot(self, image, serial_log, name=None, **devices):
        """Start a transient desktop domain; return its Desktop.

        ``devices`` are :func:`desktop_domain_xml`'s keyword arguments.
        Destroying the domain removes it; its disk stays, so booting the
        same image again is a restart of the same desktop.
        """
        for path in image:
            _check_reachable(path)
        if name is None:
            name = DOMAIN_PREFIX + os.urandom(4).hex()
        xml = desktop_domain_xml(name, image, serial_log, **devices)
        with tempfile.NamedTemporaryFile('w', suffix='.xml',
                                         dir=self.rundir) as f:
            f.write(xml)
            f.flush()
            self.virsh('create', f.name)
        desktop = Desktop(name, serial_log)
        self._desktops.append(desktop)
        return desktop

    def destroy(self, desktop):
        """Power the desktop off at once (its disk is kept)."""
        try:
            self.virsh('destroy', desktop.name)
        except HypervisorError as e:
            if 'failed to get domain' not in str(e) \
                    and 'not running' not in str(e):
                raise
        if desktop in self._desktops:
            self._desktops.remove(desktop)

    def spice_endpoint(self, desktop):
        """Where a SPICE client reaches the desktop's screen."""
        uri = self.virsh('domdisplay', '--type', 'spice', desktop.name)
        match = re.match(r'spice://([^:/]+):(\d+)', uri.strip())
        if not match:
            raise HypervisorError('%s has no SPICE display (%r)'
                                  % (desktop.name, uri))
        return SpiceEndpoint(match.group(1), int(match.group(2)))
