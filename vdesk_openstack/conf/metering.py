"""Options of ceilometer.conf for the charging publishers.

``[vdesk_radius]``: the RADIUS accounting publisher; ``[vdesk_diameter]``:
the Diameter Rf publisher. Each option is the default of the publisher URL
query parameter of the same name (``radius://HOST:PORT?secret=...&
spool_dir=...``, ``diameter://HOST:PORT?origin_host=...``); the URL wins.
The RADIUS shared secret belongs here or in ``secret_file`` rather than in
``event_pipeline.yaml``: Ceilometer logs publisher URLs.
"""

from oslo_config import cfg

from vdesk_openstack.conf import groups

radius_group = cfg.OptGroup(
    'vdesk_radius', title='vdesk RADIUS accounting publisher',
    help='Defaults of the "radius://" event publisher that sends the '
         'vdesk session records (Start, Interim-Update, Stop) to the '
         'operator\'s RADIUS accounting server (RFC 2866). Query '
         'parameters of the publisher URL override them.')

radius_opts = [
    cfg.StrOpt('secret', secret=True,
               help='Shared secret of this client on the RADIUS '
                    'accounting servers. Used when the publisher URL has '
                    'no "secret" parameter.'),
    cfg.StrOpt('secret_file',
               help='File holding the shared secret (first line), used '
                    'when neither the URL nor the "secret" option give '
                    'one. Keep it readable by the ceilometer user only.'),
    cfg.StrOpt('spool_dir', default='/var/lib/ceilometer/vdesk-radius',
               help='Directory of the durable spool: every record is '
                    'written there before it is sent and stays until the '
                    'server acknowledges it. Several notification agent '
                    'workers may share it. URL parameter: "spool" or '
                    '"spool_dir".'),
    cfg.StrOpt('nas_identifier',
               help='NAS-Identifier of the records. Defaults to the '
                    '[DEFAULT] host option of Ceilometer.'),
    cfg.StrOpt('secondary',
               help='HOST:PORT of a secondary accounting server (port '
                    'defaults to 1813). It receives the records while the '
                    'primary (the URL\'s host) is down.'),
    cfg.FloatOpt('timeout', default=3.0, min=0.05,
                 help='Seconds without an answer before a request is '
                      'retransmitted (identical, so the server can '
                      'recognise the duplicate).'),
    cfg.IntOpt('retries', default=2, min=0,
               help='Retransmissions of an unanswered request before the '
                    'server is considered down and the record goes back '
                    'to the spool queue for a later resend.'),
    cfg.IntOpt('max_in_flight', default=128, min=1, max=256,
               help='Requests outstanding at once on one server (a RADIUS '
                    'identifier has 256 values).'),
    cfg.FloatOpt('backoff_initial', default=1.0, min=0.01,
                 help='Seconds a server that failed is left alone before a '
                      'record probes it again; doubles with every failure '
                      'in a row.'),
    cfg.FloatOpt('backoff_max', default=60.0, min=0.01,
                 help='Upper bound of the backoff between probes of a '
                      'server that is down.'),
    cfg.StrOpt('dictionary_file',
               help='RADIUS dictionary defining the Vdesk vendor-specific '
                    'attributes. Defaults to the one shipped in the '
                    'package (vendor id 32473); set it to a copy with the '
                    'operator\'s own vendor id if needed.'),
]


diameter_group = cfg.OptGroup(
    'vdesk_diameter', title='vdesk Diameter Rf accounting publisher',
    help='Defaults of the "diameter://" event publisher that sends the '
         'vdesk session records (ACR START, INTERIM, STOP) to the '
         'operator\'s Diameter charging data function (3GPP TS 32.299 '
         'offline charging, Rf). Query parameters of the publisher URL '
         'override them.')

diameter_opts = [
    cfg.StrOpt('origin_host',
               help='Diameter identity of this publisher (Origin-Host), as '
                    'the CDF knows it. Defaults to the [DEFAULT] host '
                    'option of Ceilometer. It is part of every '
                    'Session-Id.'),
    cfg.StrOpt('origin_realm',
               help='Realm of this publisher (Origin-Realm). Defaults to '
                    'the domain part of origin_host.'),
    cfg.StrOpt('destination_realm',
               help='Realm of the CDF (Destination-Realm). Required, here '
                    'or in the URL.'),
    cfg.StrOpt('destination_host',
               help='Diameter identity of the CDF (Destination-Host); '
                    'omitted by default so that any CDF of the realm may '
                    'answer.'),
    cfg.ListOpt('failover', default=[],
                help='HOST:PORT of further CDFs (port defaults to 3868), '
                     'in order of preference. They receive the records '
                     'while the peers before them are down. In the URL, '
                     'repeat the parameter for several peers.'),
    cfg.StrOpt('spool_dir', default='/var/lib/ceilometer/vdesk-diameter',
               help='Directory of the durable spool: every record is '
                    'written there before it is sent and stays until an '
                    'ACA with Result-Code 2001 acknowledges it. Several '
                    'notification agent workers may share it. URL '
                    'parameter: "spool" or "spool_dir".'),
    cfg.StrOpt('session_identity',
               help='Diameter identity that begins every Session-Id '
                    '(RFC 6733 section 8.8). Defaults to origin_host. '
                    'With several notification agents, each with its own '
                    'origin_host, set it to one name on all of them, so '
                    'that the records of a desktop session carry one '
                    'Session-Id whichever agent sends them.'),
    cfg.IntOpt('interim_interval', default=300, min=0,
               help='Acct-Interim-Interval sent in START and INTERIM '
                    'records: the desktop service\'s [charging] '
                    'interim_interval. 0 leaves the AVP out.'),
    cfg.FloatOpt('timeout', default=5.0, min=0.05,
                 help='Seconds without an answer (to an ACR, the CER or a '
                      'watchdog) before the connection is considered '
                      'broken: the records in flight are resent, to the '
                      'next peer if this one stays down.'),
    cfg.IntOpt('max_in_flight', default=256, min=1, max=65536,
               help='ACRs outstanding at once on a connection.'),
    cfg.FloatOpt('watchdog_interval', default=30.0, min=1.0,
                 help='Seconds of silence on a connection before a '
                      'Device-Watchdog-Request checks it (RFC 3539 Tw).'),
    cfg.FloatOpt('backoff_initial', default=1.0, min=0.01,
                 help='Seconds a peer that failed is left alone before '
                      'the publisher connects to it again; doubles with '
                      'every failure in a row.'),
    cfg.FloatOpt('backoff_max', default=60.0, min=0.01,
                 help='Upper bound of the backoff between attempts on a '
                      'peer that is down.'),
]


def register_opts(conf):
    groups.register(conf, radius_group, radius_opts)
    groups.register(conf, diameter_group, diameter_opts)


def list_opts():
    return [(radius_group, radius_opts), (diameter_group, diameter_opts)]
