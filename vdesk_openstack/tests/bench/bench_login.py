"""SIM (AKA) login vs password login on the same real Keystone.

Both logins run against one Keystone (gunicorn workers, Keystone's
in-process cache on, as a production Keystone would have memcached) in the
same run, interleaved so machine noise hits both alike. The AKA figure is
the full login as a UE sees it: challenge round trip (rate bounds counted,
challenge stored), USIM computation and answer round trip. The password
login's cost is dominated by bcrypt, which AKA does not need.

Measured twice: Keystone and the HSS on sqlite (the sandbox), then both on
MariaDB (production). Target: AKA median <= 0.15 x password median on each.

    tox -e bench -- login
    VDESK_BENCH_BACKENDS=sqlite python -m vdesk_openstack.tests.bench login
"""

import os
import statistics
import time

import requests

from vdesk_openstack.aka import usim as aka_usim
from vdesk_openstack.sandbox import keystone
from vdesk_openstack.tests import aka_keystone

ROUNDS = 40
TARGET = 0.15
BACKENDS = ('sqlite', 'mariadb')
PASSWORD = 'bench-password-1'  # nosec: throwaway loopback user
SCOPE = {'project': {'name': keystone.SUBSCRIBER_PROJECT,
                     'domain': {'name': keystone.SUBSCRIBER_DOMAIN}}}


def _password_user(system):
    admin = system.deployment.admin_session(system.url)
    url = system.url
    domain = admin.get(url + '/domains', params={
        'name': keystone.SUBSCRIBER_DOMAIN}).json()['domains'][0]['id']
    user = admin.post(url + '/users', json={'user': {
        'name': 'bench-password-user', 'password': PASSWORD,
        'domain_id': domain}}).json()['user']
    project = admin.get(url + '/projects', params={
        'name': keystone.SUBSCRIBER_PROJECT}).json()['projects'][0]['id']
    role = admin.get(url + '/roles', params={
        'name': 'member'}).json()['roles'][0]['id']
    admin.put(url + '/projects/%s/users/%s/roles/%s'
              % (project, user['id'], role))
    return {'auth': {'identity': {'methods': ['password'], 'password': {
        'user': {'id': user['id'], 'password': PASSWORD}}}, 'scope': SCOPE}}


def _aka_login(http, url, sub, usim):
    body = {'auth': {'identity': {'methods': ['aka'], 'aka': {
        'user': {'name': sub.imsi}}}, 'scope': SCOPE}}
    challenge = http.post(url, json=body).json()['error']['identity']['aka']
    answer = usim.authenticate(bytes.fromhex(challenge['rand']),
                               bytes.fromhex(challenge['autn']))
    body['auth']['identity']['aka'].update(context=challenge['context'],
                                           res=answer.res.hex())
    resp = http.post(url, json=body)
    if resp.status_code != 201:
        raise RuntimeError('AKA login failed: %s' % resp.text)


def _password_login(http, url, body):
    resp = http.post(url, json=body)
    if resp.status_code != 201:
        raise RuntimeError('password login failed: %s' % resp.text)


def _ms(samples):
    ordered = sorted(samples)
    return (1000 * statistics.median(ordered),
            1000 * ordered[int(0.9 * (len(ordered) - 1))])


def start(backend):
    """The sandbox on ``backend`` and the URL of its benchmark Keystone.

    That Keystone counts the rate bounds on every challenge, as in
    production, with bounds the benchmark never reaches.
    """
    system = aka_keystone.all_in_one(backend)
    try:
        system.start()
        server = aka_keystone.start_keystone(
            system.deployment, workers=2, challenges_per_address=1000000,
            challenges_total=1000000)
    except BaseException:
        stop(system)
        raise
    return system, server.url


def stop(system):
    system.stop()
    aka_keystone.drop_databases(system)


def measure(backend):
    system, base_url = start(backend)
    try:
        system.url = base_url
        sub = system.provision()
        usim = aka_usim.Usim(bytes.fromhex(sub.k), bytes.fromhex(sub.opc))
        password_body = _password_user(system)
        url = base_url + '/auth/tokens'
        http = requests.Session()
        # Warm both paths (user creation, caches) before measuring.
        for _ in range(3):
            _aka_login(http, url, sub, usim)
            _password_login(http, url, password_body)
        aka, password = [], []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            _aka_login(http, url, sub, usim)
            t1 = time.perf_counter()
            _password_login(http, url, password_body)
            t2 = time.perf_counter()
            aka.append(t1 - t0)
            password.append(t2 - t1)
    finally:
        stop(system)
    aka_med, aka_p90 = _ms(aka)
    pw_med, pw_p90 = _ms(password)
    print('Keystone + HSS on %s, %d rounds, same Keystone, interleaved'
          % (backend, ROUNDS))
    print('  password login   median %7.1f ms   p90 %7.1f ms  (baseline)'
          % (pw_med, pw_p90))
    print('  AKA login (2 RT) median %7.1f ms   p90 %7.1f ms'
          % (aka_med, aka_p90))
    ratio = aka_med / pw_med
    print('  ratio AKA/password (median): %.3f   target <= %.2f: %s'
          % (ratio, TARGET, 'met' if ratio <= TARGET else 'NOT met'),
          flush=True)
    return ratio


def backends():
    """``VDESK_BENCH_BACKENDS`` (comma-separated), both by default."""
    wanted = os.environ.get('VDESK_BENCH_BACKENDS')
    return tuple(wanted.split(',')) if wanted else BACKENDS


def main():
    ratios = {backend: measure(backend) for backend in backends()}
    print('AKA/password login ratios: %s' % ', '.join(
        '%s %.3f' % item for item in ratios.items()))


if __name__ == '__main__':
    main()
