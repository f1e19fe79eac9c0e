"""Charging throughput: our radius:// publisher vs FreeRADIUS's radclient.

One FreeRADIUS (the test fixture: accounting records written to its
``detail`` file) receives the same session records twice per round: once
from ``radclient -p 64`` (FreeRADIUS's own C client, 64 requests in flight)
and once from our publisher loaded through Ceilometer's ``get_publisher``,
fed in batches of 100 events as the notification agent does with
``[notification] batch_size = 100``. Our time runs from the first
``publish_events`` call until the spool is empty (every record written to
disk, sent, acknowledged and removed), so it includes the durable spool.
Records are counted in the detail file: lost or duplicated ones are
reported. Target: our rate >= radclient's, 0 records lost.

``VDESK_BENCH_RADIUS_RECORDS`` (default 20000) and
``VDESK_BENCH_RADIUS_ROUNDS`` (default 2) size the run.
"""

import collections
import os
import shutil
import subprocess
import tempfile
import time

from vdesk_openstack.metering import records as radius_records
from vdesk_openstack.sandbox import freeradius
from vdesk_openstack.tests.functional.metering import events

SECRET = 'bench-secret'
BATCH = 100


def _radclient_file(published, path):
    with open(path, 'w') as f:
        for event in published:
            _id, attributes = radius_records.record_from_event(
                event, 'bench')
            for name, value in attributes.items():
                if isinstance(value, str) and name != 'Acct-Status-Type':
                    value = '"%s"' % value
                f.write('%s = %s\n' % (name, value))
            # radclient computes it, as our publisher does
            f.write('Message-Authenticator = 0x00\n\n')


def _count(server, prefix):
    ids = collections.Counter(
        r.get('Vdesk-Record-Id') for r in server.records()
        if r.get('Vdesk-Record-Id', '').startswith(prefix + '-'))
    return len(ids), sum(n - 1 for n in ids.values())


def _run_radclient(server, published, workdir):
    path = os.path.join(workdir, 'radclient.txt')
    _radclient_file(published, path)
    start = time.monotonic()
    result = subprocess.run(
        ['radclient', '-q', '-p', '64', '-f', path, '-d', server.config_dir,
         '127.0.0.1:%d' % server.acct_port, 'acct', SECRET],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    elapsed = time.monotonic() - start
    if result.returncode:
        print('radclient exited with %d: %s' % (
            result.returncode, result.stdout.decode()[-500:]))
    return elapsed


def _run_ours(conf, server, published, workdir):
    from ceilometer import publisher

    spool = tempfile.mkdtemp(dir=workdir)
    url = ('radius://127.0.0.1:%d?secret=%s&nas_identifier=bench&spool=%s'
           % (server.acct_port, SECRET, spool))
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
    for binary in ('freeradius', 'radclient'):
        if not shutil.which(binary) and not os.path.exists(
                '/usr/sbin/' + binary):
            print('%s is not installed (tools/test-setup.sh installs it); '
                  'skipped' % binary)
            return
    count = int(os.environ.get('VDESK_BENCH_RADIUS_RECORDS', 20000))
    rounds = int(os.environ.get('VDESK_BENCH_RADIUS_ROUNDS', 2))
    # Imported late: vdesk_openstack.tests.functional picks Nova's
    # concurrency backend first, and Nova refuses eventlet loaded before.
    from ceilometer import service
    conf = service.prepare_service([], [])
    workdir = tempfile.mkdtemp(prefix='bench-radius-')
    server = freeradius.FreeRadius(secret=SECRET, detail_only=True)
    server.setUp()
    totals = collections.defaultdict(float)
    lost = collections.Counter()
    try:
        for n in range(rounds):
            for who in ('radclient', 'ours'):
                prefix = '%s%d' % (who, n)
                published = events.charged_sessions(count, prefix)
                if who == 'radclient':
                    elapsed = _run_radclient(server, published, workdir)
                    detail = 'radclient -p 64'
                else:
                    elapsed, in_flight = _run_ours(conf, server, published,
                                                   workdir)
                    detail = 'radius:// publisher, max_in_flight %d, ' \
                             'spool fsync per %d events' % (in_flight, BATCH)
                got, dups = _count(server, prefix)
                lost[who] += count - got
                totals[who] += elapsed
                print('round %d %-9s %6d records in %6.2fs = %7.0f rec/s, '
                      'lost %d, duplicated %d  (%s)' % (
                          n + 1, who, count, elapsed, got / elapsed,
                          count - got, dups, detail), flush=True)
    finally:
        server.cleanUp()
        shutil.rmtree(workdir, ignore_errors=True)
    ours = rounds * count / totals['ours']
    theirs = rounds * count / totals['radclient']
    print('radius publisher: %.0f rec/s; radclient -p 64: %.0f rec/s; '
          'ratio %.2fx (target >= 1.0x); records lost: ours %d, '
          'radclient %d' % (ours, theirs, ours / theirs, lost['ours'],
                            lost['radclient']))
