"""Nova, as the desktop service uses it, through openstacksdk.

A thin adapter: flavors per (plan, device profile), servers tagged with
the subscriber and the desktop's record id in their metadata (the
reconciler finds orphans by it), the ``vdesk_priority`` scheduler hint of
contract 4.4, shelve/offload, unshelve, start, consoles and diagnostics.
Nova or Keystone being unreachable becomes :class:`Unavailable` (503).
"""

import functools
import threading

from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc
from oslo_log import log as logging

from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import states

LOG = logging.getLogger(__name__)

META_SUBSCRIBER = 'vdesk_subscriber'
META_DESKTOP = 'vdesk_desktop_id'
HINT = 'vdesk_priority'
# spice-direct consoles need compute API 2.99.
CONSOLE_MICROVERSION = '2.99'


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

    def __init__(self, connection, conf):
        self._conn = connection
        self._conf = conf
        self._flavors = {}
        self._lock = threading.Lock()

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
        """The flavor of ``plan`` with ``extra_specs``, found or created."""
        name = '%s%s-%s' % (self._conf.desktops.flavor_prefix, plan.name,
                            profile)
        with self._lock:
            if name in self._flavors:
                return self._flavors[name]
        compute = self._conn.compute
        flavor = compute.find_flavor(name, ignore_missing=True)
        if flavor is None:
            try:
                flavor = compute.create_flavor(
                    name=name, ram=plan.ram_mb, vcpus=plan.vcpus,
                    disk=plan.disk_gb, is_public=False)
                if extra_specs:
                    try:
                        compute.create_flavor_extra_specs(flavor,
                                                          extra_specs)
                    except Exception:
                        # A flavor without its devices must not be found
                        # and reused later.
                        compute.delete_flavor(flavor, ignore_missing=True)
                        raise
                LOG.info('Created flavor %s for plan %s', name, plan.name)
            except sdk_exc.ConflictException:
                # Another worker created it meanwhile.
                flavor = compute.find_flavor(name)
        with self._lock:
            self._flavors[name] = flavor.id
        return flavor.id

    # -- servers --------------------------------------------------------------
    @_translate
    def create_server(self, desktop, flavor_id, image_id, tier):
        server = self._conn.compute.create_server(
            name='desktop-%s' % desktop['subscriber'],
            flavor_id=flavor_id, image_id=image_id,
            networks=self._conf.desktops.network,
            metadata={META_SUBSCRIBER: desktop['subscriber'],
                      META_DESKTOP: desktop['id']},
            scheduler_hints={HINT: tier})
        return server.id

    @_translate
    def get_server(self, server_id):
        """The server, or None if Nova does not know it (deleted)."""
        try:
            return self._conn.compute.get_server(server_id)
        except sdk_exc.NotFoundException:
            return None

    @_translate
    def find_desktop_server(self, desktop):
        """The server created for ``desktop`` (by its metadata), or None."""
        for server in self._conn.compute.servers(
                details=True, name='^desktop-%s$' % desktop['subscriber']):
            if (server.metadata or {}).get(META_DESKTOP) == desktop['id']:
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
        """Connection info of a remote console of ``console_type``."""
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
        info = {'type': console_type, 'url': console['url']}
        if console_type == 'spice-direct':
            info.update(self._spice_endpoint(console['url']))
        return info

    def _spice_endpoint(self, url):
        # The token is the last path element or the "token" query value.
        token = url.split('token=')[-1].split('&')[0].rstrip('/')
        token = token.rsplit('/', 1)[-1]
        response = self._conn.compute.get(
            '/os-console-auth-tokens/%s' % token,
            microversion=CONSOLE_MICROVERSION)
        if response.status_code != 200:
            raise exceptions.Unavailable(
                'The compute service did not resolve the console token')
        details = response.json()['console']
        return {'host': details.get('host'), 'port': details.get('port'),
                'tls_port': details.get('tls_port'), 'password': token}

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
