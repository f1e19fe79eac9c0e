"""Desktop service: mapping lookups at 1,000,000 subscribers; login overhead.

1. Lookups. A MariaDB database (created and dropped here, as oslo.db's
   opportunistic tests do, with the ``openstack_citest`` user) is loaded
   with 1,000,000 desktops and as many sessions (10 % of them open) by
   multi-row INSERTs through the store's engine. Then
   ``DesktopStore.get_desktop(imsi)`` and ``get_open_session(imsi)`` are
   timed for random IMSIs, beside a baseline measured in the same run on
   the same pool: a primary-key ``SELECT 1`` round trip. Target: p99 of
   both lookups <= 5 ms.

2. Login storm. 100 subscribers log in at once (20 threads) through the
   real manager: HSS plan lookup (sqlite), tooz lock (Redis), desktop and
   session rows (the MariaDB above), charging notifier. Compute is an
   in-memory stand-in whose calls are timed anyway, so the figure is the
   service's own overhead per login: total login time minus time inside
   Compute. Nova's own cost is Nova's (see the functional scale test).
   Target: p99 <= 20 ms.

``VDESK_BENCH_DESKTOPS_SUBSCRIBERS`` changes the 1,000,000.
"""

import concurrent.futures
import datetime
import os
import random
import tempfile
import textwrap
import threading
import time
import types
import uuid

from oslo_db.sqlalchemy import provision
import sqlalchemy as sa

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops.db import models
from vdesk_openstack.desktops import locks
from vdesk_openstack.desktops import manager as manager_mod
from vdesk_openstack.desktops import states
from vdesk_openstack import hss
from vdesk_openstack.hss import api as hss_api

BATCH = 5000
LOOKUPS = 3000
STORM = 100
STORM_THREADS = 20
REDIS = 'redis://127.0.0.1:6379'
K = bytes.fromhex('465b5ce8b199b49faa5f0a2ee238a6bc')
OPC = bytes.fromhex('cd63cb71954a9f4e48a5994e37a02baf')


def _imsi(n):
    return '00101%010d' % n


def _percentiles(samples):
    ordered = sorted(samples)

    def pick(q):
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return pick(0.50) * 1e3, pick(0.99) * 1e3


def _report(name, samples, target_ms=None, baseline=None):
    p50, p99 = _percentiles(samples)
    line = '%-34s p50 %7.3f ms  p99 %7.3f ms' % (name, p50, p99)
    if baseline:
        line += '  (p99 %.1fx baseline)' % (p99 / baseline)
    if target_ms is not None:
        line += '  target p99 <= %d ms: %s' % (
            target_ms, 'met' if p99 <= target_ms else 'NOT met')
    print(line, flush=True)
    return p99


def _load(store, count):
    """Insert ``count`` desktops and sessions in multi-row batches."""
    now = db_api.utcnow()
    desktops = models.Desktop.__table__
    sessions = models.Session.__table__
    started = time.monotonic()
    with store.engine.begin() as conn:
        for first in range(0, count, BATCH):
            rows, srows = [], []
            for n in range(first, min(count, first + BATCH)):
                desktop_id = str(uuid.UUID(int=n + 1))
                rows.append({
                    'id': desktop_id, 'subscriber': _imsi(n),
                    'user_id': None, 'instance_id': str(uuid.UUID(
                        int=(1 << 64) + n)), 'plan': 'bronze',
                    'flavor_id': 'f', 'status': states.RELEASED,
                    'generation': 0, 'fault': None, 'created_at': now,
                    'updated_at': now})
                is_open = n % 10 == 0
                srows.append({
                    'id': str(uuid.UUID(int=(2 << 64) + n)),
                    'desktop_id': desktop_id, 'subscriber': _imsi(n),
                    'is_open': True if is_open else None,
                    'status': states.ACTIVE if is_open else states.ENDED,
                    'restored': True, 'rebuilt': False,
                    'capabilities': '{}', 'console_type': 'spice-html5',
                    'charging': states.CHARGING_STARTED if is_open
                    else states.CHARGING_ENDED,
                    'terminate_cause': None, 'fault': None,
                    'started_at': now, 'active_at': now, 'ended_at': None,
                    'last_seen_at': now, 'last_interim_at': None})
            conn.execute(desktops.insert(), rows)
            conn.execute(sessions.insert(), srows)
    return time.monotonic() - started


def _lookups(store, count):
    rng = random.Random(42)  # nosec: benchmark sampling, not security
    picks = [_imsi(rng.randrange(count)) for _ in range(LOOKUPS)]
    desktop_ids = [str(uuid.UUID(int=rng.randrange(count) + 1))
                   for _ in range(LOOKUPS)]
    baseline, get_desktop, get_session = [], [], []
    query = sa.text('SELECT 1 FROM desktops WHERE id = :id')
    for _ in range(200):  # warm the pool and the buffer pool's root pages
        store.get_desktop(picks[0])
    for imsi, desktop_id in zip(picks, desktop_ids):
        t = time.perf_counter()
        with store.engine.connect() as conn:
            conn.execute(query, {'id': desktop_id}).scalar()
        baseline.append(time.perf_counter() - t)
        t = time.perf_counter()
        found = store.get_desktop(imsi)
        get_desktop.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.get_open_session(imsi)
        get_session.append(time.perf_counter() - t)
        if found is None:
            raise RuntimeError('lost subscriber %s' % imsi)
    base = _report('baseline: PK SELECT 1 round trip', baseline)
    _report('get_desktop(imsi)', get_desktop, 5, _percentiles(baseline)[1])
    _report('get_open_session(imsi)', get_session, 5,
            _percentiles(baseline)[1])
    return base


class _TimedCompute(object):
    """Compute's interface, in memory; every call is timed."""

    def __init__(self):
        self.spent = threading.local()
        self._servers = {}

    def _timed(self, started):
        self.spent.value = getattr(self.spent, 'value', 0.0) + (
            time.perf_counter() - started)

    def ensure_flavor(self, plan, extra_specs, profile):
        t = time.perf_counter()
        self._timed(t)
        return 'flavor-%s' % plan.name

    def find_desktop_server(self, desktop):
        t = time.perf_counter()
        self._timed(t)
        return None

    def create_server(self, desktop, flavor_id, image_id, tier):
        t = time.perf_counter()
        server = types.SimpleNamespace(id=str(uuid.uuid4()), status='BUILD',
                                       task_state='spawning')
        self._servers[server.id] = server
        self._timed(t)
        return server.id

    def get_server(self, server_id):
        t = time.perf_counter()
        server = self._servers.get(server_id)
        self._timed(t)
        return server


def _storm(conf, store):
    driver = hss.get_driver(conf)
    driver.db_sync()
    driver.add_plan(hss_api.Plan(name='bronze', vcpus=1, ram_mb=512,
                                 disk_gb=1, priority='bronze'))
    sequential = ['00102%010d' % n for n in range(STORM)]
    storm = ['00103%010d' % n for n in range(STORM)]
    for imsi in sequential + storm:
        driver.add_subscriber(imsi, K, OPC, plan='bronze')
    compute = _TimedCompute()
    subscriber_locks = locks.SubscriberLocks(conf)
    manager = manager_mod.DesktopManager(
        conf, store, driver, compute, subscriber_locks,
        charging.Charging(conf, host='bench'))

    def login(imsi):
        compute.spent.value = 0.0
        t = time.perf_counter()
        session = manager.login(imsi, 'u', {})
        total = time.perf_counter() - t
        if session['status'] != states.BUILDING:
            raise RuntimeError('unexpected %s' % session['status'])
        return total, total - compute.spent.value

    try:
        subscriber_locks._get()  # connect to Redis before timing
        alone = [login(imsi) for imsi in sequential]
        t = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(STORM_THREADS) as pool:
            results = list(pool.map(login, storm))
        wall = time.perf_counter() - t
    finally:
        subscriber_locks.stop()
        driver.engine.dispose()
    _report('login one at a time, overhead', [r[1] for r in alone], 20)
    _report('login storm (%d threads), total' % STORM_THREADS,
            [r[0] for r in results])
    _report('login storm, service overhead', [r[1] for r in results], 20)
    print('  storm: %d first logins in %.2f s = %.0f logins/s; per login: '
          'HSS plan (sqlite), Redis lock, MariaDB rows; Compute in memory'
          % (STORM, wall, STORM / wall))


def _conf_file(tmp, url):
    path = os.path.join(tmp, 'vdesk-%s.conf' % uuid.uuid4().hex[:6])
    with open(path, 'w') as f:
        f.write(textwrap.dedent('''\
            [oslo_messaging_notifications]
            driver = noop
            [hss]
            connection = sqlite:///{tmp}/hss.sqlite
            key_file = {tmp}/hss.key
            [database]
            connection = {url}
            max_pool_size = 25
            [coordination]
            backend_url = {redis}
            [desktops]
            default_image = bench-image
            ''').format(tmp=tmp, url=url, redis=REDIS))
    return [path]


def main():
    count = int(os.environ.get('VDESK_BENCH_DESKTOPS_SUBSCRIBERS',
                               1000000))
    try:
        backend = provision.Backend.backend_for_database_type('mysql')
    except Exception as e:
        print('MariaDB not available for oslo.db provisioning (%s); '
              'skipped' % e)
        return
    name = 'vdesk_bench_%s' % uuid.uuid4().hex[:8]
    backend.create_named_database(name)
    url = backend.provisioned_database_url(name).render_as_string(
        hide_password=False)
    tmp = tempfile.mkdtemp(prefix='bench-desktops-')
    conf = vdesk_conf.make_vdesk_conf(_conf_file(tmp, url))
    store = db_api.DesktopStore(conf)
    try:
        store.db_sync()
        elapsed = _load(store, count)
        print('loaded %d desktops + %d sessions into MariaDB in %.0f s'
              % (count, count, elapsed), flush=True)
        _lookups(store, count)
        _storm(conf, store)
    finally:
        store.engine.dispose()
        backend.drop_named_database(name, conditional=True)
    print('(%s)' % datetime.datetime.now().isoformat(timespec='seconds'))
