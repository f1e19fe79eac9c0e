"""OSC plugin registration of the desktop service (``openstack desktop``).

The endpoint is the catalog's ``desktop`` service, or ``--os-desktop-url``
(``OS_DESKTOP_URL``) when the cloud does not list it.
"""

from osc_lib import utils

from vdesk_openstack.client.osc import http

DEFAULT_API_VERSION = '1'
API_VERSION_OPTION = 'os_desktop_api_version'
API_NAME = 'desktop'
API_VERSIONS = {'1': 'vdesk_openstack.client.osc.http.DesktopClient'}


def make_client(instance):
    instance.setup_auth()
    # --os-desktop-url lands in the cloud config as "desktop_url".
    config = getattr(instance._cli_options, 'config', None) or {}
    return http.DesktopClient(
        instance.session, endpoint_override=config.get('desktop_url'),
        interface=instance.interface, region_name=instance.region_name)


def build_option_parser(parser):
    parser.add_argument(
        '--os-desktop-api-version', metavar='<desktop-api-version>',
        default=utils.env('OS_DESKTOP_API_VERSION',
                          default=DEFAULT_API_VERSION),
        help='Desktop API version, default=%s (Env: '
             'OS_DESKTOP_API_VERSION)' % DEFAULT_API_VERSION)
    parser.add_argument(
        '--os-desktop-url', metavar='<url>',
        default=utils.env('OS_DESKTOP_URL'),
        help='Desktop service endpoint, when the catalog has none '
             '(Env: OS_DESKTOP_URL)')
    return parser
