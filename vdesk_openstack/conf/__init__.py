"""oslo.config options of vdesk-openstack, one module per area.

Each module declares its options, ``register_opts(conf)`` and
``list_opts()``. The options of vdesk.conf (the HSS, the desktop service)
are listed by :mod:`vdesk_openstack.conf.opts`; the options that live in a
host service's own file are listed separately so each sample goes where an
operator needs it: ``[vdesk_aka]`` in keystone.conf (:mod:`.aka`),
``[vdesk_scheduler]`` in nova.conf (:mod:`.scheduler`) and the RADIUS
publisher's section in ceilometer.conf (:mod:`.metering`).
"""

from oslo_config import cfg
from oslo_log import log as logging

from vdesk_openstack.conf import desktops
from vdesk_openstack.conf import hss


def make_vdesk_conf(config_files=(), args=(), prog='vdesk'):
    """Return a private ConfigOpts holding vdesk.conf's options.

    A private instance (not ``cfg.CONF``) lets vdesk.conf be read inside a
    host service -- Keystone reads it from ``[vdesk_aka] vdesk_config_file``
    -- without touching that service's own configuration.
    """
    conf = cfg.ConfigOpts()
    hss.register_opts(conf)
    desktops.register_opts(conf)
    logging.register_options(conf)
    conf(list(args), project='vdesk', prog=prog,
         default_config_files=list(config_files), validate_default_values=True)
    return conf
