"""A publisher in a process of its own, for the kill-and-restart test.

``python -m ...publisher_child URL COUNT PREFIX`` loads the publisher from
URL through Ceilometer, publishes COUNT events, prints ``SPOOLED`` once
``publish_events`` returned (the records are on disk) and waits to be
killed. Only the marker goes to stdout: the publisher's log lines (oslo.log
writes to stdout) go to /dev/null, so they cannot come before it.
"""

import os
import sys
import time

from ceilometer import publisher
from ceilometer import service

from vdesk_openstack.tests.functional.metering import events


def main(url, count, prefix):
    marker = os.fdopen(os.dup(1), 'w')
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    conf = service.prepare_service([], [])
    pub = publisher.get_publisher(conf, url, 'ceilometer.event.publisher')
    pub.publish_events(events.charged_sessions(int(count), prefix))
    print('SPOOLED', file=marker, flush=True)
    while True:
        time.sleep(60)


if __name__ == '__main__':
    main(*sys.argv[1:4])
