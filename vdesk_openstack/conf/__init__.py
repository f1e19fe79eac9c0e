"""oslo.config options of vdesk-openstack, one module per area.

Each module declares its options, ``register_opts(conf)`` and
``list_opts()``. The options of vdesk.conf (the HSS, the desktop service)
are listed by :mod:`vdesk_openstack.conf.opts`; the options that live in a
host service's own file are listed separately so each sample goes where an
operator needs it: ``[vdesk_aka]`` in keystone.conf (:mod:`.aka`),
``[vdesk_scheduler]`` in nova.conf (:mod:`.scheduler`) and the RADIUS
publisher's section in ceilometer.conf (:mod:`.metering`).
"""
