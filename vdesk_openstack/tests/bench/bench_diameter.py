"""Charging throughput over Diameter Rf: our publisher vs python-diameter.

One CDF (:mod:`vdesk_openstack.sandbox.cdf`: freeDiameter + app_acct, a
row in PostgreSQL per ACR) receives the same session records twice per
round: once from a pipelined python-diameter client (its ``Node`` with a
``SimpleThreadingApplication``: ``PIPELINE`` threads calling
``send_request`` at once on the one connection) and once from our
``diameter://`` publisher loaded through Ceilometer's ``get_publisher``,
fed in batches of 100 events as the notification agent does. Our time runs
from the first ``publish_events`` call until the spool is empty (every
record numbered, written to disk, sent, answered with 2001 and removed), so
it includes the durable spool. Records are counted in the CDF's table
(key Session-Id + Accounting-Record-Number): lost or duplicated ones are
reported. Target: our rate >= the python-diameter client's, 0 lost.

``VDESK_BENCH_DIAMETER_RECORDS`` (default 6000) and
``VDESK_BENCH_DIAMETER_ROUNDS`` (default 2) size the run.
"""

import collections
import concurrent.futures
import logging
import os
import shutil
import struct
import tempfile
import time

from vdesk_openstack.metering import diameter_records as drec
from vdesk_openstack.sandbox import cdf as cdf_mod
from vdesk_openstack.tests.functional.metering import events

BATCH = 100
PIPELINE = 64


def _count(cdf, prefix):
    keys = collections.Counter(
        (r['Session-Id'], r['Accounting-Record-Number'])
        for r in cdf.records() if (';%s-' % prefix) in r['Session-Id'])
    return len(keys), sum(n - 1 for n in keys.values())


def _acrs(published, origin_host, realm):
    """The ACRs our publisher sends, as python-diameter messages."""
    from diameter.message import Message

    messages = []
    for event in published:
        _id, avps = drec.record_from_event(event, origin_host, 300)
        body = drec.encode_avps({
            'Session-Id': avps.pop('Session-Id'),
            'Origin-Host': origin_host, 'Origin-Realm': realm,
            'Destination-Realm': realm}) + drec.encode_avps(avps)
        header = struct.pack('!IIIII', (1 << 24) | (20 + len(body)),
                             (0xc0 << 24) | 271, 3, 0, 0)
        messages.append(Message.from_bytes(header + body))
    return messages


def _run_python_diameter(cdf, published):
    from diameter.message import constants as dc
    from diameter.node import application
    from diameter.node import Node

    # its INFO log line per message would slow it down
    logging.getLogger('diameter').setLevel(logging.WARNING)
    origin_host = 'pydiameter.vdesk.test'
    messages = _acrs(published, origin_host, cdf.realm)
    node = Node(origin_host, 'vdesk.test')
    uri = 'aaa://%s:%d;transport=tcp' % (cdf.identity, cdf.port)
    peer = node.add_peer(uri, cdf.realm, ip_addresses=['127.0.0.1'],
                         is_persistent=True)
    app = application.SimpleThreadingApplication(
        dc.APP_DIAMETER_BASE_ACCOUNTING, is_acct_application=True)
    node.add_application(app, [peer])
    node.start()
    try:
        app.wait_for_ready(30)
        failed = 0
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(PIPELINE) as pool:
            for answer in pool.map(lambda m: app.send_request(m, 60),
                                   messages):
                if answer.result_code != dc.E_RESULT_CODE_DIAMETER_SUCCESS:
                    failed += 1
        elapsed = time.monotonic() - start
    finally:
        node.stop()
    if failed:
        print('python-diameter: %d answer(s) without 2001' % failed)
    return elapsed


def _run_ours(conf, cdf, published, workdir):
    from ceilometer import publisher

    spool = tempfile.mkdtemp(dir=workdir)
    url = ('diameter://127.0.0.1:%d?origin_host=ours.vdesk.test&'
           'origin_realm=vdesk.test&destination_realm=%s&spool=%s'
           % (cdf.port, cdf.realm, spool))
    pub = publisher.get_publisher(conf, url, 'ceilometer.event.publisher')
    try:
        start = time.monotonic()
        for i in range(0, len(published), BATCH):
            pub.publish_events(published[i:i + BATCH])
        delivered = pub.client.wait_idle(600)
        elapsed = time.monotonic() - start
        if not delivered:
            print('publisher: %d records still spooled'
                  % pub.spool.pending_count())
        return elapsed, pub.client.max_in_flight
    finally:
        pub.close()


def main():
    if not shutil.which('freeDiameterd') or not os.path.exists(
            cdf_mod.APP_ACCT):
        print('freeDiameter with app_acct is not installed '
              '(tools/setup-freediameter.sh); skipped')
        return
    count = int(os.environ.get('VDESK_BENCH_DIAMETER_RECORDS', 6000))
    rounds = int(os.environ.get('VDESK_BENCH_DIAMETER_ROUNDS', 2))
    from ceilometer import service
    conf = service.prepare_service([], [])
    workdir = tempfile.mkdtemp(prefix='bench-diameter-')
    cdf = cdf_mod.ChargingDataFunction()
    cdf.setUp()
    totals = collections.defaultdict(float)
    lost = collections.Counter()
    try:
        for n in range(rounds):
            for who in ('python-diameter', 'ours'):
                prefix = '%s%d' % (who.replace('-', ''), n)
                published = events.charged_sessions(count, prefix)
                if who == 'ours':
                    elapsed, in_flight = _run_ours(conf, cdf, published,
                                                   workdir)
                    detail = ('diameter:// publisher, max_in_flight %d, '
                              'spool fsync per %d events'
                              % (in_flight, BATCH))
                else:
                    elapsed = _run_python_diameter(cdf, published)
                    detail = 'python-diameter Node, %d requests in ' \
                             'flight' % PIPELINE
                got, dups = _count(cdf, prefix)
                lost[who] += count - got
                totals[who] += elapsed
                print('round %d %-15s %6d records in %6.2fs = %6.0f rec/s, '
                      'lost %d, duplicated %d  (%s)' % (
                          n + 1, who, count, elapsed, got / elapsed,
                          count - got, dups, detail), flush=True)
    finally:
        cdf.cleanUp()
        shutil.rmtree(workdir, ignore_errors=True)
    ours = rounds * count / totals['ours']
    theirs = rounds * count / totals['python-diameter']
    print('diameter publisher: %.0f rec/s; python-diameter client: %.0f '
          'rec/s; ratio %.2fx (target >= 1.0x); records lost: ours %d, '
          'python-diameter %d' % (ours, theirs, ours / theirs, lost['ours'],
                                  lost['python-diameter']))
