"""SIM login through the operator's HLR (gsup driver) vs the embedded HSS.

Two figures, each against a baseline measured in the same run:

1. The full SIM login as a UE sees it (challenge round trip, USIM, answer
   round trip) through a Keystone whose HSS is a real osmo-hlr over GSUP,
   against the same login through the embedded sql HSS. Both Keystone
   servers belong to one deployment (same database, keys, gunicorn
   workers and threads) and differ only in ``[hss] driver``; logins are
   interleaved so machine noise hits both alike. Target: gsup median <=
   1.3 x sql median. Alongside, the challenge step for a known IMSI vs an
   unknown one (the decoy path): both cost one HLR round trip, so their
   times and body sizes should match.
2. GSUP vectors per second one Keystone worker process gets (the driver's
   pooled, thread-safe client, as many threads as a gunicorn worker has),
   against osmo-hlr's capacity measured by a pipelined client on one
   connection (requests sent ahead, answers read in order). Their ratio
   says how many Keystone workers one HLR can feed flat out.

    tox -e bench -- gsup
    python -m vdesk_openstack.tests.bench gsup
"""

import concurrent.futures
import os
import socket
import statistics
import textwrap
import time

import requests

from vdesk_openstack.aka import usim as aka_usim
from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack import hss
from vdesk_openstack.hss.gsup import ipa
from vdesk_openstack.hss.gsup import protocol
from vdesk_openstack.sandbox import aio
from vdesk_openstack.sandbox import hlr as osmo_hlr
from vdesk_openstack.sandbox import keystone
from vdesk_openstack.tests import aka_keystone

ROUNDS = 60
TARGET = 1.3
WORKER_THREADS = 4  # the sandbox's gunicorn threads per worker
RATE_SECONDS = 3.0
PIPELINE_REQUESTS = 6000
PIPELINE_WINDOW = 64
UNKNOWN_IMSI = '001019999999999'
SCOPE = {'project': {'name': keystone.SUBSCRIBER_PROJECT,
                     'domain': {'name': keystone.SUBSCRIBER_DOMAIN}}}


def _login(http, url, sub, usim):
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


def _ms(samples):
    ordered = sorted(samples)
    return (1000 * statistics.median(ordered),
            1000 * ordered[int(0.9 * (len(ordered) - 1))])


def _gsup_conf(system, hlr):
    path = os.path.join(system.workdir, 'vdesk-gsup.conf')
    with open(path, 'w') as f:
        f.write(textwrap.dedent('''\
            [hss]
            driver = gsup
            connection = sqlite:///{w}/hss.sqlite
            [hss_gsup]
            servers = {server}
            ipa_name = vdesk-bench
            timeout = 5.0
            max_connections = {threads}
            ''').format(w=system.workdir, server=hlr.gsup_server,
                        threads=WORKER_THREADS))
    return path


def compare_logins(system, hlr, gsup_conf):
    bounds = dict(challenges_per_address=1000000,
                  challenges_total=1000000)
    sql_url = aka_keystone.start_keystone(
        system.deployment, workers=2, **bounds).url + '/auth/tokens'
    gsup_url = aka_keystone.start_keystone(
        system.deployment, workers=2, vdesk_config_file=gsup_conf,
        **bounds).url + '/auth/tokens'
    sql_sub = system.provision()
    gsup_sub = aio.make_subscriber(900)
    hlr.provision(gsup_sub.imsi, gsup_sub.k, gsup_sub.opc)
    usims = {
        'sql': aka_usim.Usim(bytes.fromhex(sql_sub.k),
                             bytes.fromhex(sql_sub.opc)),
        'gsup': aka_usim.Usim(bytes.fromhex(gsup_sub.k),
                              bytes.fromhex(gsup_sub.opc))}
    http = requests.Session()
    for _ in range(5):  # user creation, caches, the pools of both
        _login(http, sql_url, sql_sub, usims['sql'])
        _login(http, gsup_url, gsup_sub, usims['gsup'])
    samples = {'sql': [], 'gsup': []}
    for i in range(ROUNDS):
        order = (('sql', sql_url, sql_sub), ('gsup', gsup_url, gsup_sub))
        for name, url, sub in (order if i % 2 else order[::-1]):
            t0 = time.perf_counter()
            _login(http, url, sub, usims[name])
            samples[name].append(time.perf_counter() - t0)
    sql_med, sql_p90 = _ms(samples['sql'])
    gsup_med, gsup_p90 = _ms(samples['gsup'])
    ratio = gsup_med / sql_med
    print('Full SIM login, %d rounds, one Keystone deployment, interleaved'
          % ROUNDS)
    print('  embedded sql HSS   median %7.2f ms   p90 %7.2f ms  (baseline)'
          % (sql_med, sql_p90))
    print('  osmo-hlr over GSUP median %7.2f ms   p90 %7.2f ms'
          % (gsup_med, gsup_p90))
    print('  ratio gsup/sql (median): %.3f   target <= %.2f: %s'
          % (ratio, TARGET, 'met' if ratio <= TARGET else 'NOT met'),
          flush=True)
    compare_challenges(gsup_url, gsup_sub.imsi)
    return ratio


def compare_challenges(url, known_imsi):
    """Challenge step for a known vs an unknown IMSI (the decoy path)."""
    http = requests.Session()
    samples = {'known': [], 'unknown': []}
    sizes = {'known': set(), 'unknown': set()}
    imsis = {'known': known_imsi, 'unknown': UNKNOWN_IMSI}
    for i in range(ROUNDS * 2):
        order = ('known', 'unknown') if i % 2 else ('unknown', 'known')
        for name in order:
            body = {'auth': {'identity': {'methods': ['aka'], 'aka': {
                'user': {'name': imsis[name]}}}, 'scope': SCOPE}}
            t0 = time.perf_counter()
            resp = http.post(url, json=body)
            samples[name].append(time.perf_counter() - t0)
            sizes[name].add(len(resp.content))
    known_med, known_p90 = _ms(samples['known'])
    unknown_med, unknown_p90 = _ms(samples['unknown'])
    print('Challenge step through osmo-hlr, %d rounds, interleaved'
          % (ROUNDS * 2))
    print('  known IMSI         median %7.2f ms   p90 %7.2f ms  body %s B'
          % (known_med, known_p90, '/'.join(map(str, sorted(
              sizes['known'])))))
    print('  unknown IMSI       median %7.2f ms   p90 %7.2f ms  body %s B'
          % (unknown_med, unknown_p90, '/'.join(map(str, sorted(
              sizes['unknown'])))))
    print('  ratio unknown/known (median): %.3f' % (unknown_med / known_med),
          flush=True)
    return unknown_med / known_med


def worker_rate(gsup_conf, imsi):
    """Vectors/s of one process's driver, WORKER_THREADS threads."""
    driver = hss.get_driver(vdesk_conf.make_vdesk_conf([gsup_conf]))
    for _ in range(WORKER_THREADS * 2):
        driver.authentication_vector(imsi)
    deadline = time.perf_counter() + RATE_SECONDS

    def run():
        count = 0
        while time.perf_counter() < deadline:
            driver.authentication_vector(imsi)
            count += 1
        return count

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(WORKER_THREADS) as pool:
        total = sum(pool.map(lambda _: run(), range(WORKER_THREADS)))
    return total / (time.perf_counter() - t0)


def pipelined_capacity(hlr, imsi):
    """SendAuthInfo answers/s of osmo-hlr, requests pipelined."""
    sock = socket.create_connection(hlr.gsup_address, timeout=10)
    reader = ipa.FrameReader()
    try:
        frames = []
        while not frames:
            frames = reader.feed(sock.recv(4096))
        sock.sendall(ipa.id_resp(ipa.parse_id_get(frames[0][1][1:]),
                                 'vdesk-bench-pipeline'))
        request = ipa.gsup_frame(protocol.send_auth_info(imsi))
        sent = answered = 0
        t0 = time.perf_counter()
        while answered < PIPELINE_REQUESTS:
            burst = min(PIPELINE_WINDOW - (sent - answered),
                        PIPELINE_REQUESTS - sent)
            if burst > 0:
                sock.sendall(request * burst)
                sent += burst
            for proto, body in reader.feed(sock.recv(65536)):
                if proto == ipa.PROTO_OSMO:
                    if not protocol.parse_sai_answer(body[1:]).ok:
                        raise RuntimeError('osmo-hlr refused a request')
                    answered += 1
        return answered / (time.perf_counter() - t0)
    finally:
        sock.close()


def main():
    hlr = osmo_hlr.OsmoHlr().start()
    system = aio.AllInOne()
    try:
        system.start()
        gsup_conf = _gsup_conf(system, hlr)
        ratio = compare_logins(system, hlr, gsup_conf)
        rate_sub = aio.make_subscriber(901)
        hlr.provision(rate_sub.imsi, rate_sub.k, rate_sub.opc)
        capacity = pipelined_capacity(hlr, rate_sub.imsi)
        per_worker = worker_rate(gsup_conf, rate_sub.imsi)
    finally:
        system.stop()
        hlr.cleanup()
    print('GSUP SendAuthInfo (1 vector) against the same osmo-hlr')
    print('  one Keystone worker (%d threads, pooled) %8.0f vectors/s'
          % (WORKER_THREADS, per_worker))
    print('  osmo-hlr capacity, pipelined client      %8.0f vectors/s  '
          '(baseline)' % capacity)
    print('  ratio worker/capacity: %.3f  (%.1f workers flat out fill '
          'one osmo-hlr)' % (per_worker / capacity, capacity / per_worker))
    print('gsup/sql login ratio %.3f, worker/HLR capacity ratio %.3f'
          % (ratio, per_worker / capacity), flush=True)


if __name__ == '__main__':
    main()
