"""[vdesk_aka] options of keystone.conf: the Keystone auth method ``aka``."""

from oslo_config import cfg

from vdesk_openstack.common import forwarded
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
                                 '(challenges_per_address, '
                                 'challenges_total).',
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
                    'requests are counted for challenges_per_address and '
                    'challenges_total (fixed windows, shared by all '
                    'Keystone workers and nodes through the HSS '
                    'database).'),
    cfg.IntOpt('challenges_per_imsi', default=10, min=0,
               deprecated_for_removal=True,
               deprecated_reason='A bound on the challenges of an IMSI let '
                                 'a stranger who knew the IMSI lock its SIM '
                                 'out by asking for challenges. The state '
                                 'kept per IMSI is bounded instead '
                                 '(outstanding_challenges_per_imsi), and '
                                 'requests per client address and in total '
                                 '(challenges_per_address, '
                                 'challenges_total).',
               help='Ignored. Formerly the challenges issued for one IMSI '
                    'per challenge_rate_window, beyond which even the real '
                    'SIM was refused.'),
    cfg.IntOpt('outstanding_challenges_per_imsi', default=5, min=1,
               max=100,
               help='Challenges of one IMSI kept at once, awaiting their '
                    'answer. Issuing one more drops one: the oldest of the '
                    'client address that holds the most of them (the '
                    'oldest of all when no address holds more than '
                    'another). No number of requests for an IMSI stops its '
                    'SIM from getting a challenge, and a stranger asking '
                    'from one address only drops its own challenges. A '
                    'SIM login needs one outstanding challenge; a few '
                    'leave room for a UE that retries before answering.'),
    cfg.IntOpt('challenges_per_address', default=600, min=0,
               help='Challenges issued to one client address per '
                    'challenge_rate_window, whatever the IMSIs. A request '
                    'beyond the bound gets the generic 401, advances no '
                    'SQN and stores no challenge. Many UEs may share an '
                    'IPv4 address behind carrier-grade NAT: size it for '
                    'the busiest NAT address. IPv6 clients are counted '
                    'per network of ipv6_prefix_length bits. The address '
                    'is the peer of the connection, or, when that peer is '
                    'one of trusted_proxies, the client those proxies name '
                    'in X-Forwarded-For. 0 disables the bound.'),
    cfg.IntOpt('challenges_total', default=30000, min=0,
               help='Challenges issued in all per challenge_rate_window, '
                    'by every Keystone worker and node together: a '
                    'ceiling on the load the HSS (or the HLR behind it) '
                    'takes from SIM logins. Requests beyond it get the '
                    'generic 401, whoever sends them: size it well above '
                    'the busiest hour\'s logins (a login takes one '
                    'challenge, two with a resynchronisation), below what '
                    'the HSS can serve. 0 disables the bound.'),
    cfg.ListOpt('trusted_proxies', default=[],
                item_type=forwarded.network,
                help='Proxies and load balancers in front of Keystone whose '
                     'X-Forwarded-For header names the client: IP '
                     'addresses or networks (CIDR). Only a request whose '
                     'peer is one of them has its X-Forwarded-For read, '
                     'from the right, skipping the entries that are '
                     'trusted proxies too; the first other entry is the '
                     'client address the rate bounds count. From any '
                     'other peer the header is ignored and the peer is '
                     'the client. Empty (the default): the header is '
                     'never read. The Forwarded header (RFC 7239) is not '
                     'read; [oslo_middleware] '
                     'enable_proxy_headers_parsing changes nothing here.'),
    cfg.IntOpt('ipv6_prefix_length', default=64, min=32, max=128,
               help='IPv6 client addresses are counted for '
                    'challenges_per_address per network of this prefix '
                    'length: a host usually holds a whole /64 (a UE gets '
                    'one per PDN connection) and could take a fresh '
                    'address for each request. 128 counts each address.'),
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
