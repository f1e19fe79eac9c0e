"""Wiring of the desktop service's production objects from vdesk.conf.

The API and the engine build their :class:`DesktopManager` here, so both
talk to the same database, HSS, Nova (through openstacksdk with the
``[nova]`` service user's keystoneauth1 session), tooz backend and
charging notifier, configured the same way.
"""

from keystoneauth1 import loading as ks_loading
import openstack

from vdesk_openstack.conf import desktops as desktops_conf
from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops import compute
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import locks
from vdesk_openstack.desktops import manager
from vdesk_openstack import hss

# Nova 2.91 is the newest microversion whose server resource openstacksdk
# fully understands; consoles ask for their own microversion.
COMPUTE_API_VERSION = '2.91'


def nova_connection(conf):
    """An openstacksdk Connection as the ``[nova]`` service user."""
    group = desktops_conf.NOVA_GROUP
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    session = ks_loading.load_session_from_conf_options(conf, group,
                                                        auth=auth)
    options = conf[group]
    kwargs = {'compute_api_version': COMPUTE_API_VERSION}
    if options.endpoint_override:
        kwargs['compute_endpoint_override'] = options.endpoint_override
    if options.region_name:
        kwargs['region_name'] = options.region_name
    if options.valid_interfaces:
        kwargs['interface'] = options.valid_interfaces[0]
    return openstack.connection.Connection(session=session, **kwargs)


def build_manager(conf, connection=None, transport=None):
    """The :class:`DesktopManager` of a production process.

    ``connection`` (an openstacksdk Connection) and ``transport`` (the
    charging notification transport) may be given by a caller that has its
    own, e.g. the functional tests.
    """
    store = db_api.DesktopStore(conf)
    return manager.DesktopManager(
        conf, store, hss.get_driver(conf),
        compute.Compute(connection or nova_connection(conf), conf),
        locks.SubscriberLocks(conf),
        charging.Charging(conf, transport=transport))
