"""Nova, as the desktop service uses it, through openstacksdk.

A thin adapter: private flavors per (plan, tier, device profile) carrying
the plan's tier in the extra spec ``vdesk:tier`` (which makes their servers
desktops for the scheduler, see doc/source/admin/scheduler.rst), servers
tagged with the subscriber and the desktop's record id in their metadata
(the reconciler finds orphans by it), shelve/offload, unshelve, start,
consoles and diagnostics. Nova or Keystone being unreachable becomes
:class:`Unavailable` (503).
"""

import configparser
import functools
import threading
import urllib.parse
import uuid

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from openstack import exceptions as sdk_exc
from oslo_log import log as logging

from vdesk_openstack.desktops import consoles
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import states

LOG = logging.getLogger(__name__)

META_SUBSCRIBER = 'vdesk_subscriber'
META_DESKTOP = 'vdesk_desktop_id'
# The flavor extra spec that makes a server a desktop of a tier; only
# admins can set it, unlike a scheduler hint, which any tenant may send.
TIER_SPEC = 'vdesk:tier'
# Flavor IDs are derived from flavor names, so every worker names the same
# flavor alike and can finish one that another left half made.
FLAVOR_NAMESPACE = uuid.UUID('6f0e5a3c-7d1b-5c2e-9a4f-8b3d2c1e0f7a')
# spice-direct consoles need compute API 2.99.
CONSOLE_MICROVERSION = '2.99'
# Where spice-direct consoles send subscribers.
KERBSIDE = 'kerbside'
PROXY = 'proxy'
HYPERVISOR = 'hypervisor'
# Kerbside's exchange of a Nova spice-direct token for a .vv of its own.
KERBSIDE_EXCHANGE = '/nova-console.vv'
# The largest .vv accepted from Kerbside (it carries a CA certificate).
KERBSIDE_MAX_VV = 64 * 1024


def spice_path(conf):
    """KERBSIDE, PROXY, HYPERVISOR, or None when spice-direct is off."""
    d = conf.desktops
    if d.kerbside_url:
        return KERBSIDE
    if d.spice_proxy_host and (d.spice_proxy_port or d.spice_proxy_tls_port):
        return PROXY
    if d.spice_direct_to_hypervisor:
        return HYPERVISOR
    return None


def warn_about_spice_path(conf):
    """Log at start-up how spice-direct consoles reach desktops.

    :raises consoles.NotRevocable: consoles of that path would outlive a
        release (see :mod:`vdesk_openstack.desktops.consoles`).
    """
    d = conf.desktops
    path = spice_path(conf)
    check_revocable(conf, path)
    if path == KERBSIDE:
        if d.spice_proxy_host or d.spice_direct_to_hypervisor:
            LOG.warning('[desktops] kerbside_url is set: spice_proxy_host '
                        'and spice_direct_to_hypervisor are ignored')
        parsed = urllib.parse.urlsplit(d.kerbside_url)
        if parsed.scheme != 'https' and parsed.hostname not in (
                '127.0.0.1', '::1', 'localhost'):
            LOG.warning('[desktops] kerbside_url is not https: the console '
                        'tokens exchanged at Kerbside and the consoles it '
                        'hands out cross the network in clear')
        LOG.info('spice-direct consoles go through Kerbside at %s: it '
                 'checks each console token with Nova and proxies the '
                 'SPICE connection', d.kerbside_url)
        return path
    if d.spice_proxy_host and path != PROXY:
        LOG.warning('[desktops] spice_proxy_host is set without '
                    'spice_proxy_port or spice_proxy_tls_port: ignored')
    if path == PROXY:
        LOG.info('spice-direct consoles go through the SPICE proxy at %s, '
                 'with Nova\'s console token as the SPICE password',
                 d.spice_proxy_host)
    elif path == HYPERVISOR:
        LOG.warning('spice-direct consoles connect subscribers straight to '
                    'the hypervisor\'s SPICE port, where nothing checks the '
                    'console token: anyone who reaches a compute host sees '
                    'its desktops. Use Kerbside, a token-validating SPICE '
                    'proxy ([desktops] kerbside_url), outside a lab.')
    else:
        LOG.info('spice-direct consoles are off (no [desktops] '
                 'kerbside_url or spice_proxy_host); HTML5 consoles are '
                 'offered')
    return path


def check_revocable(conf, path):
    """Refuse a console path whose credentials a release cannot revoke.

    :raises consoles.NotRevocable: with the message an operator needs.
    """
    if path == KERBSIDE and not conf.desktops.kerbside_auth_secret:
        raise consoles.NotRevocable(
            '[desktops] kerbside_url is set without kerbside_auth_secret: '
            'the service could not terminate a desktop\'s Kerbside '
            'consoles at logout, and a console handed out before a logout '
            'would open the next desktop started on that host. Set '
            '[desktops] kerbside_auth_secret to Kerbside\'s '
            'AUTH_SECRET_SEED.')
    if path == PROXY:
        raise consoles.NotRevocable(
            '[desktops] spice_proxy_host hands out Nova\'s console tokens, '
            'which the service cannot revoke at logout (Nova keeps them '
            'through a shelve, for its [consoleauth] token_ttl): a console '
            'handed out before a logout would open the next desktop '
            'started on that host. Use Kerbside ([desktops] kerbside_url '
            'and kerbside_auth_secret) instead.')


def _translate(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except sdk_exc.NotFoundException:
            raise
        except (ks_exc.ConnectFailure, ks_exc.ConnectTimeout,
                ks_exc.DiscoveryFailure, ks_exc.ServiceUnavailable) as e:
            LOG.warning('Nova unreachable in %s: %s', fn.__name__, e)
            raise exceptions.Unavailable(
                'The compute service is unavailable; retry later') from None
        except sdk_exc.ConflictException as e:
            LOG.info('Nova refused %s for now: %s', fn.__name__, e)
            raise exceptions.Busy() from None
        except sdk_exc.HttpException as e:
            LOG.error('Nova failed in %s: %s', fn.__name__, e)
            raise exceptions.Unavailable(
                'The compute service failed (%s); retry later'
                % (e.status_code or 'no answer')) from None
    return wrapper


class Compute(object):
    """Nova operations of the desktop service (thread-safe)."""

    def __init__(self, connection, conf, kerbside_session=None):
        self._conn = connection
        self._conf = conf
        self._flavors = {}
        self._lock = threading.Lock()
        self._kerbside = kerbside_session

    @property
    def project_id(self):
        """The project the desktops live in (the service user's)."""
        try:
            return self._conn.current_project_id
        except Exception:  # e.g. Keystone unreachable: charging goes on
            return None

    # -- flavors --------------------------------------------------------------
    @_translate
    def ensure_flavor(self, plan, extra_specs, profile):
        """The flavor of ``plan`` with ``extra_specs``, found or created.

        The flavor is private, its project (the ``[nova]`` user's) has
        access, and it carries ``extra_specs`` plus ``vdesk:tier`` = the
        plan's priority. The tier is part of the name (``<prefix><plan>.
        <tier>-<profile>``; a tier has no ".", a profile no "-", so no two
        plans share a name), hence a plan whose tier changes gets a new
        flavor and never reuses one carrying the old tier.
        """
        name = '%s%s.%s-%s' % (self._conf.desktops.flavor_prefix, plan.name,
                               plan.priority, profile)
        flavor_id = str(uuid.uuid5(FLAVOR_NAMESPACE, name))
        with self._lock:
            if name in self._flavors:
                return self._flavors[name]
        specs = dict(extra_specs or {}, **{TIER_SPEC: plan.priority})
        compute = self._conn.compute
        try:
            # Found if the project has access (or the user is an admin).
            flavor = compute.get_flavor(flavor_id, get_extra_specs=True)
        except sdk_exc.NotFoundException:
            self._create_flavor(flavor_id, name, plan, specs)
        else:
            current = flavor.extra_specs or {}
            if any(current.get(k) != v for k, v in specs.items()):
                # Left half made by a worker that stopped, or edited.
                LOG.warning('Flavor %s lacks some of its extra specs; '
                            'setting them', name)
                compute.create_flavor_extra_specs(flavor_id, specs)
        with self._lock:
            self._flavors[name] = flavor_id
        return flavor_id

    def _create_flavor(self, flavor_id, name, plan, specs):
        compute = self._conn.compute
        project_id = self._conn.current_project_id
        try:
            try:
                compute.create_flavor(
                    id=flavor_id, name=name, ram=plan.ram_mb,
                    vcpus=plan.vcpus, disk=plan.disk_gb, is_public=False)
            except sdk_exc.ConflictException:
                # Another worker created it meanwhile, or stopped before
                # finishing it: finishing it again is harmless.
                LOG.info('Flavor %s exists already; completing it', name)
            # Extra specs before access: a non-admin project sees the
            # flavor only once it has access, by then it is complete.
            compute.create_flavor_extra_specs(flavor_id, specs)
            try:
                compute.flavor_add_tenant_access(flavor_id, project_id)
            except sdk_exc.ConflictException:
                pass  # the project has access already
        except (sdk_exc.NotFoundException, sdk_exc.ForbiddenException) as e:
            # Nova hides a private flavor from non-admins until their
            # project has access, so only an admin can finish one.
            LOG.error(
                'Cannot create the desktop flavor %(name)s (%(error)s): '
                'creating one needs an admin. As an admin, run: openstack '
                'flavor create --id %(id)s --private --project %(project)s '
                '--ram %(ram)d --vcpus %(vcpus)d --disk %(disk)d %(props)s '
                '%(name)s',
                {'name': name, 'error': e, 'id': flavor_id,
                 'project': project_id, 'ram': plan.ram_mb,
                 'vcpus': plan.vcpus, 'disk': plan.disk_gb,
                 'props': ' '.join('--property %s=%s' % kv
                                   for kv in sorted(specs.items()))})
            raise exceptions.Unavailable(
                'The desktop flavor cannot be created; retry later') from None
        LOG.info('Created flavor %s for plan %s (tier %s)', name, plan.name,
                 plan.priority)

    # -- servers --------------------------------------------------------------
    @_translate
    def create_server(self, desktop, flavor_id, image_id, tier):
        """Boot the desktop's server; returns its id.

        ``tier`` is not sent: the flavor's ``vdesk:tier`` carries it.
        """
        server = self._conn.compute.create_server(
            name='desktop-%s' % desktop['subscriber'],
            flavor_id=flavor_id, image_id=image_id,
            networks=self._conf.desktops.network,
            metadata={META_SUBSCRIBER: desktop['subscriber'],
                      META_DESKTOP: desktop['id']})
        return server.id

    @_translate
    def get_server(self, server_id):
        """The server, or None if Nova does not know it (deleted)."""
        try:
            return self._conn.compute.get_server(server_id)
        except sdk_exc.NotFoundException:
            return None

    @_translate
    def find_desktop_server(self, desktop, skip=()):
        """The server created for ``desktop`` (by its metadata), or None.

        Servers in ``skip`` (ids, e.g. tombstoned ones) are passed over.
        """
        for server in self._conn.compute.servers(
                details=True, name='^desktop-%s$' % desktop['subscriber']):
            if (server.metadata or {}).get(META_DESKTOP) == desktop['id'] \
                    and server.id not in skip:
                return server
        return None

    def servers_by_id(self, page_size=1000):
        """Every server of the desktop project, in UUID order.

        A generator asking Nova for one page at a time (``limit`` and
        ``marker``), so a pass over a million servers holds one page. The
        paging is ours, not openstacksdk's, for two habits of Nova's: a
        server not yet scheduled (a build request) used as the marker makes
        Nova list the cells from their start again, and a marker deleted
        meanwhile is refused (400). So markers are servers past BUILD when
        the page has one, an earlier one replaces a refused marker, nothing
        at or before the last server yielded is yielded again, and a
        listing that does not move on ends in :class:`Unavailable` (the
        reconciler's pass stops there rather than take the rest for lost).
        """
        marker, seen, spare = None, None, []
        while True:
            try:
                page = self._page(page_size, marker)
            except exceptions.BadMarker:
                if not spare:
                    raise exceptions.Unavailable(
                        'The compute service lost the listing\'s place; '
                        'retry later') from None
                marker = spare.pop()
                continue
            fresh = [s for s in page if seen is None or s.id > seen]
            if not fresh:
                # Nova listed from the start again. A short page was the
                # end anyway; a full one leaves the rest unknown.
                if len(page) >= page_size:
                    raise exceptions.Unavailable(
                        'The compute service\'s listing did not move on; '
                        'retry later')
                return
            yield from fresh
            seen = fresh[-1].id
            spare = [s.id for s in fresh
                     if s.status != states.NOVA_BUILD] or [seen]
            marker = spare.pop()

    @_translate
    def _page(self, size, marker):
        query = {'details': True, 'sort_key': 'uuid', 'sort_dir': 'asc',
                 'limit': size, 'paginated': False}
        if marker is not None:
            query['marker'] = marker
        try:
            return list(self._conn.compute.servers(**query))
        except sdk_exc.BadRequestException as e:
            if marker is not None and 'marker' in str(e).lower():
                raise exceptions.BadMarker() from None
            raise

    @_translate
    def unshelve(self, server_id):
        self._conn.compute.unshelve_server(server_id)

    @_translate
    def start(self, server_id):
        self._conn.compute.start_server(server_id)

    @_translate
    def unpause(self, server_id):
        self._conn.compute.unpause_server(server_id)

    @_translate
    def resume(self, server_id):
        self._conn.compute.resume_server(server_id)

    @_translate
    def restore(self, server_id):
        """Undo a soft delete (``[DEFAULT] reclaim_instance_interval``)."""
        self._conn.compute.restore_server(server_id)

    @_translate
    def hard_reboot(self, server_id):
        """Recreate the guest of a server, from ERROR too.

        Nova refusing it (the state forbids it, or the request fails
        inside Nova) is :class:`exceptions.Refused`; Nova unreachable
        stays :class:`exceptions.Unavailable`.
        """
        try:
            self._conn.compute.reboot_server(server_id, 'HARD')
        except (sdk_exc.ConflictException, sdk_exc.BadRequestException,
                sdk_exc.NotFoundException) as e:
            raise exceptions.Refused(str(e)) from None
        except sdk_exc.HttpException as e:
            if e.status_code == 500:
                raise exceptions.Refused(str(e)) from None
            raise

    @_translate
    def shelve(self, server_id):
        self._conn.compute.shelve_server(server_id)

    @_translate
    def shelve_offload(self, server_id):
        self._conn.compute.shelve_offload_server(server_id)

    @_translate
    def delete(self, server_id):
        try:
            self._conn.compute.delete_server(server_id, force=False)
        except sdk_exc.NotFoundException:
            pass

    # -- consoles and usage ---------------------------------------------------
    @_translate
    def console(self, server_id, console_type):
        """Connection info of a remote console of ``console_type``.

        Through Kerbside, a spice-direct console also carries ``vv``:
        Kerbside's ``.vv``, to be handed out unchanged.
        """
        self._check_spice_path(console_type)
        protocol = 'vnc' if console_type == 'novnc' else 'spice'
        response = self._conn.compute.post(
            '/servers/%s/remote-consoles' % server_id,
            json={'remote_console': {'protocol': protocol,
                                     'type': console_type}},
            microversion=CONSOLE_MICROVERSION)
        if response.status_code != 200:
            raise exceptions.Unavailable(
                'The compute service gave no console (%d)'
                % response.status_code)
        console = response.json()['remote_console']
        if console_type != 'spice-direct':
            return {'type': console_type, 'url': console['url']}
        token = _console_token(console['url'])
        if spice_path(self._conf) == KERBSIDE:
            # Nova's token stays here: the subscriber gets Kerbside's.
            return dict(self._kerbside_console(token), type=console_type)
        info = {'type': console_type, 'url': console['url']}
        info.update(self._spice_endpoint(token))
        return info

    def _check_spice_path(self, console_type):
        if console_type != 'spice-direct':
            return
        if spice_path(self._conf) is None:
            raise exceptions.Unavailable(
                'spice-direct consoles are not offered here: no SPICE '
                'proxy is configured; use an HTML5 console')

    def _spice_endpoint(self, token):
        if spice_path(self._conf) == PROXY:
            # The proxy resolves the token with Nova itself.
            d = self._conf.desktops
            return {'host': d.spice_proxy_host, 'port': d.spice_proxy_port,
                    'tls_port': d.spice_proxy_tls_port, 'password': token}
        response = self._conn.compute.get(
            '/os-console-auth-tokens/%s' % token,
            microversion=CONSOLE_MICROVERSION)
        if response.status_code != 200:
            raise exceptions.Unavailable(
                'The compute service did not resolve the console token')
        details = response.json()['console']
        return {'host': details.get('host'), 'port': details.get('port'),
                'tls_port': details.get('tls_port'), 'password': token}

    # -- Kerbside -------------------------------------------------------------
    def _kerbside_session(self):
        with self._lock:
            if self._kerbside is None:
                d = self._conf.desktops
                self._kerbside = ks_session.Session(
                    verify=d.kerbside_ca_file or True,
                    timeout=d.kerbside_timeout)
            return self._kerbside

    def _kerbside_console(self, token):
        """Exchange Nova's console token for Kerbside's .vv.

        Kerbside checks the token with Nova (os-console-auth-tokens), so
        a .vv comes back only for a live console of this desktop; it
        points at Kerbside's SPICE proxy, with a password Kerbside made.
        Kerbside unreachable or slow is :class:`exceptions.Unavailable`
        (503), any other answer than a .vv :class:`exceptions.BadGateway`
        (502). Nova's token is in the URL: it is kept out of every log
        line and error message.
        """
        base = self._conf.desktops.kerbside_url.rstrip('/')
        url = '%s%s?%s' % (base, KERBSIDE_EXCHANGE,
                           urllib.parse.urlencode({'token': token}))
        # Logged after the except clauses: oslo.log appends the exception
        # being handled to a warning, and this one's text names the URL.
        failure = None
        try:
            response = self._kerbside_session().get(
                url, authenticated=False, raise_exc=False, log=False,
                redirect=False,
                headers={'Accept': 'application/x-virt-viewer'})
        except ks_exc.SSLError as e:
            failure = ('TLS failed (%s); check [desktops] kerbside_ca_file'
                       % _scrub(e, token, type(e).__name__))
        except ks_exc.ConnectionError as e:  # refused, timed out, reset
            failure = 'unreachable: %s' % _scrub(e, token, type(e).__name__)
        if failure is not None:
            LOG.warning('Kerbside at %s: %s', base, failure)
            raise exceptions.Unavailable(
                'The SPICE console proxy is unavailable; retry later')
        status = response.status_code
        text = response.text if status == 200 else ''
        if status != 200:
            # Kerbside's errors are {"error": ..., "status": ...}.
            detail = response.text[:200]
            try:
                detail = response.json().get('error') or detail
            except (ValueError, AttributeError):
                pass
            LOG.error('Kerbside at %s refused a console token: %d %s%s',
                      base, status, _scrub(detail, token, ''),
                      ' (is Nova\'s cloud in Kerbside\'s sources, and may '
                      'its user resolve console tokens?)'
                      if status == 404 else '')
            raise exceptions.BadGateway(
                'The SPICE console proxy refused the console (%d); retry '
                'later' % status)
        if len(text) > KERBSIDE_MAX_VV:
            LOG.error('Kerbside at %s answered %d characters, more than a '
                      '.vv holds', base, len(text))
            raise exceptions.BadGateway(
                'The SPICE console proxy gave no usable console')
        fields = _vv_fields(text)
        if fields is None:
            LOG.error('Kerbside at %s answered 200 without a usable .vv',
                      base)
            raise exceptions.BadGateway(
                'The SPICE console proxy gave no usable console')
        fields['vv'] = text
        return fields

    def revoke_consoles(self, server_id):
        """End every console of the server: sessions, tokens, connections.

        Through Kerbside: its console sessions and tokens for the server
        are terminated (no new connection; its proxies drop the live
        ones within seconds). Other paths hand out nothing revocable
        (the HTML5 consoles' Nova tokens are checked against the server's
        current port at connection time; spice_proxy_host is refused at
        start-up). Call before the server's SPICE port is freed.

        :raises exceptions.Unavailable: Kerbside unreachable or slow.
        :raises exceptions.BadGateway: Kerbside refused.
        """
        if spice_path(self._conf) != KERBSIDE:
            return
        d = self._conf.desktops
        url = consoles.terminate_url(d.kerbside_url, d.kerbside_source,
                                     server_id)
        token = consoles.api_token(d.kerbside_auth_secret)
        try:
            # The answer lists the tokens terminated: never logged.
            response = self._kerbside_session().post(
                url, authenticated=False, raise_exc=False, log=False,
                redirect=False,
                headers={'Accept': 'application/json',
                         'Authorization': 'Bearer %s' % token})
        except ks_exc.SSLError as e:
            LOG.warning('Kerbside at %s: TLS failed (%s); check [desktops] '
                        'kerbside_ca_file', d.kerbside_url,
                        type(e).__name__)
            raise exceptions.Unavailable(
                'The SPICE console proxy is unavailable; retry later')
        except ks_exc.ConnectionError as e:
            LOG.warning('Kerbside at %s: unreachable: %s', d.kerbside_url,
                        str(e) or type(e).__name__)
            raise exceptions.Unavailable(
                'The SPICE console proxy is unavailable; retry later')
        if response.status_code != 200:
            LOG.error('Kerbside at %s did not terminate the consoles of '
                      '%s: %d%s', d.kerbside_url, server_id,
                      response.status_code,
                      ' (does [desktops] kerbside_auth_secret match '
                      'Kerbside\'s AUTH_SECRET_SEED?)'
                      if response.status_code in (401, 422) else '')
            raise exceptions.BadGateway(
                'The SPICE console proxy refused to end the consoles (%d)'
                % response.status_code)
        LOG.info('Consoles of %s terminated at Kerbside', server_id)

    @_translate
    def cpu_seconds(self, server_id):
        """CPU time the server has used, from Nova's diagnostics, or None."""
        try:
            diag = self._conn.compute.get_server_diagnostics(server_id)
        except (sdk_exc.HttpException, sdk_exc.SDKException):
            return None
        total = 0
        for cpu in getattr(diag, 'cpu_details', None) or []:
            total += (cpu.get('time') or 0)
        return total / 1e9 if total else None


def _console_token(url):
    """Nova's console token: the last path element or the "token" value."""
    token = url.split('token=')[-1].split('&')[0].rstrip('/')
    return token.rsplit('/', 1)[-1]


def _scrub(value, token, default):
    """str(value) without ``token`` (URLs in errors carry it)."""
    text = str(value) or default
    for form in {token, urllib.parse.quote(token, safe='')}:
        if form:
            text = text.replace(form, '***')
    return text


def _vv_fields(text):
    """The SPICE endpoint of a .vv, as the JSON console gives it, or None.

    ``host``, ``port``, ``tls_port``, ``password``, and when present
    ``ca`` (PEM) and ``host_subject``: what a SPICE client that reads no
    .vv needs. None unless it is a ``[virt-viewer]`` file of type spice
    with a host, a port and a password.
    """
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
        vv = parser['virt-viewer']
    except (configparser.Error, KeyError):
        return None
    fields = {'host': vv.get('host'), 'port': _vv_port(vv.get('port')),
              'tls_port': _vv_port(vv.get('tls-port')),
              'password': vv.get('password')}
    if (vv.get('type') != 'spice' or not fields['host'] or
            not fields['password'] or False in (fields['port'],
                                                fields['tls_port']) or
            (fields['port'] is None and fields['tls_port'] is None)):
        return None
    if vv.get('ca'):
        # A .vv writes the PEM on one line, with "\n" for its newlines.
        fields['ca'] = vv['ca'].replace('\\n', '\n')
    if vv.get('host-subject'):
        fields['host_subject'] = vv['host-subject']
    return fields


def _vv_port(value):
    """A port of a .vv: None when absent, False when not a port."""
    if value is None or value == '':
        return None
    try:
        port = int(value)
    except ValueError:
        return False
    return port if 0 < port < 65536 else False
