"""keystoneauth1 loader of the ``v3aka`` plugin (``--os-auth-type v3aka``).

Options (``--os-<name>`` on the command line, ``OS_<NAME>`` in the
environment, keys of ``auth:`` in clouds.yaml): imsi, k, opc or op,
usim-state-file, plus the usual v3 scope options.
"""

from keystoneauth1 import exceptions
from keystoneauth1 import loading

from vdesk_openstack.client import v3aka


class V3AkaLoader(loading.BaseV3Loader):

    @property
    def plugin_class(self):
        return v3aka.V3Aka

    def get_options(self):
        options = super().get_options()
        options.extend([
            loading.Opt('imsi', required=True,
                        help='IMSI of the subscriber (the Keystone user '
                             'name)'),
            loading.Opt('k', secret=True, required=True,
                        help='Subscriber key K, 32 hex digits'),
            loading.Opt('opc', secret=True,
                        help='OPc, 32 hex digits (or give --os-op)'),
            loading.Opt('op', secret=True,
                        help='Operator variant OP, 32 hex digits; OPc is '
                             'derived from it'),
            loading.Opt('usim-state-file',
                        help='File keeping the USIM sequence-number state '
                             'between runs (replay protection)'),
        ])
        return options

    def load_from_options(self, **kwargs):
        if not kwargs.get('opc') and not kwargs.get('op'):
            raise exceptions.OptionError('v3aka needs --os-opc or --os-op')
        return super().load_from_options(**kwargs)
