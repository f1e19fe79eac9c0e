"""Step 1 of a SIM login (the challenge) for known vs unknown IMSIs.

An unknown IMSI gets a decoy challenge; if it came back faster or slower
than a real one, timing would tell a prober which IMSIs are provisioned.
Both are requested from the same Keystone, alternating (and swapping
which goes first) so machine noise hits both alike; the figure is the
difference of the medians. Target: within 5% of the known median or 1 ms,
whichever is larger. Run on sqlite and on MariaDB like ``bench_login``:

    tox -e bench -- challenge
    VDESK_BENCH_BACKENDS=mariadb \
        python -m vdesk_openstack.tests.bench challenge
"""

import statistics
import time

import requests

from vdesk_openstack.tests.bench import bench_login

ROUNDS = 150
UNKNOWN_IMSI = '001019999999999'


def _challenge(http, url, imsi):
    body = {'auth': {'identity': {'methods': ['aka'], 'aka': {
        'user': {'name': imsi}}}, 'scope': bench_login.SCOPE}}
    t0 = time.perf_counter()
    resp = http.post(url, json=body)
    elapsed = time.perf_counter() - t0
    if resp.status_code != 401 or 'identity' not in resp.json()['error']:
        raise RuntimeError('no challenge: %s' % resp.text)
    return elapsed, len(resp.content)


def measure(backend):
    system, base_url = bench_login.start(backend)
    try:
        known = system.provision().imsi
        url = base_url + '/auth/tokens'
        http = requests.Session()
        for _ in range(5):
            _challenge(http, url, known)
            _challenge(http, url, UNKNOWN_IMSI)
        times = {known: [], UNKNOWN_IMSI: []}
        sizes = {known: set(), UNKNOWN_IMSI: set()}
        for i in range(ROUNDS):
            order = (known, UNKNOWN_IMSI) if i % 2 else (UNKNOWN_IMSI, known)
            for imsi in order:
                elapsed, size = _challenge(http, url, imsi)
                times[imsi].append(elapsed)
                sizes[imsi].add(size)
    finally:
        bench_login.stop(system)
    known_med = 1000 * statistics.median(times[known])
    unknown_med = 1000 * statistics.median(times[UNKNOWN_IMSI])
    diff = unknown_med - known_med
    allowed = max(0.05 * known_med, 1.0)
    print('Step 1 (challenge) on %s, %d rounds each, alternating'
          % (backend, ROUNDS))
    print('  known IMSI     median %6.2f ms  (baseline)  body %s bytes'
          % (known_med, '/'.join(map(str, sorted(sizes[known])))))
    print('  unknown IMSI   median %6.2f ms              body %s bytes'
          % (unknown_med, '/'.join(map(str, sorted(sizes[UNKNOWN_IMSI])))))
    print('  difference %+.2f ms (%+.1f%%)   target |diff| <= %.2f ms: %s'
          % (diff, 100 * diff / known_med, allowed,
             'met' if abs(diff) <= allowed else 'NOT met'), flush=True)
    return diff


def main():
    for backend in bench_login.backends():
        measure(backend)


if __name__ == '__main__':
    main()
