"""Ceilometer event publisher ``radius://``: charging records over RADIUS.

In ``event_pipeline.yaml``::

    radius://HOST[:PORT]?nas_identifier=ID&spool=DIR[&secret=S]

turns the ``vdesk.session.start``/``.update``/``.end`` events into RFC 2866
Accounting-Requests (Start, Interim-Update, Stop; see :mod:`.records`) for
the operator's charging server. Every query parameter may instead come
from ``[vdesk_radius]`` in ceilometer.conf (:mod:`vdesk_openstack.conf.
metering`), the secret preferably so, since Ceilometer logs publisher URLs.

Unlike Ceilometer's UDP publisher, which logs and drops on error, this one
never drops a record: ``publish_events`` returns once the records are on
disk (:mod:`.spool`); a background client (:mod:`.client`) sends them,
many at once, to the primary or the secondary server and removes each from
the spool only when its Accounting-Response arrived. If the spool cannot
be written ``publish_events`` raises, and with ``[notification]
ack_on_event_error = False`` Ceilometer requeues the notification.

A URL or option that cannot work raises :class:`RadiusPublisherError`
when the publisher is loaded, with a message saying what to fix.
"""

import os
import time
import urllib.parse

import ceilometer
from ceilometer import publisher
from oslo_config import types
from oslo_utils import netutils
from pyrad import dictionary as pyrad_dictionary

from vdesk_openstack.conf import metering as metering_conf
from vdesk_openstack.metering import client as radius_client
from vdesk_openstack.metering import records as radius_records
from vdesk_openstack.metering import spool as radius_spool


DEFAULT_PORT = 1813
HERE = os.path.dirname(os.path.abspath(__file__))
RFC_DICTIONARY = os.path.join(HERE, 'dictionary.rfc')
VDESK_DICTIONARY = os.path.join(HERE, 'dictionary.vdesk')
URL_ALIASES = {'spool': 'spool_dir'}


class RadiusPublisherError(ValueError):
    """The publisher URL or its options cannot work."""


def _where(parsed_url):
    # never the query: it may hold the secret
    return '%s://%s' % (parsed_url.scheme, parsed_url.netloc)


def _split_server(text, what, default_port=DEFAULT_PORT,
                  error=RadiusPublisherError):
    try:
        host, port = netutils.parse_host_port(text, default_port=default_port)
    except ValueError as exc:
        raise error('%s %r: %s' % (what, text, exc))
    if not host:
        raise error('%s %r has no host' % (what, text))
    if not 0 < int(port) < 65536:
        raise error('%s %r: port out of range' % (what, text))
    return host, int(port)


def parse_options(conf, parsed_url, group=None, opt_list=None,
                  aliases=None, repeatable=(), error=RadiusPublisherError):
    """Return the publisher's options: URL query over ``[vdesk_radius]``.

    Shared with the diameter:// publisher, which passes its own option
    group; a ListOpt named in ``repeatable`` may be given several times in
    the URL (each occurrence adds to the list).
    """
    where = _where(parsed_url)
    metering_conf.register_opts(conf)
    group = group or metering_conf.radius_group
    opt_list = opt_list or metering_conf.radius_opts
    aliases = URL_ALIASES if aliases is None else aliases
    opts = {opt.dest: opt for opt in opt_list}
    section = conf[group.name]
    options = {name: section[name] for name in opts}
    try:
        query = urllib.parse.parse_qsl(parsed_url.query,
                                       keep_blank_values=True,
                                       strict_parsing=bool(parsed_url.query))
    except ValueError:
        raise error('%s: the query of the publisher URL is malformed'
                    % where)
    seen = set()
    for key, value in query:
        name = aliases.get(key, key)
        if name not in opts:
            raise error(
                '%s: unknown parameter %r; known: %s' % (
                    where, key, ', '.join(sorted(set(opts) |
                                                 set(aliases)))))
        if name in seen and name not in repeatable:
            raise error('%s: parameter %r given twice' % (where, key))
        try:
            converted = opts[name].type(value)
        except ValueError as exc:
            shown = '<secret>' if opts[name].secret else repr(value)
            raise error('%s: parameter %s=%s: %s' % (where, key, shown, exc))
        if name in repeatable and name in seen:
            options[name] = list(options[name]) + list(converted)
        else:
            options[name] = converted
        seen.add(name)
    if options['backoff_max'] < options['backoff_initial']:
        raise error('%s: backoff_max is smaller than backoff_initial'
                    % where)
    return options


def read_secret(options, where):
    secret = options['secret']
    if not secret and options['secret_file']:
        try:
            with open(options['secret_file']) as f:
                secret = f.readline().rstrip('\r\n')
        except OSError as exc:
            raise RadiusPublisherError('%s: cannot read the secret file: %s'
                                       % (where, exc))
        if not secret:
            raise RadiusPublisherError('%s: secret file %s is empty'
                                       % (where, options['secret_file']))
    if not secret:
        raise RadiusPublisherError(
            '%s: no RADIUS shared secret; set [vdesk_radius] secret or '
            'secret_file in ceilometer.conf (or secret= in the URL)' % where)
    return secret.encode('utf-8')


def load_dictionary(options, where):
    path = options['dictionary_file'] or VDESK_DICTIONARY
    try:
        return pyrad_dictionary.Dictionary(RFC_DICTIONARY, path)
    except (OSError, pyrad_dictionary.ParseError) as exc:
        raise RadiusPublisherError('%s: cannot load RADIUS dictionary %s: '
                                   '%s' % (where, path, exc))


class RadiusPublisher(publisher.ConfigPublisherBase):
    """Publish vdesk session events as RADIUS accounting records."""

    def __init__(self, conf, parsed_url):
        super().__init__(conf, parsed_url)
        where = _where(parsed_url)
        if parsed_url.path not in ('', '/'):
            raise RadiusPublisherError('%s: unexpected path %r in the '
                                       'publisher URL' % (where,
                                                          parsed_url.path))
        servers = [radius_client.Server(
            'primary', *_split_server(parsed_url.netloc, 'publisher URL '
                                      'server'))]
        options = parse_options(conf, parsed_url)
        if options['secondary']:
            servers.append(radius_client.Server(
                'secondary', *_split_server(options['secondary'],
                                            'secondary server')))
        secret = read_secret(options, where)
        self.nas_identifier = options['nas_identifier'] or conf.host
        try:
            types.String(max_length=radius_records.MAX_STRING_OCTETS)(
                self.nas_identifier)
        except ValueError as exc:
            raise RadiusPublisherError('%s: nas_identifier: %s'
                                       % (where, exc))
        rad_dictionary = load_dictionary(options, where)
        try:
            self.spool = radius_spool.Spool(options['spool_dir'])
        except (OSError, radius_spool.SpoolError) as exc:
            raise RadiusPublisherError('%s: %s' % (where, exc))
        self.client = radius_client.AccountingClient(
            servers, secret, rad_dictionary, self.spool,
            timeout=options['timeout'], retries=options['retries'],
            max_in_flight=options['max_in_flight'],
            backoff_initial=options['backoff_initial'],
            backoff_max=options['backoff_max'])
        self.client.resume(options['spool_dir'])

    def publish_samples(self, samples):
        """Samples are not charged; only session events are."""
        raise ceilometer.NotImplementedError

    def publish_events(self, events):
        """Spool the session events' records durably, then send them."""
        now = time.time()
        batch = []
        for event in events:
            if not radius_records.is_session_event(event.event_type):
                continue
            try:
                record_id, attributes = radius_records.record_from_event(
                    event, self.nas_identifier)
            except radius_records.InvalidEvent as exc:
                self.spool.quarantine_record(
                    radius_spool.Record(str(event.message_id),
                                        {'event': event.serialize()}, now),
                    'is not a valid charging event: %s' % exc,
                    replayable=False)
                continue
            batch.append(radius_spool.Record(record_id, attributes, now))
        self.client.submit(self.spool.append(batch))

    def close(self):
        """Stop sending; unacknowledged records stay in the spool."""
        self.client.stop()
        self.spool.close()
