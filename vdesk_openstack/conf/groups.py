"""Register option groups without sharing state between ConfigOpts.

``ConfigOpts.register_group`` keeps a *shallow* copy of the OptGroup it
is given, so two ConfigOpts registering the same module-level group share
its options dict -- and an override set on one shows up in the other.
Several ConfigOpts are normal here (Keystone's, vdesk.conf read inside
Keystone, Ceilometer's, tests), so each registration gets a new group.
"""

from oslo_config import cfg


def register(conf, group, opts):
    """Register ``opts`` under a fresh copy of ``group`` in ``conf``."""
    fresh = cfg.OptGroup(group.name, title=group.title, help=group.help)
    conf.register_group(fresh)
    conf.register_opts(opts, group=group.name)
