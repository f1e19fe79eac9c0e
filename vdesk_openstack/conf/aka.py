"""[vdesk_aka] options of keystone.conf: the Keystone auth method ``aka``."""

from oslo_config import cfg

from vdesk_openstack.conf import groups

aka_group = cfg.OptGroup(
    'vdesk_aka', title='SIM (3GPP AKA) authentication',
    help='Options of the "aka" auth method: subscribers log in with their '
         'SIM credentials, checked against the HSS configured in '
         'vdesk_config_file.')

aka_opts = [
    cfg.StrOpt('vdesk_config_file', default='/etc/vdesk/vdesk.conf',
               help='vdesk.conf whose [hss] section configures the HSS '
                    '(driver, database connection, K/OPc key file).'),
    cfg.StrOpt('subscriber_domain', default='vdesk',
               help='Domain (name) in which subscriber users are created; '
                    'a subscriber\'s user name is its IMSI. The deployment '
                    'creates the domain.'),
    cfg.StrOpt('subscriber_project', default='subscribers',
               help='Project (name, in subscriber_domain) on which new '
                    'subscriber users get subscriber_role, so their tokens '
                    'can be scoped to it. The deployment creates it.'),
    cfg.StrOpt('subscriber_role', default='vdesk_subscriber',
               help='Role granted to a subscriber user on '
                    'subscriber_project at its SIM logins (checked once '
                    'per Keystone process and user). Give it a role of its '
                    'own, that no other service\'s policy grants anything '
                    'to (not member or reader), so a SIM login gives no '
                    'power in Nova, Neutron, Glance or Cinder; the '
                    'deployment creates it, and the policy file rendered '
                    'by "vdesk-manage config render --target '
                    'keystone-policy" keeps its holders from minting '
                    'application credentials, EC2 credentials or trusts. '
                    'Set the same value in vdesk.conf\'s [vdesk_aka].'),
    cfg.IntOpt('challenge_ttl', default=60, min=1, max=3600,
               help='Seconds an AKA challenge stays valid. A challenge is '
                    'valid once, for the IMSI it was issued to, on any '
                    'Keystone node sharing the HSS database.'),
    cfg.IntOpt('max_failures', default=5, min=1,
               deprecated_for_removal=True,
               deprecated_reason='Subscribers are no longer locked out '
                                 'after wrong answers: a 64-bit, single-use '
                                 'RES cannot be guessed, and the lockout '
                                 'let a stranger lock a SIM out. Challenge '
                                 'requests are rate-bounded instead '
                                 '(challenges_per_imsi, '
                                 'challenges_per_address).',
               help='Ignored. Formerly the number of wrong answers after '
                    'which a subscriber was locked out.'),
    cfg.IntOpt('lockout_duration', default=300, min=0,
               deprecated_for_removal=True,
               deprecated_reason='There is no lockout any more; see '
                                 'max_failures.',
               help='Ignored. Formerly the seconds a subscriber stayed '
                    'locked out after max_failures wrong answers.'),
    cfg.IntOpt('challenge_rate_window', default=60, min=1, max=86400,
               help='Length in seconds of the window over which challenge '
                    'requests are counted for challenges_per_imsi and '
                    'challenges_per_address (fixed windows, shared by all '
                    'Keystone workers and nodes through the HSS '
                    'database).'),
    cfg.IntOpt('challenges_per_imsi', default=10, min=0,
               help='Challenges issued for one IMSI per '
                    'challenge_rate_window, counted whether the IMSI is '
                    'provisioned or not. A request beyond the bound gets '
                    'the generic 401, advances no SQN and stores no '
                    'challenge. A SIM login takes one challenge (two with a '
                    'resynchronisation); the bound stops a stranger from '
                    'burning through a subscriber\'s sequence numbers. '
                    '0 disables the bound.'),
    cfg.IntOpt('challenges_per_address', default=600, min=0,
               help='Challenges issued to one client address per '
                    'challenge_rate_window, whatever the IMSIs. Many UEs '
                    'may share an address behind carrier-grade NAT: size '
                    'it for the busiest NAT address. The address is '
                    'REMOTE_ADDR as Keystone sees it; behind a load '
                    'balancer or TLS proxy, enable '
                    '[oslo_middleware] enable_proxy_headers_parsing so it '
                    'is the UE\'s and not the proxy\'s. 0 disables the '
                    'bound.'),
    cfg.BoolOpt('announce_logins', default=True,
                help='After each successful SIM login, emit a '
                     '"vdesk.subscriber.authenticated" notification '
                     '(Keystone\'s [oslo_messaging_notifications] transport '
                     'and driver) so the desktop engine starts restoring '
                     'the subscriber\'s desktop before it is asked for. '
                     'Sent in the background; a login never waits for it.'),
]


def register_opts(conf):
    groups.register(conf, aka_group, aka_opts)


def list_opts():
    return [(aka_group, aka_opts)]
