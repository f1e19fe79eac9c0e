"""``vdesk-sandbox``: every component on loopback, on embedded defaults.

    vdesk-sandbox [--subscribers N] [--json]
    vdesk-sandbox --serve [--subscribers N]

Starts the embedded HSS (sqlite) and a real Keystone with the ``aka``
method (keystone-manage on sqlite, gunicorn workers on a free loopback
port), creates the subscriber domain and project, provisions N demo
subscribers and logs each one in twice with its SIM credentials: the first
time step by step (challenge, USIM check, answer, token), the second time
through the ``v3aka`` keystoneauth1 plugin. Everything it started is
stopped at the end. Progress goes to stderr; ``--json`` prints one JSON
document on stdout.

``--serve`` keeps the components running until SIGTERM/SIGINT; its first
stdout line is one JSON object with the URLs, the admin credentials and the
subscribers' SIM credentials, so that a person or an external test can use
the running system.

The desktop service, the Nova scheduler and charging join the sandbox as
they land (contract 4.6 of the architecture).
"""

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time

from keystoneauth1 import session as ks_session
import requests

from vdesk_openstack.client import usim_store
from vdesk_openstack.client import v3aka
from vdesk_openstack.sandbox import aio
from vdesk_openstack.sandbox import keystone

LOG = logging.getLogger('vdesk-sandbox')
SCOPE = {'project': {'name': keystone.SUBSCRIBER_PROJECT,
                     'domain': {'name': keystone.SUBSCRIBER_DOMAIN}}}


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 10000:
        raise argparse.ArgumentTypeError('must be an integer from 1 to 10000')
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog='vdesk-sandbox', description=__doc__.split('\n')[0])
    parser.add_argument('--subscribers', type=_positive, default=1,
                        metavar='N', help='demo subscribers (default 1)')
    parser.add_argument('--json', action='store_true',
                        help='print one JSON document on stdout')
    parser.add_argument('--serve', action='store_true',
                        help='keep running until SIGTERM/SIGINT')
    return parser


def login_step_by_step(url, sub, state_file):
    """SIM login with every AKA step visible (secrets are not shown)."""
    usim = usim_store.UsimStore(bytes.fromhex(sub.k), bytes.fromhex(sub.opc),
                                state_file)
    tokens_url = url + '/auth/tokens'
    started = time.monotonic()
    body = {'auth': {'identity': {'methods': ['aka'],
                                  'aka': {'user': {'name': sub.imsi}}},
                     'scope': SCOPE}}
    resp = requests.post(tokens_url, json=body, timeout=60)
    challenge = resp.json()['error']['identity']['aka']
    LOG.info('  1. %s -> POST /v3/auth/tokens {aka: {user: %s}}',
             sub.imsi, sub.imsi)
    LOG.info('     <- %d challenge RAND=%s AUTN=%s', resp.status_code,
             challenge['rand'], challenge['autn'])
    answer = usim.authenticate(bytes.fromhex(challenge['rand']),
                               bytes.fromhex(challenge['autn']))
    LOG.info('  2. USIM: AUTN MAC and SQN freshness verified; RES, CK, IK '
             'computed (not shown)')
    body['auth']['identity']['aka'].update(
        context=challenge['context'], res=answer.res.hex())
    resp = requests.post(tokens_url, json=body, timeout=60)
    if resp.status_code != 201:
        raise RuntimeError('login of %s refused: %d %s'
                           % (sub.imsi, resp.status_code, resp.text))
    token = resp.json()['token']
    seconds = time.monotonic() - started
    LOG.info('  3. %s -> POST /v3/auth/tokens {aka: {context, res}}',
             sub.imsi)
    LOG.info('     <- %d token for user %s (%s) on project %s, roles %s, '
             'in %.3f s', resp.status_code, token['user']['name'],
             token['user']['id'], token['project']['name'],
             ','.join(sorted(r['name'] for r in token['roles'])), seconds)
    return {'method': 'step-by-step', 'user_id': token['user']['id'],
            'seconds': round(seconds, 3)}


def login_with_plugin(url, sub, state_file):
    started = time.monotonic()
    auth = v3aka.V3Aka(url, imsi=sub.imsi, k=sub.k, opc=sub.opc,
                       project_name=keystone.SUBSCRIBER_PROJECT,
                       project_domain_name=keystone.SUBSCRIBER_DOMAIN,
                       usim_state_file=state_file)
    ref = auth.get_access(ks_session.Session(auth=auth))
    seconds = time.monotonic() - started
    LOG.info('  v3aka plugin: token for %s (%s) in %.3f s', ref.username,
             ref.user_id, seconds)
    return {'method': 'v3aka', 'user_id': ref.user_id,
            'seconds': round(seconds, 3)}


def run(args, out=sys.stdout):
    LOG.info('Starting the embedded HSS and Keystone with the aka method')
    system = aio.AllInOne()
    try:
        system.start()
        LOG.info('Keystone at %s', system.url)
        subs = [system.provision() for _ in range(args.subscribers)]
        if args.serve:
            return serve(system, subs, out)
        report = []
        for sub in subs:
            LOG.info('Subscriber %s (plan %s)', sub.imsi, sub.plan)
            state = os.path.join(system.workdir, 'usim-%s.json' % sub.imsi)
            logins = [login_step_by_step(system.url, sub, state),
                      login_with_plugin(system.url, sub, state)]
            if logins[0]['user_id'] != logins[1]['user_id']:
                raise RuntimeError('%s got two different users' % sub.imsi)
            report.append({'imsi': sub.imsi, 'plan': sub.plan,
                           'logins': logins})
        if args.json:
            json.dump({'keystone_url': system.url, 'subscribers': report},
                      out, indent=2)
            out.write('\n')
        else:
            out.write('%d subscriber(s) logged in twice with SIM '
                      'credentials; same Keystone user each time.\n'
                      % len(report))
        return 0
    finally:
        LOG.info('Stopping everything the sandbox started')
        system.stop()


def serve(system, subs, out):
    info = {
        'keystone_url': system.url,
        'desktop_url': None,
        'admin': {'username': 'admin', 'password': keystone.ADMIN_PASSWORD,
                  'project_name': 'admin', 'user_domain_name': 'Default',
                  'project_domain_name': 'Default'},
        'subscribers': [{'imsi': s.imsi, 'k': s.k, 'opc': s.opc,
                         'plan': s.plan} for s in subs],
    }
    out.write(json.dumps(info) + '\n')
    out.flush()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    LOG.info('Serving; send SIGTERM or SIGINT to stop')
    while not stop.wait(1.0):
        for server in system.deployment.servers:
            if server.process.poll() is not None:
                LOG.error('Keystone exited (code %s); see %s',
                          server.process.returncode, server.log_path)
                return 1
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='%(asctime)s %(message)s')
    logging.getLogger('alembic').setLevel(logging.WARNING)
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        LOG.error('vdesk-sandbox failed: %s', e)
        return 1


if __name__ == '__main__':
    sys.exit(main())
