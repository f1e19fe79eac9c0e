"""List the options of vdesk.conf for oslo-config-generator."""

from vdesk_openstack.conf import desktops
from vdesk_openstack.conf import hss


def list_opts():
    return hss.list_opts() + desktops.list_opts()
