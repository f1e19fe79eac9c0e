"""Options of the desktop service in vdesk.conf.

``[desktops]`` shapes desktops and sessions, ``[nova]`` holds the service
user that drives Nova (keystoneauth1 options), ``[coordination]`` the tooz
backend that serialises a subscriber's concurrent logins across API
workers and hosts, ``[charging]`` the interim accounting interval and the
delivery of the charging outbox, ``[vdesk_aka]`` who is a subscriber. The
service's own database is oslo.db's ``[database]`` section.
"""

import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_db import options as db_options

from vdesk_openstack.conf import groups

DEFAULT_DATABASE = 'sqlite:////var/lib/vdesk/desktops.sqlite'

desktops_group = cfg.OptGroup(
    'desktops', title='Subscriber desktops',
    help='How the desktop service maps each subscriber to one persistent '
         'Nova instance.')

desktops_opts = [
    cfg.StrOpt('flavor_prefix', default='vdesk-',
               help='Prefix of the flavors the service finds or creates '
                    'for each (plan, tier, virtual device profile), e.g. '
                    '"vdesk-gold.gold-a1b2c3d4".'),
    cfg.StrOpt('default_image',
               help='Glance image (ID) of a new desktop when the '
                    'subscriber\'s plan names none.'),
    cfg.StrOpt('network', default='none',
               help='Network of new desktops: a Neutron network ID, '
                    '"auto" (Nova allocates one) or "none".'),
    cfg.IntOpt('idle_timeout', default=3600, min=0,
               help='Seconds after the subscriber\'s last request after '
                    'which an open session is released (shelve + '
                    'offload). 0 disables idle release.'),
    cfg.IntOpt('prewarm_timeout', default=60, min=0,
               help='Seconds a desktop pre-warmed after a SIM login may '
                    'wait for its subscriber\'s desktop request before it '
                    'is released again. Nothing is charged meanwhile, so '
                    'keep it short: a device asks for its desktop seconds '
                    'after its SIM login. 0 disables the release (not '
                    'recommended).'),
    cfg.IntOpt('prewarm_max_unclaimed', default=3, min=0,
               help='Most pre-warms of one subscriber that may be released '
                    'unclaimed (no desktop request followed) within '
                    'prewarm_window; past it, the subscriber\'s SIM logins '
                    'pre-warm nothing until the window has passed. Bounds '
                    'the uncharged running time that repeated SIM logins '
                    'can get. 0 disables pre-warm.'),
    cfg.IntOpt('prewarm_window', default=86400, min=1,
               help='Seconds of the window over which prewarm_max_unclaimed '
                    'counts unclaimed pre-warms; it starts at the first '
                    'unclaimed pre-warm.'),
    cfg.IntOpt('build_timeout', default=600, min=10,
               help='Seconds a desktop may take to become ACTIVE after a '
                    'create, unshelve or start before the session is put '
                    'in ERROR.'),
    cfg.IntOpt('reconcile_interval', default=60, min=0,
               help='Seconds between two reconciler passes (orphan '
                    'servers, desktops deleted or errored outside the '
                    'service, session states). 0 disables the periodic '
                    'pass; the pass at start still runs.'),
    cfg.IntOpt('orphan_grace', default=120, min=0,
               help='Seconds a server tagged for a subscriber may exist '
                    'without a mapping before the reconciler acts on it: '
                    'adopts it for a desktop record still CREATING (a '
                    'crash between create and store), or else quarantines '
                    'it as an orphan -- reported, never deleted (see '
                    'vdesk-manage desktop orphans).'),
    cfg.StrOpt('nova_notification_exchange', default='nova',
               help='oslo.messaging exchange of Nova\'s versioned '
                    'notifications (Nova\'s control_exchange): the engine '
                    'learns there of desktops deleted or errored outside '
                    'the service.'),
    cfg.StrOpt('keystone_notification_exchange', default='keystone',
               help='oslo.messaging exchange of Keystone\'s notifications '
                    '(Keystone\'s control_exchange): the engine learns '
                    'there of successful SIM logins and pre-warms the '
                    'subscriber\'s desktop.'),
    cfg.IntOpt('max_redirected_usb_ports', default=4, min=0, max=15,
               help='Most USB redirection ports given to a desktop whose '
                    'device asks for USB redirection.'),
    cfg.StrOpt('sound_model', default='ich9',
               choices=['sb16', 'es1370', 'pcspk', 'ac97', 'ich6', 'ich9',
                        'usb', 'virtio'],
               help='Sound device of desktops whose device has audio.'),
    cfg.StrOpt('usb_model', default='qemu-xhci',
               choices=['nec-xhci', 'qemu-xhci'],
               help='USB controller of desktops whose device redirects '
                    'USB or a smart card.'),
    cfg.URIOpt('kerbside_url', schemes=['http', 'https'],
               help='Base URL of the API of Kerbside, the token-validating '
                    'SPICE proxy, e.g. "https://kerbside.example.net:13002". '
                    'When set, a spice-direct console is Kerbside\'s: the '
                    'service gets Nova\'s spice-direct console token, '
                    'exchanges it at Kerbside (GET <kerbside_url>/nova-'
                    'console.vv?token=...), which checks it with Nova and '
                    'hands out a .vv pointing at its SPICE proxy with a '
                    'password of its own, and gives that .vv to the '
                    'subscriber unchanged (or its fields, as JSON). Nova\'s '
                    'token never reaches the subscriber. Takes precedence '
                    'over spice_proxy_host and spice_direct_to_hypervisor.'),
    cfg.StrOpt('kerbside_ca_file',
               help='CA bundle (PEM) to verify the TLS certificate of an '
                    'https kerbside_url; unset, the system\'s CAs are used.'),
    cfg.StrOpt('kerbside_auth_secret', secret=True,
               help='Kerbside\'s AUTH_SECRET_SEED, the key its API signs '
                    'its session tokens with. At every release of a '
                    'desktop (logout, idle, admin, error) the service '
                    'signs a one-minute token with it and asks Kerbside '
                    'to terminate the desktop\'s console sessions and '
                    'tokens (POST <kerbside_url>/console/<kerbside_source>'
                    '/<instance>/terminate) before the server is shelved. '
                    'Required with kerbside_url: without it vdesk-api and '
                    'vdesk-engine refuse to start.'),
    cfg.StrOpt('kerbside_source', default='vdesk',
               help='The name of this cloud\'s Nova among Kerbside\'s '
                    'sources (its sources.yaml): Kerbside files a '
                    'desktop\'s console under <source>/<instance UUID>.'),
    cfg.FloatOpt('kerbside_timeout', default=10.0, min=0.5,
                 help='Seconds to wait for Kerbside to connect and to '
                      'answer a console request; past it the console '
                      'request fails with 503.'),
    cfg.HostAddressOpt('spice_proxy_host',
                       help='Address of a SPICE proxy that takes Nova\'s '
                            'spice-direct console token as the SPICE '
                            'password, checks it with Nova '
                            '(os-console-auth-tokens) and connects to the '
                            'hypervisor on the subscriber\'s behalf. The '
                            '.vv then names this host with the token as '
                            'its password. Kerbside does not work this way: '
                            'use kerbside_url for it. Nova sets no SPICE '
                            'password on a desktop: without a '
                            'token-validating proxy, whoever reaches a '
                            'compute host\'s SPICE port sees the desktop. '
                            'vdesk-api and vdesk-engine refuse to start '
                            'with it: Nova keeps its console tokens through '
                            'a shelve, and a token handed out before a '
                            'logout would open the next desktop started on '
                            'that host.'),
    cfg.PortOpt('spice_proxy_port',
                help='Plain SPICE port of the proxy in spice_proxy_host.'),
    cfg.PortOpt('spice_proxy_tls_port',
                help='TLS SPICE port of the proxy in spice_proxy_host; '
                     'set at least one of the two ports.'),
    cfg.BoolOpt('spice_direct_to_hypervisor', default=False,
                help='Without kerbside_url or spice_proxy_host, give '
                     'spice-direct consoles the hypervisor\'s own SPICE '
                     'address. The console token is then checked by '
                     'nothing: only for a lab or a single-host sandbox on '
                     'loopback. When none of the three is set, '
                     'spice-direct consoles are refused (503) and the '
                     'HTML5 consoles still work.'),
]

coordination_group = cfg.OptGroup(
    'coordination', title='Distributed locks',
    help='tooz coordination backend shared by every desktop API worker and '
         'host, so that concurrent logins of one subscriber never create '
         'two desktops.')

coordination_opts = [
    cfg.StrOpt('backend_url', default='file:///var/lib/vdesk/locks',
               secret=True,
               help='tooz backend URL, e.g. "redis://127.0.0.1:6379" for '
                    'several hosts; "file://DIR" for one host.'),
    cfg.IntOpt('lock_timeout', default=30, min=1,
               help='Seconds to wait for a subscriber\'s lock before '
                    'answering 409.'),
]

charging_group = cfg.OptGroup(
    'charging', title='Charging events',
    help='Session accounting events (vdesk.session.start/update/end) '
         'emitted through oslo.messaging notifications.')

charging_opts = [
    cfg.IntOpt('interim_interval', default=300, min=1,
               help='Seconds between two interim records '
                    '(vdesk.session.update) of an active session.'),
    cfg.FloatOpt('cpu_util_rate', default=50.0, min=0.0,
                 help='Most Nova server-diagnostics requests per second '
                      'one vdesk-engine makes to put the CPU utilisation '
                      '(cpu_util) into interim records. Each is a round '
                      'trip through nova-api to the desktop\'s compute '
                      'host, so this bounds the load the interim pass puts '
                      'on Nova however many sessions are open: interim '
                      'records beyond the budget are sent without '
                      'cpu_util (their duration is always there). 0 leaves '
                      'cpu_util out of every interim record.'),
    cfg.FloatOpt('outbox_poll_interval', default=1.0, min=0.05,
                 help='Seconds between two looks of vdesk-engine at the '
                      'charging outbox (the records written by the API '
                      'and the engine, waiting to be sent to the message '
                      'bus). A record waits at most about this long before '
                      'it is sent.'),
    cfg.IntOpt('outbox_batch_size', default=100, min=1, max=10000,
               help='Charging records read from the outbox per database '
                    'query.'),
    cfg.FloatOpt('outbox_retry_initial', default=1.0, min=0.05,
                 help='Seconds before the first retry when the message bus '
                      'does not accept a charging record; the pause doubles '
                      'at each failure up to outbox_retry_max. Records are '
                      'retried until the bus accepts them, in the order '
                      'they were written.'),
    cfg.FloatOpt('outbox_retry_max', default=30.0, min=0.05,
                 help='Longest pause, in seconds, between two attempts to '
                      'deliver the charging outbox to an unavailable '
                      'message bus.'),
    cfg.IntOpt('send_retry', default=2, min=0,
               help='Connection attempts oslo.messaging makes for one '
                    'charging record before the engine backs off and tries '
                    'again later (0: one attempt). Kept small, so a broker '
                    'outage is noticed quickly; nothing is dropped either '
                    'way.'),
]

subscribers_group = cfg.OptGroup(
    'vdesk_aka', title='Subscribers',
    help='Who is a subscriber, for the desktop API. Set these to the same '
         'values as the [vdesk_aka] options of keystone.conf: the "aka" '
         'auth method creates subscriber users (named by IMSI) in '
         'subscriber_domain and grants them subscriber_role on '
         'subscriber_project.')

subscribers_opts = [
    cfg.StrOpt('subscriber_domain', default='vdesk',
               help='Domain (name) of the subscriber users. Subscriber calls '
                    'of the desktop API need a token of a user of this '
                    'domain.'),
    cfg.StrOpt('subscriber_project', default='subscribers',
               help='Project (name, in subscriber_domain) subscriber tokens '
                    'are scoped to. Subscriber calls of the desktop API need '
                    'a token scoped to it.'),
    cfg.StrOpt('subscriber_role', default='vdesk_subscriber',
               help='Role subscriber tokens carry on subscriber_project '
                    '(keystone.conf\'s [vdesk_aka] subscriber_role). '
                    'Subscriber calls of the desktop API need it, and a '
                    'token whose authentication methods include "aka" (a '
                    'SIM login): an application credential, a password or '
                    'a trust of a subscriber user gets 403.'),
]

NOVA_GROUP = 'nova'


def _database_opts():
    opts = copy.deepcopy(db_options.database_opts)
    for opt in opts:
        if opt.dest == 'connection':
            opt.default = DEFAULT_DATABASE
    return opts


_DB_OPTS = _database_opts()


def register_opts(conf):
    groups.register(conf, desktops_group, desktops_opts)
    groups.register(conf, coordination_group, coordination_opts)
    groups.register(conf, charging_group, charging_opts)
    groups.register(conf, subscribers_group, subscribers_opts)
    conf.register_opts(_DB_OPTS, group='database')
    ks_loading.register_session_conf_options(conf, NOVA_GROUP)
    ks_loading.register_auth_conf_options(conf, NOVA_GROUP)
    ks_loading.register_adapter_conf_options(conf, NOVA_GROUP)


def list_subscriber_opts():
    """vdesk.conf's ``[vdesk_aka]``, a namespace of its own.

    Its options share their names with keystone.conf's ``[vdesk_aka]``
    (they must hold the same values), so the configuration reference
    documents them apart from the other vdesk.conf options.
    """
    return [(subscribers_group, subscribers_opts)]


def list_opts():
    nova_opts = (ks_loading.get_session_conf_options() +
                 ks_loading.get_auth_common_conf_options() +
                 ks_loading.get_auth_plugin_conf_options('password') +
                 ks_loading.get_adapter_conf_options())
    seen, unique = set(), []
    for opt in nova_opts:
        if opt.dest not in seen:
            seen.add(opt.dest)
            unique.append(opt)
    return [(desktops_group, desktops_opts),
            (coordination_group, coordination_opts),
            (charging_group, charging_opts),
            ('database', _DB_OPTS),
            (NOVA_GROUP, unique)]
