"""``vdesk-engine``: the desktop service's background side.

    vdesk-engine --config-file vdesk.conf

Reconciles the desktop database with Nova at start and every
``[desktops] reconcile_interval`` seconds, carries sessions on (sync with
Nova, interim charging records, idle release) and listens to Nova's
versioned notifications, until SIGTERM or SIGINT. Logging follows
oslo.log's options (``--log-file``, ``--debug``, ``[DEFAULT] log_*``).
"""

import signal
import sys

from oslo_log import log as logging

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.desktops.api import wsgi
from vdesk_openstack.desktops import engine as engine_mod

LOG = logging.getLogger(__name__)


def main(argv=None):
    conf = vdesk_conf.make_vdesk_conf(
        (), sys.argv[1:] if argv is None else argv, prog='vdesk-engine')
    logging.setup(conf, 'vdesk-engine')
    # Built exactly as the API builds it: same database, HSS, Nova user,
    # locks and charging notifier.
    manager = wsgi.build_manager(conf)
    engine = engine_mod.Engine(conf, manager)

    def _stop(signum, frame):
        # Only flag it here: stopping joins threads, done below.
        LOG.info('Signal %d: stopping', signum)
        engine.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    engine.start()
    LOG.info('vdesk-engine running (reconcile every %ss, tick %ss)',
             conf.desktops.reconcile_interval, engine.tick)
    engine.wait()
    engine.stop()
    manager.locks.stop()
    LOG.info('vdesk-engine stopped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
