"""``vdesk-sandbox``: every component on loopback, on embedded defaults.

    vdesk-sandbox [--subscribers N] [--hosts H] [--json]
    vdesk-sandbox --serve [--subscribers N] [--hosts H]

Starts the embedded HSS, a real Keystone with the ``aka`` method, Nova
(API, conductor, scheduler with our filter and weigher, Placement, H fake
computes in a desktop pool), the desktop service (API behind
keystonemiddleware, manager, engine) and charging (Ceilometer's converter,
our RADIUS publisher, FreeRADIUS when installed). Each simulated
subscriber then does what a UE does: SIM login (AKA) -> desktop login ->
wait until ACTIVE -> console -> logout; twice. Everything started is
stopped at the end. Logs go to stderr; ``--json`` prints one JSON document
on stdout.

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
import threading
import time

from vdesk_openstack.sandbox import nova as _nova  # noqa: F401 (env first)

from keystoneauth1 import session as ks_session  # noqa: E402

from vdesk_openstack.client.osc import commands  # noqa: E402
from vdesk_openstack.client.osc import http  # noqa: E402
from vdesk_openstack.client import v3aka  # noqa: E402
from vdesk_openstack.sandbox import keystone  # noqa: E402
from vdesk_openstack.sandbox import system as sandbox_system  # noqa: E402

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
    parser.add_argument('--hosts', type=_count(1, 20), default=3,
                        metavar='H', help='fake compute hosts in the desktop '
                        'pool (default 3)')
    parser.add_argument('--json', action='store_true',
                        help='print one JSON document on stdout')
    parser.add_argument('--serve', action='store_true',
                        help='keep running until SIGTERM/SIGINT')
    return parser


def _ue_session(system, sub, state_file):
    auth = v3aka.V3Aka(system.identity.url, imsi=sub.imsi, k=sub.k,
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


def _session_gone(client):
    try:
        client.session()
    except http.DesktopApiError as e:
        return e.status == 404
    return False


def run_subscriber(system, sub, hold):
    """Two logins and logouts of one subscriber, as its UE does them."""
    state_file = os.path.join(system.workdir, 'usim-%s.json' % sub.imsi)
    logins, first_host, after_logout = [], None, None
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
        host = system.nova.host_of(active['desktop_id'])
        first_host = first_host or host
        LOG.info('%s login %d: desktop %s %s on %s in %.2f s (console %s)',
                 sub.imsi, attempt + 1, active['desktop_id'],
                 'restored' if session['restored'] else 'created', host,
                 seconds, console['type'])
        logins.append({'desktop_id': active['desktop_id'],
                       'restored': bool(session['restored']),
                       'seconds': round(seconds, 3)})
        if attempt == 0:
            time.sleep(hold)  # use the desktop: an interim record is due
        client.logout()
        _wait(lambda: _session_gone(client), 300, 'the logout of %s'
              % sub.imsi)
        after_logout = _wait(
            lambda: (system.nova.server(active['desktop_id'])['status']
                     == 'SHELVED_OFFLOADED' and 'SHELVED_OFFLOADED'),
            120, 'the desktop of %s to be offloaded' % sub.imsi)
        LOG.info('%s logout %d: desktop %s', sub.imsi, attempt + 1,
                 after_logout)
    return {'imsi': sub.imsi, 'logins': logins,
            'after_logout': after_logout}, first_host


def run(args, out=sys.stdout):
    system = sandbox_system.System(args.subscribers, args.hosts)
    try:
        system.start()
        # Nova's harness took over the root logger; take it back.
        _quiet_logging()
        if args.serve:
            return serve(system, out)
        hold = sandbox_system.INTERIM_INTERVAL + 1.0
        with concurrent.futures.ThreadPoolExecutor(
                min(8, len(system.subscribers))) as pool:
            results = list(pool.map(
                lambda sub: run_subscriber(system, sub, hold),
                system.subscribers))
        system.wait_accounting()
        hosts = collections.Counter(host for _, host in results)
        report = {'subscribers': [], 'accounting_source':
                  system.accounting_source, 'hosts': dict(sorted(
                      hosts.items()))}
        for result, _ in results:
            result['accounting'] = system.accounting(result['imsi'])
            report['subscribers'].append(result)
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
        return 0
    finally:
        LOG.info('Stopping everything the sandbox started')
        system.stop()


def serve(system, out):
    info = {
        'keystone_url': system.identity.url,
        'desktop_url': system.desktop_url,
        'admin': {'username': 'admin', 'password': keystone.ADMIN_PASSWORD,
                  'project_name': 'admin', 'user_domain_name': 'Default',
                  'project_domain_name': 'Default'},
        'subscribers': [{'imsi': s.imsi, 'k': s.k, 'opc': s.opc,
                         'plan': s.plan} for s in system.subscribers],
    }
    out.write(json.dumps(info) + '\n')
    out.flush()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    LOG.info('Serving; send SIGTERM or SIGINT to stop')
    while not stop.wait(1.0):
        for server in system.identity.deployment.servers:
            if server.process.poll() is not None:
                LOG.error('Keystone exited (code %s); see %s',
                          server.process.returncode, server.log_path)
                return 1
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


def main(argv=None):
    args = build_parser().parse_args(argv)
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
