"""What a deployment writes into each service's configuration.

A vdesk-openstack deployment touches five files: vdesk.conf (the HSS and
the desktop service), keystone.conf (the ``aka`` method), nova.conf (the
scheduler filter and weigher), and Ceilometer's ceilometer.conf and event
pipeline (the RADIUS charging publisher). With Kerbside, the
token-checking SPICE proxy native clients' consoles go through, it also
writes Kerbside's settings, its ``sources.yaml``, its certificates and one
rule of Nova's ``policy.yaml`` (see :func:`kerbside_environment`). Which
options go where, and how they combine with what a file already says, is
decided here, once, from a few facts about the deployment
(:class:`Deployment`): the DevStack plugin calls it through
``vdesk-manage config render`` and sets each line it prints; the sandbox
and other installers can call the functions directly.

What a SIM login may do outside the desktop API -- Keystone's
``policy.yaml`` (target ``keystone-policy``) and the subscribers' project's
zero quotas -- is decided in :mod:`vdesk_openstack.subscriber_rights`.

Each ``*_settings`` function returns :class:`Setting` triples. A
multi-valued option (Nova's ``available_filters``) is several settings
with the same section and option, in order. ``current`` is what the
target file holds already (section -> option -> list of values, as
:func:`read_ini` returns it): lists such as Keystone's auth methods or
Nova's enabled filters are extended, never replaced, so the plugin can run
again on a configured node and leave it as it was.
"""

import collections
import dataclasses
import ipaddress
import math
import os
import secrets

from oslo_config import cfg
import yaml

from vdesk_openstack.conf import aka as aka_conf
from vdesk_openstack.conf import desktops as desktops_conf
from vdesk_openstack.conf import hss as hss_conf
from vdesk_openstack.conf import metering as metering_conf
from vdesk_openstack.conf import scheduler as scheduler_conf

Setting = collections.namedtuple('Setting', 'section option value')

AKA_METHOD = 'aka'
FILTER_CLASS = 'vdesk_openstack.scheduler.filters.SubscriptionFilter'
FILTER_NAME = 'SubscriptionFilter'
WEIGHER_CLASS = 'vdesk_openstack.scheduler.weighers.SubscriptionWeigher'
# Nova's and Keystone's defaults, written out when a file does not set the
# option yet (setting it to ours alone would drop theirs).
NOVA_ALL_FILTERS = 'nova.scheduler.filters.all_filters'
NOVA_DEFAULT_FILTERS = ('ComputeFilter', 'ComputeCapabilitiesFilter',
                        'ImagePropertiesFilter',
                        'ServerGroupAntiAffinityFilter',
                        'ServerGroupAffinityFilter')
NOVA_ALL_WEIGHERS = 'nova.scheduler.weights.all_weighers'
KEYSTONE_DEFAULT_METHODS = ('external', 'password', 'token', 'oauth1',
                            'mapped', 'application_credential')
# The engine needs Nova's versioned notifications and an instance.update
# on every VM state change (see doc/source/admin/desktop-operations.rst).
NOVA_VERSIONED_FORMATS = ('versioned', 'both')

CHARGING_EVENTS = 'vdesk.session.*'
# The desktop service notifies on an exchange of its own; Ceilometer's
# notification agents listen on it besides their default exchanges.
CHARGING_EXCHANGE = 'vdesk'
CEILOMETER_DEFAULT_EXCHANGES = ('nova', 'glance', 'neutron', 'cinder', 'heat',
                                'keystone', 'trove', 'zaqar', 'swift',
                                'ceilometer', 'magnum', 'dns', 'ironic',
                                'aodh')
CHARGING_SOURCE = 'vdesk_session_source'
CHARGING_SINK = 'vdesk_charging_sink'
DEFINITIONS_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    'etc', 'ceilometer', 'event_definitions.yaml')

TARGETS = ('vdesk', 'keystone', 'nova', 'ceilometer')
KERBSIDE_TARGETS = ('kerbside-env', 'kerbside-sources', 'nova-policy')

# Kerbside: its Keystone user holds one role, which Nova's policy lets
# read console tokens' connection details (admin alone by default).
KERBSIDE_USER = 'kerbside'
KERBSIDE_ROLE = 'console-auth'
KERBSIDE_SOURCE = 'vdesk'
NOVA_CONSOLE_AUTH_RULE = 'os_compute_api:os-console-auth-tokens'
NOVA_CONSOLE_AUTH_DEFAULT = 'rule:context_is_admin'
# The proxy's ports: not QEMU's 5900-59xx, which the hypervisor of an
# all-in-one node uses for the desktops' own SPICE servers.
KERBSIDE_PROXY_TLS_PORT = 15900
KERBSIDE_PROXY_PORT = 15901
KERBSIDE_METRICS_PORT = 13003
KERBSIDE_SUBJECT = (('O', 'vdesk-openstack'), ('CN', 'kerbside-proxy'))
KERBSIDE_FILES = {'ca': 'ca-cert.pem', 'ca-key': 'ca-key.pem',
                  'cert': 'proxy-cert.pem',
                  'key': 'proxy-key.pem', 'sources': 'sources.yaml',
                  'env': 'kerbside.env', 'socket': 'api.sock'}
# Console credentials (Kerbside's .vv passwords, Nova's console tokens)
# live this many seconds by default: long enough for a client to open its
# channels, short enough that one not revoked dies soon.
CONSOLE_TOKEN_TTL = 60
# The hypervisors' SPICE TLS: the files QEMU reads in libvirt's
# spice_tls_x509_cert_dir (qemu.conf), libvirt's default directory.
SPICE_TLS_DIR = '/etc/pki/libvirt-spice'
SPICE_TLS_FILES = {'ca': 'ca-cert.pem', 'cert': 'server-cert.pem',
                   'key': 'server-key.pem'}
SPICE_SUBJECT = (('O', 'vdesk-openstack'), ('CN', 'spice-server'))
HSS_DRIVERS = ('sql', 'gsup')
CHARGING = ('radius', 'diameter')


@dataclasses.dataclass(frozen=True)
class Deployment(object):
    """The facts every configuration file of a deployment derives from.

    ``keystone_url`` is Keystone's public identity URL (with or without
    ``/v3``); the ``service_*`` user is the desktop service's: it drives
    Nova for the desktops (the ``[nova]`` section) and needs ``admin`` on
    ``service_project`` to create the desktops' private flavors.
    """

    keystone_url: str = 'http://127.0.0.1/identity'
    region_name: str = 'RegionOne'
    vdesk_config_file: str = '/etc/vdesk/vdesk.conf'
    hss_connection: str = None
    hss_key_file: str = '/etc/vdesk/hss.key'
    database_connection: str = None
    transport_url: str = None
    coordination_url: str = None
    service_user: str = 'vdesk'
    service_password: str = None
    service_project: str = 'service'
    service_domain: str = 'Default'
    subscriber_domain: str = 'vdesk'
    subscriber_project: str = 'subscribers'
    subscriber_role: str = 'vdesk_subscriber'
    challenge_ttl: int = None
    outstanding_challenges_per_imsi: int = None
    challenges_per_address: int = None
    challenges_total: int = None
    # Comma-separated addresses/CIDRs of the proxies in front of Keystone
    # whose X-Forwarded-For is believed; None: Keystone's default (none).
    trusted_proxies: str = None
    hss_driver: str = 'sql'
    hss_gsup_servers: str = None
    charging: str = 'radius'
    radius_server: str = None
    radius_secret: str = None
    radius_nas_identifier: str = None
    radius_spool_dir: str = None
    diameter_server: str = None
    diameter_failover: str = None
    diameter_origin_host: str = None
    diameter_origin_realm: str = None
    diameter_destination_realm: str = None
    diameter_spool_dir: str = None
    kerbside_url: str = None
    kerbside_ca_file: str = None
    # Kerbside itself, where the deployment runs it (see
    # kerbside_environment): its files, database, Keystone user and ports.
    kerbside_dir: str = '/etc/kerbside'
    kerbside_venv: str = '/opt/vdesk/kerbside-venv'
    kerbside_database_connection: str = None
    kerbside_password: str = None
    kerbside_public_host: str = None
    # The proxy's listening address; None: kerbside_public_host when that
    # is an IP address. Never every address unless asked for by name.
    kerbside_listen: str = None
    # Prometheus metrics' listening address; None: kerbside_listen.
    kerbside_metrics_listen: str = None
    kerbside_proxy_port: int = KERBSIDE_PROXY_PORT
    kerbside_proxy_tls_port: int = KERBSIDE_PROXY_TLS_PORT
    kerbside_metrics_port: int = KERBSIDE_METRICS_PORT
    kerbside_node_name: str = 'kerbside'
    # Kerbside's AUTH_SECRET_SEED, also the desktop service's key to
    # revoke consoles there; None: the one in Kerbside's current settings
    # (kerbside_environment), or a new one.
    kerbside_auth_secret: str = None
    # Seconds a console credential lives (Kerbside's tokens, whole
    # minutes; Nova's [consoleauth] token_ttl).
    console_token_ttl: int = CONSOLE_TOKEN_TTL
    # Where each hypervisor's QEMU finds its SPICE TLS certificate.
    spice_tls_dir: str = SPICE_TLS_DIR
    # The CA of the hypervisors' SPICE certificates, for Kerbside's
    # sources; None: Kerbside's own CA (kerbside_dir), which signs them.
    spice_ca_file: str = None

    @property
    def auth_url(self):
        url = self.keystone_url.rstrip('/')
        return url if url.endswith('/v3') else url + '/v3'


def _settings(section, values):
    """Settings of ``section`` for the items of ``values`` that are set."""
    return [Setting(section, option, str(value))
            for option, value in values if value is not None]


def _value(current, section, option):
    values = current.get(section, {}).get(option)
    return values[-1] if values else None


def _append(items, item):
    return items if item in items else items + [item]


def _split(text):
    return [item.strip() for item in (text or '').split(',')
            if item.strip()]


def vdesk_settings(deployment, current=None):
    """vdesk.conf of the HSS, the desktop API and the engine."""
    d = deployment
    if d.hss_driver not in HSS_DRIVERS:
        raise ValueError('hss_driver must be one of %s, not %r'
                         % (', '.join(HSS_DRIVERS), d.hss_driver))
    settings = _settings(hss_conf.hss_group.name, [
        ('driver', d.hss_driver),
        ('connection', d.hss_connection),
        ('key_file', d.hss_key_file if d.hss_driver == 'sql' else None)])
    if d.hss_driver == 'gsup':
        if not d.hss_gsup_servers:
            raise ValueError('the gsup HSS driver needs the HLR addresses '
                             '(hss_gsup_servers: HOST:PORT[,HOST:PORT...])')
        settings += _settings(hss_conf.hss_gsup_group.name, [
            ('servers', d.hss_gsup_servers)])
    settings += _settings('database', [
        ('connection', d.database_connection)])
    settings += _settings(desktops_conf.NOVA_GROUP, [
        ('auth_type', 'password'),
        ('auth_url', d.auth_url),
        ('username', d.service_user),
        ('password', d.service_password),
        ('user_domain_name', d.service_domain),
        ('project_name', d.service_project),
        ('project_domain_name', d.service_domain),
        ('region_name', d.region_name)])
    settings += _settings(desktops_conf.coordination_group.name, [
        ('backend_url', d.coordination_url)])
    # The engine refuses to start unless charging events reach the bus.
    settings += _settings('DEFAULT', [
        ('control_exchange', CHARGING_EXCHANGE)])
    settings += _settings('oslo_messaging_notifications', [
        ('driver', 'messagingv2'),
        ('transport_url', d.transport_url)])
    settings += _settings(desktops_conf.subscribers_group.name, [
        ('subscriber_domain', d.subscriber_domain),
        ('subscriber_project', d.subscriber_project),
        ('subscriber_role', d.subscriber_role)])
    # spice-direct consoles through Kerbside, the token-checking SPICE
    # proxy; unset (or empty, as DevStack passes it), they are not offered.
    settings += _settings(desktops_conf.desktops_group.name, [
        ('kerbside_url', d.kerbside_url or None),
        ('kerbside_ca_file', (d.kerbside_ca_file or None)
         if d.kerbside_url else None),
        # The key to revoke consoles with at every release.
        ('kerbside_auth_secret', (d.kerbside_auth_secret or None)
         if d.kerbside_url else None)])
    return settings


def keystone_default_methods():
    """Keystone's default ``[auth] methods`` (they change by release)."""
    try:
        from keystone.conf import constants
        return list(constants._DEFAULT_AUTH_METHODS)
    except (ImportError, AttributeError):
        return list(KEYSTONE_DEFAULT_METHODS)


def keystone_settings(deployment, current=None):
    """keystone.conf: the ``aka`` method and its ``[vdesk_aka]`` section.

    ``aka`` is appended at the end of ``[auth] methods``, so the Fernet
    method bitmask of the methods already listed stays the same.
    """
    current = current or {}
    d = deployment
    methods = (_split(_value(current, 'auth', 'methods')) or
               keystone_default_methods())
    primary = _split(_value(current, 'auth',
                            'additional_primary_auth_methods'))
    settings = _settings('auth', [
        ('methods', ','.join(_append(methods, AKA_METHOD))),
        ('additional_primary_auth_methods',
         ','.join(_append(primary, AKA_METHOD)))])
    settings += _settings(aka_conf.aka_group.name, [
        ('vdesk_config_file', d.vdesk_config_file),
        ('subscriber_domain', d.subscriber_domain),
        ('subscriber_project', d.subscriber_project),
        ('subscriber_role', d.subscriber_role),
        ('challenge_ttl', d.challenge_ttl),
        ('outstanding_challenges_per_imsi',
         d.outstanding_challenges_per_imsi),
        ('challenges_per_address', d.challenges_per_address),
        ('challenges_total', d.challenges_total),
        ('trusted_proxies', d.trusted_proxies or None)])
    return settings


def nova_settings(deployment, current=None):
    """nova.conf: the filter, the weigher, versioned notifications, SPICE.

    ``[vdesk_scheduler]`` keeps the package defaults unless the file sets
    it already; an operator tunes tiers there.
    """
    current = current or {}
    section = 'filter_scheduler'
    available = current.get(section, {}).get('available_filters') or [
        NOVA_ALL_FILTERS]
    enabled = (_split(_value(current, section, 'enabled_filters')) or
               list(NOVA_DEFAULT_FILTERS))
    weighers = (_split(_value(current, section, 'weight_classes')) or
                [NOVA_ALL_WEIGHERS])
    settings = [Setting(section, 'available_filters', value)
                for value in _append(list(available), FILTER_CLASS)]
    settings += _settings(section, [
        ('enabled_filters', ','.join(_append(enabled, FILTER_NAME))),
        ('weight_classes', ','.join(_append(weighers, WEIGHER_CLASS)))])

    tiers_section = scheduler_conf.scheduler_group.name
    defaults = {opt.dest: opt.default for opt in scheduler_conf.scheduler_opts}
    settings += _settings(tiers_section, [
        ('tiers', _value(current, tiers_section, 'tiers') or
         defaults['tiers']),
        ('spread_tiers', _value(current, tiers_section, 'spread_tiers') or
         ','.join(defaults['spread_tiers']))])

    notification_format = _value(current, 'notifications',
                                 'notification_format')
    if notification_format not in NOVA_VERSIONED_FORMATS:
        # 'unversioned' (or unset): add the versioned ones, keep the rest.
        notification_format = 'both'
    state_change = _value(current, 'notifications', 'notify_on_state_change')
    if state_change not in ('vm_state', 'vm_and_task_state'):
        state_change = 'vm_state'
    settings += _settings('notifications', [
        ('notification_format', notification_format),
        ('notify_on_state_change', state_change)])
    if deployment.kerbside_url:
        # spice-direct consoles (SPICE on the computes), and the URL Nova
        # names for them: Kerbside's, which takes Nova's token. Every
        # SPICE channel over TLS only (the hypervisors' qemu.conf must
        # enable spice_tls, see qemu_spice_tls), and Nova's console
        # tokens short-lived.
        settings += _settings('spice', [
            ('enabled', 'true'),
            ('spice_direct_proxy_base_url',
             deployment.kerbside_url.rstrip('/') + '/nova'),
            ('require_secure', 'true')])
        settings += _settings('consoleauth', [
            ('token_ttl', deployment.console_token_ttl)])
    return settings


def kerbside_token_minutes(deployment):
    """Kerbside's CONSOLE_TOKEN_DURATION: the TTL in whole minutes (>= 1)."""
    return max(1, math.ceil(int(deployment.console_token_ttl) / 60))


def qemu_spice_tls(deployment):
    """qemu.conf lines of a hypervisor serving SPICE over TLS only.

    With Nova's ``[spice] require_secure``, every channel of a desktop's
    SPICE server needs TLS: a client on the plain port is refused
    (``SPICE_LINK_ERR_NEED_SECURED``). QEMU reads ``ca-cert.pem``,
    ``server-cert.pem`` and ``server-key.pem`` from ``spice_tls_dir``
    (see :func:`spice_certificates`). Returns [(option, value)], value
    as qemu.conf writes it.
    """
    return [('spice_tls', '1'),
            ('spice_tls_x509_cert_dir', '"%s"' % deployment.spice_tls_dir)]


def radius_url(deployment):
    """The ``radius://`` publisher URL (the secret stays out of it)."""
    if not deployment.radius_server:
        raise ValueError('a RADIUS accounting server (HOST:PORT) is needed')
    query = []
    if deployment.radius_nas_identifier:
        query.append('nas_identifier=%s' % deployment.radius_nas_identifier)
    return 'radius://%s%s' % (deployment.radius_server,
                              '?' + '&'.join(query) if query else '')


def diameter_url(deployment):
    """The ``diameter://`` publisher URL; the rest is in ceilometer.conf."""
    if not deployment.diameter_server:
        raise ValueError('a Diameter peer (HOST:PORT) of the charging data '
                         'function is needed')
    return 'diameter://%s' % deployment.diameter_server


def charging_url(deployment):
    """The publisher URL of the deployment's charging protocol."""
    if deployment.charging not in CHARGING:
        raise ValueError('charging must be one of %s, not %r'
                         % (', '.join(CHARGING), deployment.charging))
    if deployment.charging == 'diameter':
        return diameter_url(deployment)
    return radius_url(deployment)


def ceilometer_settings(deployment, current=None):
    """ceilometer.conf of the notification agents running the publisher.

    The secret goes here, not in the pipeline: Ceilometer logs publisher
    URLs. Event errors must requeue the notification so a record that
    could not be spooled is not lost. The agents listen on the desktop
    service's exchange besides the ones they listen on already.
    """
    current = current or {}
    d = deployment
    exchanges = (current.get('notification', {}).get(
        'notification_control_exchanges') or
        list(CEILOMETER_DEFAULT_EXCHANGES))
    if d.charging == 'diameter':
        settings = _settings(metering_conf.diameter_group.name, [
            ('origin_host', d.diameter_origin_host),
            ('origin_realm', d.diameter_origin_realm),
            ('destination_realm', d.diameter_destination_realm),
            ('failover', d.diameter_failover),
            ('spool_dir', d.diameter_spool_dir)])
    else:
        settings = _settings(metering_conf.radius_group.name, [
            ('secret', d.radius_secret),
            ('spool_dir', d.radius_spool_dir),
            ('nas_identifier', d.radius_nas_identifier)])
    settings += _settings('notification', [('ack_on_event_error', False)])
    settings += [Setting('notification', 'notification_control_exchanges',
                         value)
                 for value in _append(list(exchanges), CHARGING_EXCHANGE)]
    return settings


def event_pipeline(deployment, current=None):
    """Ceilometer's event pipeline with the charging source and sink.

    The vdesk session events go to a sink of their own holding only the
    RADIUS publisher (a sink with one publisher lets a spool failure reach
    the agent). Other sources and sinks of ``current`` stay as they are;
    ours replace an older copy of themselves.
    """
    pipeline = dict(current or {})
    sources = [s for s in pipeline.get('sources') or []
               if s.get('name') != CHARGING_SOURCE]
    sinks = [s for s in pipeline.get('sinks') or []
             if s.get('name') != CHARGING_SINK]
    sources.append({'name': CHARGING_SOURCE, 'events': [CHARGING_EVENTS],
                    'sinks': [CHARGING_SINK]})
    sinks.append({'name': CHARGING_SINK,
                  'publishers': [charging_url(deployment)]})
    pipeline['sources'] = sources
    pipeline['sinks'] = sinks
    return pipeline


def event_definitions(current=None, path=DEFINITIONS_FILE):
    """Ceilometer's event definitions with the vdesk session events.

    Ours come last (the last definition matching an event type wins);
    entries of ours already in ``current`` are replaced, not repeated.
    """
    with open(path) as f:
        ours = yaml.safe_load(f)
    types = {_event_types(d) for d in ours}
    kept = [d for d in current or [] if _event_types(d) not in types]
    return kept + ours


def _event_types(definition):
    """An event definition's ``event_type`` (a pattern or a list) as a key."""
    types = definition.get('event_type')
    return tuple(types) if isinstance(types, list) else (types,)


def kerbside_path(deployment, name):
    """The path of Kerbside's file ``name`` (a key of KERBSIDE_FILES)."""
    return os.path.join(deployment.kerbside_dir, KERBSIDE_FILES[name])


def kerbside_host_subject(subject=KERBSIDE_SUBJECT):
    """The proxy certificate's subject as a .vv names it (host-subject)."""
    return ','.join('%s=%s' % part for part in subject)


def kerbside_sql_url(connection):
    """Kerbside's ``SQL_URL`` (mysqlclient) from an SQLAlchemy MySQL URL.

    ``mysql+pymysql://u:p@host/db?charset=utf8`` gives
    ``mysql://u:p@host/db``: Kerbside installs mysqlclient only.
    """
    if not connection:
        raise ValueError('Kerbside needs its database '
                         '(kerbside_database_connection)')
    scheme, rest = connection.split('://', 1)
    if not scheme.split('+', 1)[0] in ('mysql', 'mariadb'):
        raise ValueError('Kerbside needs MariaDB or MySQL, not %s' % scheme)
    return 'mysql://' + rest.split('?', 1)[0]


def kerbside_listen_address(deployment):
    """Where Kerbside's proxy listens: never every address by default.

    Kerbside's own default is 0.0.0.0, which would also expose its metrics
    on every network of the host; an operator who wants that says so.
    """
    if deployment.kerbside_listen:
        return deployment.kerbside_listen
    try:
        return str(ipaddress.ip_address(deployment.kerbside_public_host))
    except ValueError:
        raise ValueError(
            'Kerbside needs the address its proxy and metrics listen on '
            '(kerbside_listen): kerbside_public_host %r is not an IP '
            'address' % deployment.kerbside_public_host) from None


def kerbside_environment(deployment, current=None):
    """Kerbside's settings, as the ``KERBSIDE_*`` variables it reads.

    Kerbside (PyPI ``kerbside``) reads its settings from ``KERBSIDE_*``
    environment variables. Its API turns a Nova spice-direct console token
    into a ``.vv`` naming its own SPICE proxy
    (``kerbside_public_host``, ``kerbside_proxy_tls_port``), the proxy's
    CA and a password only that proxy accepts. ``current`` (the variables
    a previous run wrote, name -> value) keeps ``AUTH_SECRET_SEED``, the
    key of the tokens Kerbside's API has issued.
    Returns [(name, value)].
    """
    d = deployment
    if not d.kerbside_public_host:
        raise ValueError('Kerbside needs the host SPICE clients connect to '
                         '(kerbside_public_host)')
    listen = kerbside_listen_address(d)
    seed = (current or {}).get('KERBSIDE_AUTH_SECRET_SEED') or \
        d.kerbside_auth_secret or secrets.token_hex(32)
    settings = [
        ('SQL_URL', kerbside_sql_url(d.kerbside_database_connection)),
        ('SOURCES_PATH', kerbside_path(d, 'sources')),
        ('AUTH_SECRET_SEED', seed),
        ('KEYSTONE_AUTH_URL', d.auth_url),
        ('LOG_OUTPUT_PATH', 'stdout'),
        ('NODE_NAME', d.kerbside_node_name),
        ('PUBLIC_FQDN', d.kerbside_public_host),
        ('PUBLIC_INSECURE_PORT', d.kerbside_proxy_port),
        ('PUBLIC_SECURE_PORT', d.kerbside_proxy_tls_port),
        ('VDI_ADDRESS', listen),
        ('VDI_INSECURE_PORT', d.kerbside_proxy_port),
        ('VDI_SECURE_PORT', d.kerbside_proxy_tls_port),
        ('PROMETHEUS_METRICS_ADDRESS',
         d.kerbside_metrics_listen or listen),
        ('PROMETHEUS_METRICS_PORT', d.kerbside_metrics_port),
        ('CACERT_PATH', kerbside_path(d, 'ca')),
        ('PROXY_HOST_CERT_PATH', kerbside_path(d, 'cert')),
        ('PROXY_HOST_CERT_KEY_PATH', kerbside_path(d, 'key')),
        ('PROXY_HOST_SUBJECT', kerbside_host_subject()),
        # The daemon's gRPC socket, which its proxy dials (AF_UNIX: keep
        # kerbside_dir short).
        ('API_SOCKET_PATH', kerbside_path(d, 'socket')),
        ('PROXY_BIN', os.path.join(d.kerbside_venv, 'bin',
                                   'kerbside-proxy')),
        # A client opens every SPICE channel with one .vv password within
        # this time; connections made stay up. Short: a password a
        # release could not revoke dies soon by itself.
        ('CONSOLE_TOKEN_DURATION', kerbside_token_minutes(d)),
    ]
    return [('KERBSIDE_%s' % name, str(value)) for name, value in settings
            if value is not None]


def read_env(path):
    """name -> value of a ``NAME=value`` file ({} if absent)."""
    if not path or not os.path.exists(path):
        return {}
    values = {}
    with open(path) as f:
        for line in f:
            name, sep, value = line.strip().partition('=')
            if sep and not name.startswith('#'):
                values[name] = value
    return values


def render_env(variables):
    """``NAME=value`` lines (a shell's ``set -a; . FILE`` reads them)."""
    for name, value in variables:
        if not value or any(c in value for c in ' \n\'"$`\\;&|<>()'):
            raise ValueError('%s: %r cannot be written unquoted'
                             % (name, value))
        yield '%s=%s' % (name, value)


def kerbside_sources(deployment):
    """Kerbside's ``sources.yaml``: this cloud's Nova, as Kerbside's user.

    Every value is a string: Kerbside reads them as such. ``ca_cert`` is
    the PEM of ``spice_ca_file`` (else of Kerbside's CA), when it exists:
    the CA of the computes' SPICE TLS certificates.
    """
    d = deployment
    if not d.kerbside_password:
        raise ValueError('Kerbside needs its Keystone user\'s password '
                         '(kerbside_password)')
    source = {'source': KERBSIDE_SOURCE, 'type': 'openstack',
              'url': d.auth_url, 'username': KERBSIDE_USER,
              'password': d.kerbside_password,
              'project_name': d.service_project,
              'user_domain_id': 'default', 'project_domain_id': 'default',
              'interface': 'public'}
    # The CA Kerbside's proxy checks this cloud's SPICE servers against
    # when it reaches them over TLS (without it, only public CAs).
    ca_file = d.spice_ca_file or kerbside_path(d, 'ca')
    if os.path.exists(ca_file):
        with open(ca_file) as f:
            source['ca_cert'] = f.read()
    return [source]


def nova_policy(current=None):
    """Nova's ``policy.yaml``: console token details for KERBSIDE_ROLE too.

    Only that rule changes: an operator's rule is kept and widened
    (``(<rule>) or role:console-auth``), other rules are left alone.
    """
    policy = dict(current or {})
    role = 'role:%s' % KERBSIDE_ROLE
    rule = policy.get(NOVA_CONSOLE_AUTH_RULE) or NOVA_CONSOLE_AUTH_DEFAULT
    if role not in rule.split():
        rule = '%s or %s' % (
            rule if ' ' not in rule else '(%s)' % rule, role)
    policy[NOVA_CONSOLE_AUTH_RULE] = rule
    return policy


def kerbside_certificates(directory, hosts, subject=KERBSIDE_SUBJECT,
                          days=365, ca_name='vdesk-openstack Kerbside CA'):
    """A CA and the proxy's certificate for ``hosts`` (names or IPs).

    Writes ca-cert.pem, ca-key.pem (0600), proxy-cert.pem and
    proxy-key.pem (0600) into ``directory``; a SPICE client checks the
    proxy against the CA and the subject the ``.vv`` names, and Kerbside's
    proxy checks the hypervisors' SPICE servers against the same CA (see
    :func:`spice_certificates`). Returns the CA's path.
    """
    from cryptography.hazmat.primitives import serialization

    ca_key, ca = _make_ca(ca_name, days)
    key, cert = _issue(ca_key, ca, subject, hosts, days)
    pem = serialization.Encoding.PEM
    paths = {name: kerbside_path(Deployment(kerbside_dir=directory), name)
             for name in ('ca', 'ca-key', 'cert', 'key')}
    write_file(paths['ca'], ca.public_bytes(pem), 0o644)
    write_file(paths['ca-key'], _key_pem(ca_key), 0o600)
    write_file(paths['cert'], cert.public_bytes(pem), 0o644)
    write_file(paths['key'], _key_pem(key), 0o600)
    return paths['ca']


def spice_certificates(ca_dir, directory, hosts, days=365, owner=None):
    """A hypervisor's SPICE TLS files, signed by the CA in ``ca_dir``.

    ``ca_dir`` holds ca-cert.pem and ca-key.pem (:func:`kerbside_
    certificates` makes them): Kerbside's proxy trusts that CA, so it
    reaches the SPICE server over TLS and checks its certificate, issued
    for ``hosts`` (the addresses Nova gives for the hypervisor, its
    ``[spice] server_proxyclient_address``). Writes QEMU's ca-cert.pem,
    server-cert.pem and server-key.pem (0600, owned by ``owner``, a
    (uid, gid), when given: QEMU runs unprivileged) into ``directory``.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography import x509

    names = {'ca': 'ca-cert.pem', 'ca-key': 'ca-key.pem'}
    with open(os.path.join(ca_dir, names['ca']), 'rb') as f:
        ca_pem = f.read()
    with open(os.path.join(ca_dir, names['ca-key']), 'rb') as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    ca = x509.load_pem_x509_certificate(ca_pem)
    key, cert = _issue(ca_key, ca, SPICE_SUBJECT, hosts, days)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    paths = {name: os.path.join(directory, SPICE_TLS_FILES[name])
             for name in SPICE_TLS_FILES}
    write_file(paths['ca'], ca_pem, 0o644)
    write_file(paths['cert'], cert.public_bytes(
        serialization.Encoding.PEM), 0o644)
    write_file(paths['key'], _key_pem(key), 0o600)
    if owner is not None:
        os.chown(paths['key'], *owner)
    return directory


def _key_pem(key):
    from cryptography.hazmat.primitives import serialization
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _lifetime(days):
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    return (now - datetime.timedelta(minutes=5),
            now + datetime.timedelta(days=days))


def _make_ca(name, days):
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives import hashes
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    lifetime = _lifetime(days)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ca = (x509.CertificateBuilder()
          .subject_name(issuer).issuer_name(issuer)
          .public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(lifetime[0]).not_valid_after(lifetime[1])
          .add_extension(x509.BasicConstraints(ca=True, path_length=0),
                         critical=True)
          .add_extension(x509.KeyUsage(
              digital_signature=True, key_cert_sign=True, crl_sign=True,
              content_commitment=False, key_encipherment=False,
              data_encipherment=False, key_agreement=False,
              encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    return ca_key, ca


def _issue(ca_key, ca, subject, hosts, days):
    """A server key and certificate for ``hosts``, signed by the CA."""
    import ipaddress

    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives import hashes
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    oids = {'O': NameOID.ORGANIZATION_NAME, 'CN': NameOID.COMMON_NAME}
    lifetime = _lifetime(days)
    names = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(oids[k], v)
                                     for k, v in subject]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(lifetime[0]).not_valid_after(lifetime[1])
            .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                           critical=True)
            .add_extension(x509.SubjectAlternativeName(names),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage(
                [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def write_file(path, data, mode):
    """Write ``data`` (bytes) to ``path``, created with ``mode``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    os.chmod(path, mode)


SETTINGS = {'vdesk': vdesk_settings, 'keystone': keystone_settings,
            'nova': nova_settings, 'ceilometer': ceilometer_settings}


def settings_for(target, deployment, current=None):
    """The settings of ``target`` (one of :data:`TARGETS`)."""
    return SETTINGS[target](deployment, current)


def read_ini(path):
    """section -> option -> [values] of an ini file ({} if absent)."""
    if not path or not os.path.exists(path):
        return {}
    sections = {}
    cfg.ConfigParser(path, sections).parse()
    return {section: {option: list(values)
                      for option, values in options.items()}
            for section, options in sections.items()}


def read_yaml(path):
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return yaml.safe_load(f)


def render_lines(settings):
    """``section option value`` lines, one per setting."""
    for setting in settings:
        if '\n' in setting.value:
            raise ValueError('%s.%s: a value cannot span lines'
                             % (setting.section, setting.option))
        yield '%s %s %s' % setting


class _PlainDumper(yaml.SafeDumper):
    """A YAML dumper writing shared nodes in full (no ``&id001`` anchors)."""

    def ignore_aliases(self, data):
        return True


def dump_yaml(document, quoted=False):
    """YAML text of ``document``; ``quoted``: every scalar in quotes."""
    return yaml.dump(document, Dumper=_PlainDumper, default_flow_style=False,
                     sort_keys=False, default_style='"' if quoted else None)
