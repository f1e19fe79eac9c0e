"""[hss] options of vdesk.conf: the subscriber database (HSS)."""

import copy

from oslo_config import cfg
from oslo_db import options as db_options

from vdesk_openstack.conf import groups

hss_group = cfg.OptGroup(
    'hss', title='Home Subscriber Server',
    help='The HSS holds each subscriber\'s SIM secrets (K, OPc), sequence '
         'number and subscription plan. The embedded "sql" driver keeps '
         'them in a SQL database with K and OPc encrypted at rest; the '
         '"gsup" driver asks the operator\'s HLR for authentication '
         'vectors ([hss_gsup]) and keeps only plans and the IMSI -> plan '
         'map in the SQL database.')

hss_opts = [
    cfg.StrOpt('driver', default='sql',
               help='HSS driver, an entry point in the '
                    '"vdesk_openstack.hss.driver" namespace. "sql" is the '
                    'embedded HSS; "gsup" keeps the SIM secrets in the '
                    'operator\'s HLR (osmo-hlr or any GSUP HLR), see '
                    '[hss_gsup].'),
    cfg.StrOpt('key_file', default='/etc/vdesk/hss.key',
               help='File holding the 256-bit key that encrypts K and OPc '
                    'at rest (AES-GCM). "vdesk-manage db sync" creates it, '
                    'readable by its owner only, if it does not exist. Keep '
                    'it on every node that runs the HSS driver and back it '
                    'up apart from the database: without it the stored '
                    'secrets cannot be read.'),
    cfg.IntOpt('sqn_retries', default=20, min=1,
               help='How many times a node retries advancing a '
                    'subscriber\'s SQN when the database reports a '
                    'deadlock (Galera certification conflicts when other '
                    'nodes advance it at the same moment) or a lost '
                    'connection.'),
    cfg.StrOpt('amf', default='8000', regex='^[0-9a-fA-F]{4}$',
               help='Authentication management field (4 hex digits) of '
                    'the operator\'s subscribers: the default of '
                    '"vdesk-manage subscriber add --amf", and the AMF of '
                    'the decoy challenges sent for unknown IMSIs. AUTN '
                    'carries the AMF in clear, so decoys must carry the '
                    'one real subscribers have.'),
]


DEFAULT_CONNECTION = 'sqlite:////var/lib/vdesk/hss.sqlite'


def _db_opts():
    # oslo.db's options (connection, pool sizes, retries, ...) live
    # under [hss] too, so the HSS database is configured in one place; a
    # copy, so that the embedded sqlite default shows in the sample.
    opts = copy.deepcopy(db_options.database_opts)
    for opt in opts:
        if opt.dest == 'connection':
            opt.default = DEFAULT_CONNECTION
            opt.help = ('SQLAlchemy URL of the HSS database: the embedded '
                        'sqlite file by default, MariaDB '
                        '(mysql+pymysql://...) or PostgreSQL '
                        '(postgresql+psycopg2://...) in production.')
    return opts


_DB_OPTS = _db_opts()


hss_gsup_group = cfg.OptGroup(
    'hss_gsup', title='HSS driver "gsup": the operator\'s HLR',
    help='Options of the "gsup" HSS driver ([hss] driver = gsup). SIM '
         'secrets (K, OPc) and sequence numbers stay in the operator\'s '
         'HLR, asked for authentication vectors with GSUP SendAuthInfo '
         'over IPA/TCP; plans and the IMSI -> plan map stay in the '
         'database of [hss] connection.')

hss_gsup_opts = [
    cfg.ListOpt('servers', default=['127.0.0.1:4222'],
                help='host:port of the HLR\'s GSUP interface (osmo-hlr '
                     'listens on port 4222), several for failover: they '
                     'are tried in this order, a server that fails is '
                     'avoided for a while (exponential backoff up to '
                     'backoff_max) as long as another one answers.'),
    cfg.StrOpt('ipa_name', default='vdesk', regex=r'^[A-Za-z0-9._-]{1,64}$',
               help='IPA unit name sent in the identity response. Each '
                    'connection is named "<ipa_name>-<host>-<pid>-<n>": '
                    'the HLR routes answers by name, and keys IND (the '
                    'SQN slot of TS 33.102 Annex C) on it, so each '
                    'connection gets vectors in a slot of its own.'),
    cfg.FloatOpt('timeout', default=2.0, min=0.05, max=60.0,
                 help='Seconds per request, connecting included. An HLR '
                      'that does not answer in time fails the login with '
                      'the generic 401 (and an ERROR log line naming the '
                      'HLR); the next login tries again.'),
    cfg.IntOpt('max_connections', default=8, min=1, max=32,
               help='GSUP connections each Keystone process opens and '
                    'reuses, in turn. A connection carries one request at '
                    'a time, and has an IND slot of its own in the HLR: a '
                    'subscriber\'s successive vectors cycle over that many '
                    'slots, so concurrent logins of one SIM do not '
                    'invalidate each other. At least the threads of a '
                    'Keystone process; at most 32 (the IND slots).'),
    cfg.FloatOpt('backoff_max', default=30.0, min=0.0, max=3600.0,
                 help='Longest time in seconds a failed HLR is avoided '
                      'while another configured HLR answers. The backoff '
                      'starts at 0.5 s and doubles at each failure. When '
                      'every HLR is in backoff they are all tried anyway, '
                      'so a recovered HLR is used at the next login.'),
]


def register_opts(conf):
    groups.register(conf, hss_group, hss_opts + _DB_OPTS)
    groups.register(conf, hss_gsup_group, hss_gsup_opts)


def list_opts():
    return [(hss_group, hss_opts + _DB_OPTS),
            (hss_gsup_group, hss_gsup_opts)]
