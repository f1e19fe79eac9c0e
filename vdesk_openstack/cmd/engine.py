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

from oslo_config import cfg
from oslo_log import log as logging

from vdesk_openstack.conf import desktops as desktops_conf
from vdesk_openstack.conf import hss as hss_conf
from vdesk_openstack.desktops import engine as engine_mod
from vdesk_openstack.desktops import service

LOG = logging.getLogger(__name__)


def parse_config(argv):
    conf = cfg.ConfigOpts()
    hss_conf.register_opts(conf)
    desktops_conf.register_opts(conf)
    logging.register_options(conf)
    conf(list(argv), project='vdesk', prog='vdesk-engine',
         validate_default_values=True)
    return conf


def main(argv=None):
    conf = parse_config(sys.argv[1:] if argv is None else argv)
    logging.setup(conf, 'vdesk-engine')
    manager = service.build_manager(conf)
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
