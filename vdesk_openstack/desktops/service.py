"""Wiring of the desktop service: the production :class:`DesktopManager`.

vdesk-api and vdesk-engine both build their manager here from vdesk.conf:
Nova through the ``[nova]`` service user, the desktop database, the HSS
driver and the subscriber locks.
"""

from keystoneauth1 import loading as ks_loading
import openstack

from vdesk_openstack.desktops import compute
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import locks
from vdesk_openstack.desktops import manager
from vdesk_openstack import hss

# The compute API version the desktop service speaks by default (calls
# that need more, such as spice-direct consoles, ask for it themselves).
COMPUTE_API_VERSION = '2.91'


def build_manager(conf, consoles=True):
    """The production DesktopManager: Nova through the [nova] user.

    ``consoles``: the manager hands out consoles (vdesk-api), so how they
    reach desktops is logged; vdesk-manage hands out none.
    """
    auth = ks_loading.load_auth_from_conf_options(conf, 'nova')
    session = ks_loading.load_session_from_conf_options(conf, 'nova',
                                                        auth=auth)
    nova = conf.nova
    options = {'compute_api_version': COMPUTE_API_VERSION}
    if nova.region_name:
        options['region_name'] = nova.region_name
    if nova.valid_interfaces:
        options['interface'] = nova.valid_interfaces[0]
    if nova.endpoint_override:
        options['compute_endpoint_override'] = nova.endpoint_override
    connection = openstack.connection.Connection(session=session, **options)
    if consoles:
        compute.warn_about_spice_path(conf)
    return manager.DesktopManager(
        conf, db_api.DesktopStore(conf), hss.get_driver(conf),
        compute.Compute(connection, conf), locks.SubscriberLocks(conf))
