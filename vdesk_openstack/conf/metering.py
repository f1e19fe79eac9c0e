"""[vdesk_radius] options of ceilometer.conf: the RADIUS accounting publisher.

Each option is the default of the publisher URL query parameter of the same
name (``radius://HOST:PORT?secret=...&spool_dir=...``); the URL wins. The
shared secret belongs here or in ``secret_file`` rather than in
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


def register_opts(conf):
    groups.register(conf, radius_group, radius_opts)


def list_opts():
    return [(radius_group, radius_opts)]
