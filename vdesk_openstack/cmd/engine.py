"""``vdesk-engine``: the desktop service's background side.

    vdesk-engine --config-file vdesk.conf

Reconciles the desktop database with Nova at start and every
``[desktops] reconcile_interval`` seconds, carries sessions on (sync with
Nova, interim charging records, idle release), delivers the charging
outbox and listens to Nova's versioned notifications, until SIGTERM or
SIGINT. Without a notification driver that reaches the message bus
(``[oslo_messaging_notifications] driver = messagingv2``) it refuses to
start: charging records would have nowhere to go. Logging follows
oslo.log's options (``--log-file``, ``--debug``, ``[DEFAULT] log_*``).
"""

import signal
import sys

from oslo_log import log as logging

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops import consoles
from vdesk_openstack.desktops import engine as engine_mod
from vdesk_openstack.desktops import service

LOG = logging.getLogger(__name__)


def main(argv=None):
    conf = vdesk_conf.make_vdesk_conf(
        (), sys.argv[1:] if argv is None else argv, prog='vdesk-engine')
    logging.setup(conf, 'vdesk-engine')
    # Built exactly as the API builds it: same database, HSS, Nova user,
    # locks and charging notifier.
    try:
        manager = service.build_manager(conf)
    except consoles.NotRevocable as e:
        LOG.error('vdesk-engine cannot start: %s', e)
        sys.stderr.write('vdesk-engine: %s\n' % e)
        return 2
    try:
        engine = engine_mod.Engine(conf, manager)
    except charging.NotConfigured as e:
        LOG.error('vdesk-engine cannot start: %s', e)
        sys.stderr.write('vdesk-engine: %s\n' % e)
        manager.locks.stop()
        return 2

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
