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
    cfg.StrOpt('subscriber_role', default='member',
               help='Role granted to a subscriber user on '
                    'subscriber_project when it is created.'),
    cfg.IntOpt('challenge_ttl', default=60, min=1, max=3600,
               help='Seconds an AKA challenge stays valid. A challenge is '
                    'valid once, for the IMSI it was issued to, on any '
                    'Keystone node sharing the HSS database.'),
    cfg.IntOpt('max_failures', default=5, min=1,
               help='Wrong answers to genuine challenges (wrong RES, '
                    'forged AUTS) within lockout_duration seconds after '
                    'which a subscriber is locked out for lockout_duration '
                    'seconds. Made-up, reused or expired challenges are '
                    'refused without counting, so they cannot be used to '
                    'lock a subscriber out.'),
    cfg.IntOpt('lockout_duration', default=300, min=0,
               help='Seconds a subscriber stays locked out after '
                    'max_failures failed answers. While locked out, the '
                    'subscriber still receives challenges, but no answer '
                    'succeeds.'),
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
