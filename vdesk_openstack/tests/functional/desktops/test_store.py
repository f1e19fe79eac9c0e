"""The desktop store on sqlite, MariaDB and PostgreSQL.

"One desktop per subscriber" and "one open session per subscriber" must be
facts of every database the service supports, and each charging
transition must be won by exactly one of many concurrent workers.
MariaDB and PostgreSQL databases are provisioned per test with oslo.db's
provisioning (the ``openstack_citest`` user); in CI a missing server
fails the test instead of skipping it.
"""

import concurrent.futures
import datetime
import os
import textwrap
import threading
import types

from alembic import autogenerate
from alembic import migration as alembic_migration
import fixtures
from oslo_db import exception as db_exc
import sqlalchemy as sa
import testtools

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops.db import models
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import states
from vdesk_openstack.tests.functional.desktops import databases

IMSI = '001010000000001'


class _StoreTests(object):
    """Run against every backend; subclasses provide ``url()``."""

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'vdesk.conf')
        with open(path, 'w') as f:
            f.write(textwrap.dedent('''\
                [database]
                connection = {url}
                max_pool_size = 20
                ''').format(url=self.url(tmp)))
        self.store = db_api.DesktopStore(vdesk_conf.make_vdesk_conf([path]))
        self.addCleanup(self.store.engine.dispose)
        self.store.db_sync()

    def desktop(self, imsi=IMSI):
        return self.store.create_desktop(imsi, 'user', 'gold')

    def session(self, desktop):
        return self.store.open_session(desktop, states.BUILDING, {},
                                       'spice-direct', restored=False)

    # -- schema -------------------------------------------------------------
    def test_migrations_match_models(self):
        self.store.db_sync()  # idempotent at head
        with self.store.engine.connect() as conn:
            context = alembic_migration.MigrationContext.configure(
                conn, opts={'version_table': db_api.VERSION_TABLE})
            self.assertEqual('0004', context.get_current_revision())
            diff = autogenerate.compare_metadata(context,
                                                 models.Base.metadata)
        self.assertEqual([], diff)

    def test_hot_lookups_use_unique_indexes(self):
        inspector = sa.inspect(self.store.engine)

        def unique_columns(table):
            found = [tuple(u['column_names'])
                     for u in inspector.get_unique_constraints(table)]
            found += [tuple(i['column_names'])
                      for i in inspector.get_indexes(table) if i['unique']]
            return set(found)

        self.assertIn(('subscriber',), unique_columns('desktops'))
        self.assertIn(('instance_id',), unique_columns('desktops'))
        self.assertIn(('subscriber', 'is_open'), unique_columns('sessions'))

    # -- constraints ----------------------------------------------------------
    def test_one_desktop_per_subscriber(self):
        desktop = self.desktop()
        self.assertRaises(exceptions.Conflict, self.desktop)
        self.assertEqual(desktop['id'], self.store.get_desktop(IMSI)['id'])
        other = self.desktop('001010000000002')
        self.assertNotEqual(desktop['id'], other['id'])

    def test_one_desktop_per_subscriber_under_threads(self):
        barrier = threading.Barrier(8)

        def create(_):
            barrier.wait()
            try:
                return self.desktop()
            except exceptions.Conflict:
                return None

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            created = [d for d in pool.map(create, range(8)) if d]
        self.assertEqual(1, len(created))

    def test_one_instance_per_desktop(self):
        first = self.desktop()
        second = self.desktop('001010000000002')
        self.assertTrue(self.store.update_desktop(first['id'],
                                                  instance_id='i-1'))
        self.assertRaises(db_exc.DBDuplicateEntry, self.store.update_desktop,
                          second['id'], instance_id='i-1')
        self.assertEqual(first['id'],
                         self.store.get_desktop_by_instance('i-1')['id'])

    def test_one_open_session_per_subscriber(self):
        desktop = self.desktop()
        first = self.session(desktop)
        self.assertIsNotNone(first)
        self.assertIsNone(self.session(desktop))
        self.assertEqual(first['id'],
                         self.store.get_open_session(IMSI)['id'])
        # Ended sessions are history: any number of them, and a new one
        # may open.
        self.assertTrue(self.store.end_session(first['id'],
                                               states.CAUSE_USER_REQUEST))
        self.assertFalse(self.store.end_session(first['id'],
                                                states.CAUSE_USER_REQUEST))
        self.assertIsNone(self.store.get_open_session(IMSI))
        second = self.session(desktop)
        self.assertIsNotNone(second)
        self.store.end_session(second['id'], states.CAUSE_IDLE_TIMEOUT)
        self.assertIsNotNone(self.session(desktop))
        ended = self.store.get_session(first['id'])
        self.assertEqual(states.ENDED, ended['status'])
        self.assertEqual(states.CAUSE_USER_REQUEST,
                         ended['terminate_cause'])

    def test_desktop_and_open_session_in_one_lookup(self):
        self.assertEqual((None, None),
                         self.store.get_desktop_and_session(IMSI))
        desktop = self.desktop()
        other = self.desktop('001010000000002')
        self.session(other)  # another subscriber's session is not ours
        found, session = self.store.get_desktop_and_session(IMSI)
        self.assertEqual((desktop['id'], None), (found['id'], session))
        first = self.session(desktop)
        self.store.end_session(first['id'], states.CAUSE_USER_REQUEST)
        second = self.session(desktop)
        found, session = self.store.get_desktop_and_session(IMSI)
        self.assertEqual(desktop['id'], found['id'])
        self.assertEqual(second['id'], session['id'])  # the open one
        self.assertEqual({}, session['capabilities'])

    def test_begin_login(self):
        plan = types.SimpleNamespace(name='gold')
        asked = []

        def plan_of():
            asked.append(1)
            return plan

        def failing():
            raise exceptions.NoPlan()

        # Whatever the plan lookup raises leaves nothing written.
        self.assertRaises(exceptions.NoPlan, self.store.begin_login, IMSI,
                          'u', failing)
        self.assertIsNone(self.store.get_desktop(IMSI))
        desktop, session, got, fresh = self.store.begin_login(IMSI, 'u',
                                                              plan_of)
        self.assertEqual((None, plan, True), (session, got, fresh))
        self.assertEqual(('gold', states.CREATING),
                         (desktop['plan'], desktop['status']))
        self.assertEqual(desktop['id'], self.store.get_desktop(IMSI)['id'])
        again = self.store.begin_login(IMSI, 'u', plan_of)
        self.assertEqual((desktop['id'], None, plan, False),
                         (again[0]['id'],) + again[1:])
        self.assertEqual(2, len(asked))
        # An open session is the answer: the plan is not asked for.
        opened = self.session(desktop)
        found = self.store.begin_login(IMSI, 'u', plan_of)
        self.assertEqual((opened['id'], None, False),
                         (found[1]['id'],) + found[2:])
        self.assertEqual(2, len(asked))
        # A failed session is returned with the plan, to be replaced.
        self.store.update_session(opened['id'], status=states.ERROR)
        found = self.store.begin_login(IMSI, 'u', plan_of)
        self.assertEqual((opened['id'], plan), (found[1]['id'], found[2]))

    def test_begin_login_records_one_desktop_under_threads(self):
        plan = types.SimpleNamespace(name='gold')

        def begin(_):
            try:
                return self.store.begin_login(IMSI, 'u', lambda: plan)[3]
            except exceptions.Conflict:
                return False

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            fresh = list(pool.map(begin, range(8)))
        self.assertEqual(1, fresh.count(True))
        self.assertEqual(1, len(self.store.list_desktops()))

    def test_open_session_stores_the_desktop_values_with_it(self):
        desktop = self.desktop()
        values = {'instance_id': 'i-1', 'status': states.BUILDING}
        session = self.store.open_session(
            desktop, states.BUILDING, {}, 'novnc', restored=False,
            desktop_values=values)
        self.assertIsNotNone(session)
        stored = self.store.get_desktop(IMSI)
        self.assertEqual(('i-1', states.BUILDING),
                         (stored['instance_id'], stored['status']))
        # Refused session (one is open): the instance is stored anyway.
        values = {'instance_id': 'i-2', 'status': states.RESTORING}
        self.assertIsNone(self.store.open_session(
            desktop, states.RESTORING, {}, 'novnc', restored=True,
            desktop_values=values))
        stored = self.store.get_desktop(IMSI)
        self.assertEqual(('i-2', states.RESTORING),
                         (stored['instance_id'], stored['status']))
        self.assertEqual(session['id'],
                         self.store.get_open_session(IMSI)['id'])

    def test_desktops_by_instance_pages_in_uuid_order(self):
        instances = []
        for n in range(7):
            desktop = self.desktop('00101000000001%d' % n)
            instance = '%08x-0000-4000-8000-%012d' % (7 - n, n)
            if n != 3:  # one without an instance yet
                self.store.update_desktop(desktop['id'],
                                          instance_id=instance)
                instances.append(instance)
        walked = [d['instance_id']
                  for d in self.store.desktops_by_instance(page_size=2)]
        self.assertEqual(sorted(instances), walked)

    def test_conditional_updates(self):
        desktop = self.desktop()
        self.assertFalse(self.store.update_desktop(
            desktop['id'], expected_status=states.ACTIVE, fault='x'))
        self.assertTrue(self.store.update_desktop(
            desktop['id'], expected_status=(states.CREATING, states.ERROR),
            status=states.BUILDING))
        session = self.session(self.store.get_desktop(IMSI))
        self.assertFalse(self.store.update_session(
            session['id'], expected_status=states.ACTIVE, fault='x'))
        self.assertTrue(self.store.update_session(
            session['id'], expected_status=states.BUILDING,
            status=states.ACTIVE))

    def record(self, session, event_type='vdesk.session.start'):
        return charging.record(event_type, session,
                               {'instance_id': None}, None,
                               db_api.utcnow())

    def fresh(self, session):
        return self.store.get_session(session['id'])

    def numbers(self):
        return [db_api.record_number(r) for r in self.store.outbox_batch(50)]

    def test_records_are_numbered_0_1_2_and_never_twice(self):
        session = self.session(self.desktop())
        self.assertTrue(self.store.charge(
            session['id'], states.CHARGING_NONE, states.CHARGING_STARTED,
            self.record(session)))
        self.store.update_session(session['id'], status=states.ACTIVE)
        read = self.fresh(session)
        interim = self.record(read, 'vdesk.session.update')
        stop = self.record(read, 'vdesk.session.end')
        self.assertTrue(self.store.charge_interim(
            session['id'], read['last_interim_at'], db_api.utcnow(),
            interim))
        # A Stop built before that interim was queued would repeat its
        # number: the session ends, its Stop waits for a fresh read.
        self.assertTrue(self.store.end_session(
            session['id'], states.CAUSE_USER_REQUEST, charge=stop))
        self.assertEqual([0, 1], self.numbers())
        ended = self.store.ended_uncharged_sessions()
        self.assertEqual([session['id']], [s['id'] for s in ended])
        self.assertTrue(self.store.charge(
            session['id'], states.CHARGING_STARTED, states.CHARGING_ENDED,
            self.record(ended[0], 'vdesk.session.end')))
        self.assertEqual([0, 1, 2], self.numbers())
        self.assertEqual(3, self.fresh(session)['records'])

    def test_charge_exactly_once_under_threads_with_its_record(self):
        session = self.session(self.desktop())
        workers = 12
        barrier = threading.Barrier(workers)

        def claim(to_state, from_state):
            # Each worker reads the session, as the engine does.
            record = self.record(self.fresh(session), (
                'vdesk.session.start' if to_state == states.CHARGING_STARTED
                else 'vdesk.session.end'))
            barrier.wait()
            return self.store.charge(session['id'], from_state, to_state,
                                     record)

        for from_state, to_state in (
                (states.CHARGING_NONE, states.CHARGING_STARTED),
                (states.CHARGING_STARTED, states.CHARGING_ENDED)):
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                wins = list(pool.map(
                    lambda _: claim(to_state, from_state), range(workers)))
            self.assertEqual(1, wins.count(True), (from_state, to_state))
            self.assertEqual(to_state,
                             self.store.get_session(session['id'])
                             ['charging'])
        # One record per won transition, none for the losers.
        self.assertEqual(2, self.store.outbox_size())

    def test_interim_claimed_once_per_interval(self):
        session = self.session(self.desktop())
        self.store.update_session(session['id'], status=states.ACTIVE)
        self.store.charge(session['id'], states.CHARGING_NONE,
                          states.CHARGING_STARTED, self.record(session))
        read = self.store.get_session(session['id'])['last_interim_at']
        workers = 8
        barrier = threading.Barrier(workers)

        def claim(_):
            record = self.record(self.fresh(session), 'vdesk.session.update')
            barrier.wait()
            return self.store.charge_interim(
                session['id'], read, db_api.utcnow(), record)

        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            wins = list(pool.map(claim, range(workers)))
        self.assertEqual(1, wins.count(True))
        self.assertEqual(['vdesk.session.start', 'vdesk.session.update'],
                         [r['event_type'] for r in
                          self.store.outbox_batch(10)])

    def test_outbox_keeps_order_until_deleted(self):
        session = self.session(self.desktop())
        records = [self.record(session)]
        self.store.charge(session['id'], states.CHARGING_NONE,
                          states.CHARGING_STARTED, records[0])
        self.store.update_session(session['id'], status=states.ACTIVE)
        records.append(self.record(self.fresh(session),
                                   'vdesk.session.update'))
        self.store.charge_interim(session['id'], None, db_api.utcnow(),
                                  records[1])
        records.append(self.record(self.fresh(session), 'vdesk.session.end'))
        self.assertTrue(self.store.end_session(
            session['id'], states.CAUSE_USER_REQUEST, charge=records[2]))
        # The session is ended: a second end writes nothing.
        self.assertFalse(self.store.end_session(
            session['id'], states.CAUSE_USER_REQUEST,
            charge=self.record(session, 'vdesk.session.end')))
        batch = self.store.outbox_batch(10)
        self.assertEqual([r['id'] for r in records],
                         [r['id'] for r in batch])
        self.store.outbox_failed(batch[0]['seq'], 'broker down')
        first = self.store.outbox_batch(1)[0]
        self.assertEqual((1, 'broker down'),
                         (first['attempts'], first['last_error']))
        self.store.outbox_delete(batch[0]['seq'])
        self.assertEqual([r['id'] for r in records[1:]],
                         [r['id'] for r in self.store.outbox_batch(10)])

    def test_desktop_bound_to_the_user_of_its_first_login(self):
        plan = types.SimpleNamespace(name='gold')
        desktop, _, _, fresh = self.store.begin_login(IMSI, 'user-a',
                                                      lambda: plan)
        self.assertTrue(fresh)
        self.assertEqual('user-a', desktop['user_id'])
        self.assertRaises(exceptions.NotBound, self.store.begin_login,
                          IMSI, 'user-b', lambda: plan)
        self.assertEqual('user-a', self.store.get_desktop(IMSI)['user_id'])
        # A desktop recorded before bindings existed is bound once.
        other = '001010000000002'
        self.store.create_desktop(other, None, 'gold')
        self.store.begin_login(other, 'user-c', lambda: plan)
        self.assertEqual('user-c', self.store.get_desktop(other)['user_id'])
        self.assertRaises(exceptions.NotBound, self.store.begin_login,
                          other, 'user-d', lambda: plan)

    def test_open_sessions_walks_every_page_in_order(self):
        ids = []
        for i in range(7):
            desktop = self.desktop('0010100000001%02d' % i)
            session = self.session(desktop)
            status = states.ACTIVE if i % 2 else states.BUILDING
            self.store.update_session(session['id'], status=status)
            ids.append((session['id'], status))
        ended = self.session(self.desktop('001010000000200'))
        self.store.end_session(ended['id'], states.CAUSE_USER_REQUEST)
        walked = [s['id'] for s in self.store.open_sessions(
            (states.ACTIVE,), page_size=2)]
        self.assertEqual(sorted(i for i, st in ids if st == states.ACTIVE),
                         walked)
        self.assertEqual(sorted(i for i, _ in ids), [
            s['id'] for s in self.store.open_sessions(
                (states.ACTIVE, states.BUILDING), page_size=3)])

    def test_engine_queries(self):
        old = self.desktop()
        young = self.desktop('001010000000002')
        past = db_api.utcnow() - datetime.timedelta(seconds=300)
        with self.store.engine.begin() as conn:
            conn.execute(sa.update(models.Desktop).where(
                models.Desktop.id == old['id']).values(updated_at=past))
        cutoff = db_api.utcnow() - datetime.timedelta(seconds=60)
        self.assertEqual([old['id']], [
            d['id'] for d in self.store.creating_desktops(cutoff)])
        self.assertEqual(
            [IMSI, '001010000000002'],
            [d['subscriber'] for d in self.store.list_desktops()])
        self.assertEqual(['001010000000002'], [
            d['subscriber'] for d in self.store.list_desktops(marker=IMSI)])

        session = self.session(young)
        self.store.update_session(session['id'], status=states.ACTIVE,
                                  last_seen_at=past)
        self.assertEqual([session['id']], [
            s['id'] for s in self.store.idle_sessions(cutoff)])
        self.assertEqual([session['id']], [
            s['id'] for s in self.store.open_sessions((states.ACTIVE,))])
        self.store.charge(session['id'], states.CHARGING_NONE,
                          states.CHARGING_STARTED, self.record(session))
        self.store.end_session(session['id'], states.CAUSE_IDLE_TIMEOUT)
        self.assertEqual([session['id']], [
            s['id'] for s in self.store.ended_uncharged_sessions()])
        self.assertEqual([], list(self.store.open_sessions(
            (states.ACTIVE,))))

    def test_delete_desktop_removes_its_sessions(self):
        desktop = self.desktop()
        session = self.session(desktop)
        self.store.end_session(session['id'], states.CAUSE_USER_REQUEST)
        self.session(desktop)
        self.assertTrue(self.store.delete_desktop(desktop['id']))
        self.assertIsNone(self.store.get_desktop(IMSI))
        self.assertIsNone(self.store.get_session(session['id']))
        self.assertIsNone(self.store.get_open_session(IMSI))


class SqliteStoreTest(_StoreTests, testtools.TestCase):

    def url(self, tmp):
        return 'sqlite:///%s/desktops.sqlite' % tmp


class MySQLStoreTest(_StoreTests, testtools.TestCase):

    def url(self, tmp):
        return databases.provision_database(self, 'mysql')


class PostgresqlStoreTest(_StoreTests, testtools.TestCase):

    def url(self, tmp):
        return databases.provision_database(self, 'postgresql')
