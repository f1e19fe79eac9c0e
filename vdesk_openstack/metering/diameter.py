"""Ceilometer event publisher ``diameter://``: charging over Diameter Rf.

In ``event_pipeline.yaml``::

    diameter://HOST[:PORT]?origin_host=ID&origin_realm=R&destination_realm=R
        &spool=DIR[&failover=HOST2:PORT2[&failover=HOST3:PORT3]]

turns the ``vdesk.session.start``/``.update``/``.end`` events into
Accounting-Requests of 3GPP TS 32.299 offline charging (START, INTERIM,
STOP records of one accounting session per desktop session; see
:mod:`.diameter_records`) for the operator's charging data function. Every
query parameter may instead come from ``[vdesk_diameter]`` in
ceilometer.conf (:mod:`vdesk_openstack.conf.metering`).

Like ``radius://`` it never drops a record: ``publish_events`` returns once
the records are on disk, in the same spool format
(:mod:`.spool`); a background client (:mod:`.diameter_client`) sends them
to the first working peer and removes each only on an ACA with Result-Code
2001. A record the CDF refuses for good (5xxx) is parked in the spool's
quarantine with the reason (:mod:`.parked` lists and replays them).

A URL or option that cannot work raises :class:`DiameterPublisherError`
when the publisher is loaded, with a message saying what to fix.
"""

import re
import time

import ceilometer
from ceilometer import publisher

from vdesk_openstack.conf import metering as metering_conf
from vdesk_openstack.metering import diameter_client
from vdesk_openstack.metering import diameter_records as drec
from vdesk_openstack.metering import radius
from vdesk_openstack.metering import spool as charging_spool


DEFAULT_PORT = 3868
URL_ALIASES = {'spool': 'spool_dir'}
# RFC 6733 DiameterIdentity: an FQDN (letters, digits, '-', '.')
IDENTITY = re.compile(r'^(?=.{1,255}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})'
                      r'(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$')


class DiameterPublisherError(ValueError):
    """The publisher URL or its options cannot work."""


def parse_options(conf, parsed_url):
    """The publisher's options: URL query over ``[vdesk_diameter]``."""
    metering_conf.register_opts(conf)
    where = radius._where(parsed_url)
    options = radius.parse_options(
        conf, parsed_url, group=metering_conf.diameter_group,
        opt_list=metering_conf.diameter_opts, aliases=URL_ALIASES,
        repeatable=('failover',), error=DiameterPublisherError)
    options['origin_host'] = options['origin_host'] or conf.host
    if not options['origin_realm'] and '.' in options['origin_host']:
        options['origin_realm'] = options['origin_host'].split('.', 1)[1]
    options['session_identity'] = (options['session_identity'] or
                                   options['origin_host'])
    for name in ('origin_host', 'origin_realm', 'destination_realm',
                 'destination_host', 'session_identity'):
        value = options[name]
        if value is None and name != 'destination_host':
            raise DiameterPublisherError(
                '%s: no %s; set it in the URL or in [vdesk_diameter] of '
                'ceilometer.conf' % (where, name))
        if value is not None and not IDENTITY.match(value):
            raise DiameterPublisherError(
                '%s: %s %r is not a Diameter identity (an FQDN: letters, '
                'digits, "-" and ".")' % (where, name, value))
    return options


class DiameterPublisher(publisher.ConfigPublisherBase):
    """Publish vdesk session events as Diameter Rf accounting records."""

    def __init__(self, conf, parsed_url):
        super().__init__(conf, parsed_url)
        where = radius._where(parsed_url)
        if parsed_url.path not in ('', '/'):
            raise DiameterPublisherError('%s: unexpected path %r in the '
                                         'publisher URL'
                                         % (where, parsed_url.path))
        options = parse_options(conf, parsed_url)
        peers = [diameter_client.Peer('primary', *radius._split_server(
            parsed_url.netloc, 'publisher URL peer', DEFAULT_PORT,
            DiameterPublisherError))]
        for n, text in enumerate(options['failover'], 1):
            peers.append(diameter_client.Peer(
                'failover-%d' % n, *radius._split_server(
                    text, 'failover peer', DEFAULT_PORT,
                    DiameterPublisherError)))
        self.session_identity = options['session_identity']
        self.interim_interval = options['interim_interval']
        try:
            self.spool = charging_spool.Spool(options['spool_dir'])
        except (OSError, charging_spool.SpoolError) as exc:
            raise DiameterPublisherError('%s: %s' % (where, exc))
        self.client = diameter_client.DiameterClient(
            peers, self.spool, options['origin_host'],
            options['origin_realm'], options['destination_realm'],
            destination_host=options['destination_host'],
            timeout=options['timeout'],
            max_in_flight=options['max_in_flight'],
            watchdog_interval=options['watchdog_interval'],
            backoff_initial=options['backoff_initial'],
            backoff_max=options['backoff_max'])
        self.client.resume(options['spool_dir'])

    def publish_samples(self, samples):
        """Samples are not charged; only session events are."""
        raise ceilometer.NotImplementedError

    def _invalid(self, event, now, exc):
        self.spool.quarantine_record(
            charging_spool.Record(str(event.message_id),
                                  {'event': event.serialize()}, now),
            'is not a valid charging event: %s' % exc, replayable=False)

    def publish_events(self, events):
        """Spool the session events' records, then send them."""
        now = time.time()
        batch = []
        for event in events:
            if not drec.is_session_event(event.event_type):
                continue
            try:
                record_id, avps = drec.record_from_event(
                    event, self.session_identity, self.interim_interval)
            except drec.InvalidEvent as exc:
                self._invalid(event, now, exc)
                continue
            batch.append(charging_spool.Record(record_id, avps, now))
        if batch:
            self.client.submit(self.spool.append(batch))

    def close(self):
        """Disconnect (DPR); unacknowledged records stay in the spool."""
        self.client.stop()
        self.spool.close()
