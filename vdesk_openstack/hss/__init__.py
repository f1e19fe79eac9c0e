"""The Home Subscriber Server (HSS): subscribers, their SIM secrets and plans.

The HSS is the authentication and subscription entity of the design. Its
driver API (:mod:`vdesk_openstack.hss.api`) hands out authentication vectors,
resynchronises a subscriber's sequence number from an AUTS and returns the
subscriber's plan. The embedded ``sql`` driver keeps everything in a SQL
database; a Diameter driver for an operator's real HSS can implement the same
API later.
"""

from stevedore import driver as stevedore_driver

DRIVER_NAMESPACE = 'vdesk_openstack.hss.driver'


def get_driver(conf):
    """Load the HSS driver named by ``[hss] driver``, configured by conf."""
    manager = stevedore_driver.DriverManager(
        DRIVER_NAMESPACE, conf.hss.driver, invoke_on_load=True,
        invoke_args=(conf,))
    return manager.driver
