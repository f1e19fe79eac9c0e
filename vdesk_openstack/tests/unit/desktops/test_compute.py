"""Compute's paging over Nova's server list and its flavors (pure logic).

Nova's real answers are exercised by the functional reconciler and
scheduler tests; here stand-ins reproduce the habits Compute must survive:
a server list that restarts or loses its marker, and private flavors that
a non-admin sees only once its project has access.
"""

import types

import fixtures
from openstack import exceptions as sdk_exc
import testtools

from vdesk_openstack.desktops import compute
from vdesk_openstack.desktops import exceptions


def _server(n, status='ACTIVE'):
    return types.SimpleNamespace(id='%08d-0000-4000-8000-000000000000' % n,
                                 status=status)


class FakeNova(object):
    """``servers(...)`` of openstacksdk's compute proxy over a list."""

    def __init__(self, servers, building=(), gone=()):
        self.all = sorted(servers, key=lambda s: s.id)
        self.building = set(building)  # markers Nova lists from the start
        self.gone = set(gone)  # markers Nova no longer knows
        self.calls = []

    def servers(self, details, sort_key, sort_dir, limit, paginated,
                marker=None):
        assert (details, sort_key, sort_dir, paginated) == (
            True, 'uuid', 'asc', False)
        self.calls.append(marker)
        if marker in self.gone:
            raise sdk_exc.BadRequestException(
                message='marker [%s] not found' % marker)
        if marker is None or marker in self.building:
            return iter(self.all[:limit])
        ids = [s.id for s in self.all]
        return iter(self.all[ids.index(marker) + 1:][:limit])


def _compute(nova):
    return compute.Compute(types.SimpleNamespace(compute=nova), conf=None)


class ServersByIdTest(testtools.TestCase):

    def test_pages_in_order_once_each(self):
        servers = [_server(n) for n in range(7)]
        nova = FakeNova(servers)
        walked = list(_compute(nova).servers_by_id(page_size=3))
        self.assertEqual([s.id for s in servers], [s.id for s in walked])
        # 3 + 3 + 1, then an empty page ends it.
        self.assertEqual(4, len(nova.calls))

    def test_markers_still_building_are_avoided(self):
        servers = [_server(n) for n in range(5)]
        servers[2].status = 'BUILD'  # would be the first page's marker
        nova = FakeNova(servers, building={servers[2].id})
        walked = list(_compute(nova).servers_by_id(page_size=3))
        self.assertEqual([s.id for s in servers], [s.id for s in walked])
        self.assertEqual(servers[1].id, nova.calls[1])

    def test_a_restarted_listing_yields_nothing_twice(self):
        servers = [_server(n, 'BUILD') for n in range(5)]
        nova = FakeNova(servers, building={s.id for s in servers})
        walk = _compute(nova).servers_by_id(page_size=3)
        walked = [next(walk).id for _ in range(3)]
        self.assertEqual([s.id for s in servers[:3]], walked)
        # Nova starts over with a full page: nothing is yielded twice, and
        # the walk stops rather than pretend it saw everything.
        self.assertRaises(exceptions.Unavailable, next, walk)

    def test_a_restarted_short_listing_is_its_end(self):
        servers = [_server(0), _server(1, 'BUILD')]
        nova = FakeNova(servers, building={servers[1].id})
        walked = [s.id for s in _compute(nova).servers_by_id(page_size=2)]
        self.assertEqual([s.id for s in servers], walked)
        walked = [s.id for s in _compute(nova).servers_by_id(page_size=3)]
        self.assertEqual([s.id for s in servers], walked)

    def test_a_deleted_marker_is_replaced_by_an_earlier_one(self):
        servers = [_server(n) for n in range(6)]
        nova = FakeNova(servers, gone={servers[2].id})
        walked = list(_compute(nova).servers_by_id(page_size=3))
        self.assertEqual([s.id for s in servers], [s.id for s in walked])
        self.assertEqual([None, servers[2].id, servers[1].id],
                         nova.calls[:3])

    def test_no_marker_left_is_unavailable(self):
        servers = [_server(0), _server(1)]
        nova = FakeNova(servers, gone={servers[0].id})
        walk = _compute(nova).servers_by_id(page_size=1)
        self.assertEqual(servers[0].id, next(walk).id)
        self.assertRaises(exceptions.Unavailable, next, walk)


PLAN = types.SimpleNamespace(name='family', ram_mb=2048, vcpus=2, disk_gb=1,
                             priority='gold')
DEVICES = {'hw:sound_model': 'ich9'}


class FakeFlavors(object):
    """Nova's flavor calls of openstacksdk's compute proxy, as a dict.

    ``visible`` says whether ``get_flavor`` finds a flavor, as Nova lets a
    non-admin find a private flavor only once its project has access.
    """

    def __init__(self, admin=True):
        self.admin = admin
        self.flavors = {}
        self.calls = []

    def _get(self, flavor_id):
        flavor = self.flavors.get(flavor_id)
        if flavor is None or not (self.admin or flavor['access']):
            raise sdk_exc.NotFoundException('no flavor %s' % flavor_id)
        return flavor

    def get_flavor(self, flavor_id, get_extra_specs=False):
        self.calls.append('get')
        flavor = self._get(flavor_id)
        return types.SimpleNamespace(id=flavor_id,
                                     extra_specs=dict(flavor['specs']))

    def create_flavor(self, id, name, ram, vcpus, disk, is_public):
        self.calls.append('create')
        if id in self.flavors:
            raise sdk_exc.ConflictException('flavor %s exists' % id)
        self.flavors[id] = {'name': name, 'size': (ram, vcpus, disk),
                            'public': is_public, 'specs': {}, 'access': []}

    def create_flavor_extra_specs(self, flavor_id, specs):
        self.calls.append('specs')
        self._get(flavor_id)['specs'].update(specs)

    def flavor_add_tenant_access(self, flavor_id, project_id):
        self.calls.append('access')
        access = self._get(flavor_id)['access']
        if project_id in access:
            raise sdk_exc.ConflictException('access exists')
        access.append(project_id)

    def create_server(self, **kwargs):
        self.calls.append(('server', kwargs))
        return types.SimpleNamespace(id='server-1')


def _flavor_compute(nova):
    conf = types.SimpleNamespace(desktops=types.SimpleNamespace(
        flavor_prefix='vdesk-', network='none'))
    conn = types.SimpleNamespace(compute=nova, current_project_id='desktops')
    return compute.Compute(conn, conf)


class EnsureFlavorTest(testtools.TestCase):

    def test_creates_a_private_flavor_with_the_tier_and_access(self):
        nova = FakeFlavors()
        flavor_id = _flavor_compute(nova).ensure_flavor(PLAN, DEVICES, 'p1')
        flavor = nova.flavors[flavor_id]
        self.assertEqual('vdesk-family.gold-p1', flavor['name'])
        self.assertEqual((2048, 2, 1), flavor['size'])
        self.assertFalse(flavor['public'])
        self.assertEqual({'hw:sound_model': 'ich9', 'vdesk:tier': 'gold'},
                         flavor['specs'])
        self.assertEqual(['desktops'], flavor['access'])
        # Specs before access: a non-admin sees it complete or not at all.
        self.assertEqual(['get', 'create', 'specs', 'access'], nova.calls)
        self.assertEqual({'hw:sound_model': 'ich9'}, DEVICES)

    def test_same_flavor_for_every_worker_and_asked_once(self):
        nova = FakeFlavors()
        first = _flavor_compute(nova).ensure_flavor(PLAN, DEVICES, 'p1')
        service = _flavor_compute(nova)
        self.assertEqual(first, service.ensure_flavor(PLAN, DEVICES, 'p1'))
        self.assertEqual(first, service.ensure_flavor(PLAN, DEVICES, 'p1'))
        self.assertEqual(['get', 'create', 'specs', 'access', 'get'],
                         nova.calls)
        self.assertEqual(1, len(nova.flavors))

    def test_a_new_tier_never_reuses_the_old_flavor(self):
        nova = FakeFlavors()
        service = _flavor_compute(nova)
        gold = service.ensure_flavor(PLAN, DEVICES, 'p1')
        bronze_plan = types.SimpleNamespace(
            **dict(vars(PLAN), priority='bronze'))
        bronze = service.ensure_flavor(bronze_plan, DEVICES, 'p1')
        self.assertNotEqual(gold, bronze)
        self.assertEqual('vdesk-family.bronze-p1',
                         nova.flavors[bronze]['name'])
        self.assertEqual('bronze', nova.flavors[bronze]['specs']['vdesk:tier'])
        self.assertEqual('gold', nova.flavors[gold]['specs']['vdesk:tier'])

    def test_a_flavor_lacking_its_tier_is_completed(self):
        nova = FakeFlavors()
        flavor_id = _flavor_compute(nova).ensure_flavor(PLAN, DEVICES, 'p1')
        del nova.flavors[flavor_id]['specs']['vdesk:tier']
        nova.calls = []
        self.assertEqual(flavor_id, _flavor_compute(nova).ensure_flavor(
            PLAN, DEVICES, 'p1'))
        self.assertEqual('gold',
                         nova.flavors[flavor_id]['specs']['vdesk:tier'])
        self.assertEqual(['get', 'specs'], nova.calls)

    def test_a_flavor_another_worker_left_half_made_is_finished(self):
        # Created, then the worker stopped: a non-admin cannot see it.
        nova = FakeFlavors()
        flavor_id = _flavor_compute(nova).ensure_flavor(PLAN, DEVICES, 'p1')
        nova.flavors[flavor_id].update(specs={}, access=[])
        nova.calls = []
        self.assertEqual(flavor_id, _flavor_compute(nova).ensure_flavor(
            PLAN, DEVICES, 'p1'))
        self.assertEqual(['get', 'specs'], nova.calls)
        nova.flavors[flavor_id]['access'] = []
        nova.admin, nova.calls = False, []
        self.assertRaises(exceptions.Unavailable,
                          _flavor_compute(nova).ensure_flavor, PLAN, DEVICES,
                          'p1')
        self.assertEqual(['get', 'create', 'specs'], nova.calls)
        # Once an admin granted access, the member finds it.
        nova.flavors[flavor_id]['access'] = ['desktops']
        self.assertEqual(flavor_id, _flavor_compute(nova).ensure_flavor(
            PLAN, DEVICES, 'p1'))

    def test_existing_access_is_no_error(self):
        nova = FakeFlavors()
        service = _flavor_compute(nova)
        flavor_id = service.ensure_flavor(PLAN, DEVICES, 'p1')
        nova.flavors[flavor_id]['specs'] = {}
        # A worker that missed it (get raced the creation) creates again.
        service._create_flavor(flavor_id, 'vdesk-family.gold-p1', PLAN,
                               {'vdesk:tier': 'gold'})
        self.assertEqual(['desktops'], nova.flavors[flavor_id]['access'])
        self.assertEqual({'vdesk:tier': 'gold'},
                         nova.flavors[flavor_id]['specs'])

    def test_member_without_the_flavor_gets_the_admin_command(self):
        nova = FakeFlavors(admin=False)
        logger = self.useFixture(fixtures.FakeLogger())
        self.assertRaises(exceptions.Unavailable,
                          _flavor_compute(nova).ensure_flavor, PLAN, DEVICES,
                          'p1')
        flavor_id = list(nova.flavors)[0]
        self.assertIn(
            'As an admin, run: openstack flavor create --id %s --private '
            '--project desktops --ram 2048 --vcpus 2 --disk 1 --property '
            'hw:sound_model=ich9 --property vdesk:tier=gold '
            'vdesk-family.gold-p1' % flavor_id, logger.output)


class CreateServerTest(testtools.TestCase):

    def test_no_scheduler_hint_is_sent(self):
        nova = FakeFlavors()
        server_id = _flavor_compute(nova).create_server(
            {'subscriber': '001010000000001', 'id': 'd1'}, 'flavor-1',
            'image-1', 'gold')
        self.assertEqual('server-1', server_id)
        (_, kwargs), = nova.calls
        self.assertNotIn('scheduler_hints', kwargs)
        self.assertEqual('flavor-1', kwargs['flavor_id'])
        self.assertEqual({'vdesk_subscriber': '001010000000001',
                          'vdesk_desktop_id': 'd1'}, kwargs['metadata'])
