"""[hss] options of vdesk.conf: the subscriber database (HSS)."""

import copy

from oslo_config import cfg
from oslo_db import options as db_options

from vdesk_openstack.conf import groups

hss_group = cfg.OptGroup(
    'hss', title='Home Subscriber Server',
    help='The HSS holds each subscriber\'s SIM secrets (K, OPc), sequence '
         'number and subscription plan. The embedded "sql" driver keeps '
         'them in a SQL database with K and OPc encrypted at rest.')

hss_opts = [
    cfg.StrOpt('driver', default='sql',
               help='HSS driver, an entry point in the '
                    '"vdesk_openstack.hss.driver" namespace. "sql" is the '
                    'embedded HSS.'),
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


def register_opts(conf):
    groups.register(conf, hss_group, hss_opts + _DB_OPTS)


def list_opts():
    return [(hss_group, hss_opts + _DB_OPTS)]
