"""Compute's own paging over Nova's server list (pure logic).

Nova's real answers are exercised by the functional reconciler tests;
here a stand-in list reproduces the two habits the paging must survive.
"""

import types

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
