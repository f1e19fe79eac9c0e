"""``vdesk-sandbox``: every component on loopback, on embedded defaults.

    vdesk-sandbox [--cloud fake|libvirt] [--subscribers N] [--hosts H] [--json]
    vdesk-sandbox --serve [--cloud fake|libvirt] [--subscribers N]

``--cloud libvirt`` runs a real cloud (:mod:`vdesk_openstack.sandbox.cloud`):
Keystone with the ``aka`` method, Placement, Glance, the Neutron API, Nova's
services with nova-compute on libvirt/QEMU, Ceilometer's notification agent
with our RADIUS publisher, FreeRADIUS, vdesk-api under uwsgi and
vdesk-engine, each in its own process over the machine's MariaDB and
RabbitMQ; desktops are real guests built from Debian packages.

``--cloud fake`` (the default) starts the same desktop service over
Nova's in-process harness with H fake computes: fast, for tests
(:mod:`vdesk_openstack.sandbox.system`).

Each simulated subscriber then does what a UE does: SIM login (AKA) ->
desktop login -> wait until ACTIVE -> console -> logout; twice. Everything
started is stopped at the end, on errors and on SIGTERM/SIGINT. Logs go to
stderr; ``--json`` prints one JSON document on stdout.

``--serve`` keeps everything running until SIGTERM/SIGINT; its first
stdout line is one JSON object with the URLs, the admin credentials and
the subscribers' SIM credentials.
"""

import argparse
import collections
import concurrent.futures
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time

from keystoneauth1 import session as ks_session

from vdesk_openstack.client.osc import commands
from vdesk_openstack.client.osc import http
from vdesk_openstack.client import v3aka
from vdesk_openstack.sandbox import keystone
from vdesk_openstack.sandbox import private

LOG = logging.getLogger('vdesk-sandbox')

# The simulated UE: a native SPICE client redirecting everything it has.
CAPABILITIES = {'client': 'native',
                'display': {'protocol': 'spice', 'monitors': 1},
                'audio_out': True, 'audio_in': True, 'usb': True,
                'smartcard': True}


def _count(low, high):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                'must be an integer from %d to %d' % (low, high))
        return value
    return parse


def build_parser():
    parser = argparse.ArgumentParser(
        prog='vdesk-sandbox',
        description='Run every vdesk component on loopback.')
    parser.add_argument('--subscribers', type=_count(1, 200), default=3,
                        metavar='N', help='simulated subscribers (default 3)')
    parser.add_argument('--cloud', choices=('fake', 'libvirt'),
                        default='fake',
                        help='fake: Nova\'s in-process harness with fake '
                        'computes (fast; the default); libvirt: a real '
                        'cloud, every service in its own process, desktops '
                        'booted by libvirt/QEMU (needs root and '
                        'tools/test-setup.sh)')
    parser.add_argument('--hosts', type=_count(1, 20), default=3,
                        metavar='H', help='fake compute hosts in the desktop '
                        'pool (default 3; --cloud fake only)')
    parser.add_argument('--hss', choices=('sql', 'gsup'), default='sql',
                        help='sql: the embedded HSS keeps the SIM secrets '
                        '(default); gsup: an osmo-hlr started by the sandbox '
                        'keeps them and Keystone asks it over GSUP '
                        '(--cloud libvirt)')
    parser.add_argument('--charging', choices=('radius', 'diameter'),
                        default='radius',
                        help='radius: RADIUS accounting to FreeRADIUS '
                        '(default); diameter: Diameter Rf to a freeDiameter '
                        'charging data function writing into PostgreSQL '
                        '(--cloud libvirt)')
    parser.add_argument('--database-url', metavar='URL',
                        default='mysql+pymysql://root@127.0.0.1',
                        help='MariaDB server of the real cloud, without a '
                        'database name (--cloud libvirt; default %(default)s)')
    parser.add_argument('--transport-url', metavar='URL',
                        default='rabbit://guest:guest@127.0.0.1:5672/',
                        help='RabbitMQ of the real cloud; a vhost of its own '
                        'is made for each run when rabbitmqctl is at hand '
                        '(--cloud libvirt; default %(default)s)')
    parser.add_argument('--json', action='store_true',
                        help='print one JSON document on stdout')
    parser.add_argument('--serve', action='store_true',
                        help='keep running until SIGTERM/SIGINT')
    return parser


def _ue_session(system, sub, state_file):
    auth = v3aka.V3Aka(system.keystone_url, imsi=sub.imsi, k=sub.k,
                       opc=sub.opc, project_name=keystone.SUBSCRIBER_PROJECT,
                       project_domain_name=keystone.SUBSCRIBER_DOMAIN,
                       usim_state_file=state_file,
                       capabilities=CAPABILITIES)
    return ks_session.Session(auth=auth)


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError('timed out waiting for %s' % what)
        time.sleep(0.2)


def missing_stops(system, logouts=2):
    """{imsi: number of Stop records the accounting server lacks}."""
    missing = {}
    for sub in system.subscribers:
        lacking = logouts - system.accounting(sub.imsi).count('Stop')
        if lacking > 0:
            missing[sub.imsi] = lacking
    return missing


def _wait_for_stops(system, timeout):
    """Wait until every logout's Stop reached the server; say what did not.

    The report is read from the accounting server, so printing it before
    the last Stop arrived would show sessions that never ended.
    """
    deadline = time.monotonic() + timeout
    while True:
        missing = missing_stops(system)
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.2)


def run_subscriber(system, sub, hold):
    """Two logins and logouts of one subscriber, as its UE does them."""
    state_file = os.path.join(system.workdir, 'usim-%s.json' % sub.imsi)
    logins, first_host, after_logout, last_boot = [], None, None, 0
    for attempt in range(2):
        started = time.monotonic()
        sim = _ue_session(system, sub, state_file)
        sim.get_token()
        client = http.DesktopClient(sim)
        session = client.login(CAPABILITIES)
        active = commands.wait_active(client, timeout=300, out=None,
                                      interval=0.1)
        seconds = time.monotonic() - started
        console = client.console()
        host = system.host_of(active['desktop_id'])
        first_host = first_host or host
        login = {'desktop_id': active['desktop_id'],
                 'restored': bool(session['restored']),
                 'seconds': round(seconds, 3)}
        if system.real_guests:
            # The guest's own word that it booted from its disk.
            login['boot'] = _wait(
                lambda: system.boot_count(active['desktop_id'],
                                          after=last_boot),
                180, 'the boot line of the desktop of %s' % sub.imsi)
            login['boot_seconds'] = round(time.monotonic() - started, 3)
            last_boot = login['boot']
        LOG.info('%s login %d: desktop %s %s on %s in %.2f s (console %s)%s',
                 sub.imsi, attempt + 1, active['desktop_id'],
                 'restored' if session['restored'] else 'created', host,
                 seconds, console['type'],
                 ', guest boot=%d' % login['boot'] if 'boot' in login
                 else '')
        logins.append(login)
        if attempt == 0:
            time.sleep(hold)  # use the desktop: an interim record is due
        client.logout()
        _wait(lambda: not client.has_session(), 300, 'the logout of %s'
              % sub.imsi)
        after_logout = _wait(
            lambda: (system.server(active['desktop_id'])['status']
                     == 'SHELVED_OFFLOADED' and 'SHELVED_OFFLOADED'),
            120, 'the desktop of %s to be offloaded' % sub.imsi)
        LOG.info('%s logout %d: desktop %s', sub.imsi, attempt + 1,
                 after_logout)
    return {'imsi': sub.imsi, 'logins': logins,
            'after_logout': after_logout}, first_host


def make_system(args):
    if args.cloud == 'libvirt':
        from vdesk_openstack.sandbox import cloud
        return cloud.Cloud(args.subscribers, database_url=args.database_url,
                           transport_url=args.transport_url, hss=args.hss,
                           charging=args.charging)
    if args.hss != 'sql' or args.charging != 'radius':
        raise SystemExit('vdesk-sandbox: --hss gsup and --charging diameter '
                         'run on the real cloud: add --cloud libvirt')
    # Nova's harness sets its environment up (native threads, no eventlet)
    # before anything imports Nova or eventlet.
    from vdesk_openstack.sandbox import nova  # noqa: F401
    from vdesk_openstack.sandbox import system as sandbox_system
    return sandbox_system.System(args.subscribers, args.hosts)


def run(args, out=sys.stdout):
    system = make_system(args)
    # Importing Nova's harness may have pointed logging at stdout.
    _quiet_logging()
    stopping = _stop_on_signals()
    try:
        system.start()
        # Nova's harness took over the root logger; take it back.
        _quiet_logging()
        for phase, seconds in getattr(system, 'timings', {}).items():
            LOG.info('start-up: %-28s %6.1f s', phase, seconds)
        if args.serve:
            return serve(system, out, stopping)
        hold = system.interim_interval + 1.0
        pool = concurrent.futures.ThreadPoolExecutor(
            min(8, len(system.subscribers)))
        try:
            results = list(pool.map(
                lambda sub: run_subscriber(system, sub, hold),
                system.subscribers))
        finally:
            # On Ctrl-C, stop now: the subscribers' calls fail once the
            # services are gone.
            pool.shutdown(wait=False, cancel_futures=True)
        system.wait_accounting()
        pending = _wait_for_stops(system, 60)
        hosts = collections.Counter(host for _, host in results)
        report = {'cloud': args.cloud, 'subscribers': [],
                  'accounting_source': system.accounting_source,
                  'hosts': dict(sorted(hosts.items()))}
        if getattr(system, 'timings', None):
            report['startup_seconds'] = dict(system.timings)
        for result, _ in results:
            result['accounting'] = system.accounting(result['imsi'])
            report['subscribers'].append(result)
        if pending:
            # Said, not hidden: these records are still in the outbox or
            # the publisher's spool and will be resent, but the report
            # cannot show them as received.
            report['accounting_pending'] = pending
            LOG.error('Stop records not yet at the accounting server '
                      '(still spooled) for: %s',
                      ', '.join('%s (%d missing)' % item
                                for item in sorted(pending.items())))
        if args.json:
            json.dump(report, out, indent=2)
            out.write('\n')
        else:
            for sub in report['subscribers']:
                out.write('%s: desktop %s, logins %s, after logout %s, '
                          'accounting %s\n' % (
                              sub['imsi'], sub['logins'][0]['desktop_id'],
                              ', '.join('%.2fs%s' % (
                                  login['seconds'],
                                  ' (restored)' if login['restored'] else '')
                                  for login in sub['logins']),
                              sub['after_logout'],
                              ' '.join(sub['accounting'])))
            out.write('hosts: %s; accounting from %s\n' % (
                report['hosts'], report['accounting_source']))
            if pending:
                out.write('Stop records still spooled: %s\n' % ', '.join(
                    sorted(pending)))
        return 1 if pending else 0
    finally:
        LOG.info('Stopping everything the sandbox started')
        system.stop()


def _stop_on_signals():
    """SIGTERM and SIGINT stop the run: everything started is stopped."""
    stopping = threading.Event()

    def handler(signum, frame):
        if stopping.is_set():
            return
        stopping.set()
        raise KeyboardInterrupt()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)
    return stopping


def serve(system, out, stopping):
    out.write(json.dumps(system.serve_info()) + '\n')
    out.flush()
    LOG.info('Serving; send SIGTERM or SIGINT to stop')
    try:
        while not stopping.wait(1.0):
            problem = system.check()
            if problem:
                LOG.error('%s', problem)
                return 1
    except KeyboardInterrupt:
        pass
    return 0


def _quiet_logging():
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='%(asctime)s %(name)s %(message)s',
                        force=True)
    for name in ('alembic', 'nova', 'placement', 'oslo', 'keystonemiddleware',
                 'stevedore', 'ceilometer', 'vdesk_openstack.metering',
                 'oslo_db', 'oslo_messaging', 'urllib3', 'keystoneauth',
                 'openstack'):
        logging.getLogger(name).setLevel(logging.WARNING)


def _same_stream(fd1, fd2):
    try:
        a, b = os.fstat(fd1), os.fstat(fd2)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _keep_stdout_for_json():
    """Send stderr to a log file when it is the same stream as stdout.

    tox 3 runs commands with stderr merged into stdout; the JSON document
    must stay alone there. Returns the log file's path, or None.
    """
    if not _same_stream(1, 2) or os.isatty(1):
        return None
    # The log names the cloud's URLs and users; in a shared /tmp, a
    # predictable name could be a planted link: a private directory, and
    # never through a link.
    path = os.environ.get('VDESK_SANDBOX_LOG') or os.path.join(
        tempfile.mkdtemp(prefix='vdesk-sandbox-log-'), 'sandbox.log')
    fd = private.open_fd(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stderr = os.fdopen(2, 'w', buffering=1)
    return path


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.json or args.serve:
        _keep_stdout_for_json()
    _quiet_logging()
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        LOG.exception('vdesk-sandbox failed: %s', e)
        return 1


if __name__ == '__main__':
    sys.exit(main())
