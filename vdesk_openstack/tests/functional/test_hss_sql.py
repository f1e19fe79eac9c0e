"""The embedded SQL HSS on sqlite, MariaDB and PostgreSQL.

MariaDB and PostgreSQL come from oslo.db's opportunistic fixtures (the
``openstack_citest`` user that tools/test-setup.sh creates); each test gets
its own freshly provisioned database. In CI a missing server fails the test
instead of skipping it.
"""

import concurrent.futures
import os
import secrets
import textwrap
import time

from alembic import autogenerate
from alembic import migration as alembic_migration
import fixtures
from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy as sa
import testtools

from vdesk_openstack.aka import exceptions as aka_exc
from vdesk_openstack.aka import sqn as aka_sqn
from vdesk_openstack.aka import usim as aka_usim
from vdesk_openstack.aka import vectors
from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack import hss
from vdesk_openstack.hss import api
from vdesk_openstack.hss import challenges
from vdesk_openstack.hss import exceptions
from vdesk_openstack.hss.sql import migration
from vdesk_openstack.hss.sql import models
from vdesk_openstack.tests import services

K = bytes.fromhex('465b5ce8b199b49faa5f0a2ee238a6bc')
OPC = bytes.fromhex('cd63cb71954a9f4e48a5994e37a02baf')
GOLD = api.Plan(name='gold', vcpus=4, ram_mb=8192, disk_gb=80,
                priority='gold', image='desktop-gold')


def _compare_type(context, inspected_column, metadata_column, inspected_type,
                  metadata_type):
    # MariaDB reflects LargeBinary(16) as TINYBLOB: the same column.
    if isinstance(metadata_type, sa.LargeBinary):
        return False
    return None


class _HssTests(object):
    """Tests run against every backend; subclasses provide ``url``."""

    def make_hss(self, key_file=None):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'vdesk.conf')
        with open(path, 'w') as f:
            f.write(textwrap.dedent('''\
                [hss]
                connection = {url}
                key_file = {key}
                ''').format(url=self.url(),
                            key=key_file or os.path.join(tmp, 'hss.key')))
        driver = hss.get_driver(vdesk_conf.make_vdesk_conf([path]))
        self.addCleanup(driver.engine.dispose)
        return driver

    def setUp(self):
        super().setUp()
        self.hss = self.make_hss()
        self.assertTrue(self.hss.db_sync())
        self.hss.add_plan(GOLD)

    def add(self, imsi='001010000000001', sqn=0, plan='gold'):
        return self.hss.add_subscriber(imsi, K, OPC, sqn=sqn, plan=plan)

    # -- schema -----------------------------------------------------------
    def test_db_sync_is_idempotent_and_matches_models(self):
        self.assertFalse(self.hss.db_sync())  # key exists, schema at head
        with self.hss.engine.connect() as conn:
            context = alembic_migration.MigrationContext.configure(
                conn, opts={'compare_type': _compare_type,
                            'version_table': migration.VERSION_TABLE})
            self.assertEqual('0003', context.get_current_revision())
            diff = autogenerate.compare_metadata(context,
                                                 models.Base.metadata)
        self.assertEqual([], diff)

    def test_upgrade_from_0002_keeps_challenges_drops_imsi_counters(self):
        engine = self.hss.engine
        models.Base.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql('DROP TABLE %s' % migration.VERSION_TABLE)
        migration.upgrade(engine, '0002')
        counts = sa.table('aka_challenge_counts', sa.column('subject'),
                          sa.column('period'), sa.column('hits'))
        pending = sa.table('aka_challenges', sa.column('id'),
                           sa.column('imsi'), sa.column('rand'),
                           sa.column('xres_digest'),
                           sa.column('expires_at'))
        with engine.begin() as conn:
            conn.execute(counts.insert(), [
                {'subject': 'imsi:001010000000001', 'period': 1, 'hits': 9},
                {'subject': 'addr:192.0.2.1', 'period': 1, 'hits': 3}])
            conn.execute(pending.insert().values(
                id='k' * 64, imsi='001010000000001', rand=b'r' * 16,
                xres_digest=b'd' * 32, expires_at=time.time() + 60))
        migration.upgrade(engine)
        self.assertEqual('0003', migration.current_revision(engine))
        with engine.connect() as conn:
            self.assertEqual(['addr:192.0.2.1'], conn.execute(sa.select(
                models.AkaChallengeCount.subject)).scalars().all())
            self.assertEqual([('001010000000001', None)], conn.execute(
                sa.select(models.AkaChallenge.imsi,
                          models.AkaChallenge.source)).all())

    # -- provisioning -----------------------------------------------------
    def test_provisioning_errors(self):
        self.add()
        self.assertRaises(exceptions.SubscriberExists, self.add)
        self.assertRaises(exceptions.PlanNotFound, self.add,
                          '001010000000002', plan='platinum')
        self.assertRaises(exceptions.PlanExists, self.hss.add_plan, GOLD)
        self.assertRaises(exceptions.SubscriberNotFound,
                          self.hss.get_subscriber, '001010000000009')
        # Nothing half-written by the failed calls.
        self.assertEqual(['001010000000001'],
                         [s.imsi for s in self.hss.list_subscribers()])

    def test_plan_of_subscriber(self):
        self.add()
        self.hss.add_subscriber('001010000000002', K, OPC)
        self.assertEqual(GOLD, self.hss.get_plan('001010000000001'))
        self.assertIsNone(self.hss.get_plan('001010000000002'))
        self.assertIsNone(self.hss.get_plan('001010000000003'))

    def test_secrets_are_encrypted_at_rest_and_bound_to_imsi(self):
        self.add('001010000000001')
        self.add('001010000000002')
        with self.hss.engine.begin() as conn:
            rows = dict(conn.execute(sa.select(
                models.Subscriber.imsi, models.Subscriber.secrets)).all())
            for blob in rows.values():
                self.assertNotIn(K, bytes(blob))
                self.assertNotIn(OPC, bytes(blob))
                self.assertNotIn(K.hex().encode(), bytes(blob))
            # Swap the ciphertexts: neither row decrypts any more.
            conn.execute(sa.update(models.Subscriber).where(
                models.Subscriber.imsi == '001010000000001').values(
                secrets=rows['001010000000002']))
        self.assertRaises(exceptions.KeyFileError,
                          self.hss.authentication_vector, '001010000000001')
        self.hss.authentication_vector('001010000000002')

    def test_wrong_key_file_is_a_clear_error(self):
        self.add()
        other_key = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'other.key')
        other = self.make_hss(key_file=other_key)
        other.db_sync()  # creates a different key
        self.assertRaises(exceptions.KeyFileError,
                          other.authentication_vector, '001010000000001')

    # -- authentication ---------------------------------------------------
    def test_vectors_advance_sqn_and_verify_in_a_usim(self):
        self.add(sqn=aka_sqn.join(41, 7))
        usim = aka_usim.Usim(K, OPC)
        vec = self.hss.authentication_vector('001010000000001')
        self.assertEqual(aka_sqn.join(42, 8), vec.sqn)
        self.assertEqual(vec.sqn, self.hss.get_subscriber(
            '001010000000001').sqn)
        answer = usim.authenticate(vec.rand, vec.autn)
        self.assertEqual(vec.xres, answer.res)
        self.assertEqual(vec, vectors.generate_vector(K, OPC, vec.sqn,
                                                      b'\x80\x00', vec.rand))
        self.assertRaises(exceptions.SubscriberNotFound,
                          self.hss.authentication_vector, '001010000000009')

    def test_concurrent_vectors_get_distinct_sqns(self):
        self.add()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            vecs = list(pool.map(
                lambda _: self.hss.authentication_vector('001010000000001'),
                range(40)))
        self.assertEqual(40, len({v.sqn for v in vecs}))
        final = self.hss.get_subscriber('001010000000001').sqn
        self.assertEqual(40, aka_sqn.split(final)[0])
        self.assertEqual(max(v.sqn for v in vecs), final)

    def test_resynchronise(self):
        self.add()
        vec = self.hss.authentication_vector('001010000000001')
        sqn_ms = aka_sqn.join(900, 3)
        auts = vectors.build_auts(K, OPC, vec.rand, sqn_ms)
        self.hss.resynchronise('001010000000001', vec.rand, auts)
        self.assertEqual(sqn_ms, self.hss.get_subscriber(
            '001010000000001').sqn)
        self.assertGreater(aka_sqn.split(self.hss.authentication_vector(
            '001010000000001').sqn)[0], 900)
        # The SIM is a little behind the HSS (within DELTA): the next SQN
        # is acceptable to it, nothing changes. A forged AUTS is refused.
        before = self.hss.get_subscriber('001010000000001').sqn
        self.hss.resynchronise('001010000000001', vec.rand, vectors.build_auts(
            K, OPC, vec.rand, aka_sqn.join(5, 0)))
        self.assertEqual(before, self.hss.get_subscriber(
            '001010000000001').sqn)
        forged = bytes([auts[0] ^ 1]) + auts[1:]
        self.assertRaises(exceptions.ResyncFailed, self.hss.resynchronise,
                          '001010000000001', vec.rand, forged)
        self.assertEqual(before, self.hss.get_subscriber(
            '001010000000001').sqn)
        self.assertRaises(aka_exc.InvalidAuts, vectors.verify_auts, K, OPC,
                          vec.rand, forged)

    def test_resynchronise_lowers_sqn_he_beyond_delta(self):
        # The HSS ran more than DELTA ahead of the SIM: the SIM refuses
        # every challenge (C.2.1) until SQN_HE is reset to SQN_MS.
        self.add(sqn=aka_sqn.join(aka_sqn.DELTA + 5000, 0))
        usim = aka_usim.Usim(K, OPC)
        vec = self.hss.authentication_vector('001010000000001')
        error = self.assertRaises(aka_exc.SyncFailure, usim.authenticate,
                                  vec.rand, vec.autn)
        self.hss.resynchronise('001010000000001', vec.rand, error.auts)
        self.assertEqual(0, self.hss.get_subscriber('001010000000001').sqn)
        vec = self.hss.authentication_vector('001010000000001')
        self.assertEqual(vec.xres, usim.authenticate(vec.rand,
                                                     vec.autn).res)

    def test_unknown_imsi_runs_the_statements_of_a_known_one(self):
        self.add()
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(' '.join(statement.split()))

        sa.event.listen(self.hss.engine, 'before_cursor_execute', record)
        self.addCleanup(sa.event.remove, self.hss.engine,
                        'before_cursor_execute', record)
        self.hss.authentication_vector('001010000000001')
        known, statements[:] = list(statements), []
        self.assertRaises(exceptions.SubscriberNotFound,
                          self.hss.authentication_vector, '001010000000009')
        self.assertEqual(known, statements)
        self.assertEqual(3, len([s for s in known
                                 if 'subscribers' in s]), known)
        # And the unknown IMSI left no trace.
        self.assertEqual(['001010000000001'],
                         [s.imsi for s in self.hss.list_subscribers()])

    # -- gateway state ----------------------------------------------------
    def make_store(self):
        return challenges.ChallengeStore(self.hss.database)

    def count_rows(self, model):
        with self.hss.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(
                model)).scalar_one()

    def test_challenge_is_consumed_exactly_once(self):
        store = self.make_store()
        context = secrets.token_urlsafe(32)
        challenge = challenges.Challenge(
            imsi='001010000000001', rand=b'r' * 16, xres_digest=b'd' * 32,
            expires_at=time.time() + 60)
        store.store(context, challenge)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda _: store.consume(context),
                                range(16)))
        winners = [g for g in got if g is not None]
        self.assertEqual([challenge], winners)
        self.assertIsNone(store.consume('unknown-context'))
        decoy = challenges.Challenge(imsi='001010000000002', rand=b'r' * 16,
                                     xres_digest=None, expires_at=1.0)
        store.store(context + 'x', decoy)
        self.assertEqual(decoy, store.consume(context + 'x'))

    def test_rate_bound_per_address_and_in_total(self):
        store = self.make_store()
        bounds = challenges.RateBounds(window=60, per_address=3, total=5)
        now = 6000.0  # window 100
        admit = store.admit
        for _ in range(3):
            self.assertTrue(admit('192.0.2.1', bounds, now))
        self.assertFalse(admit('192.0.2.1', bounds, now))
        # Another address has its own bound, up to the total; the request
        # refused for its address did not count in it.
        self.assertTrue(admit('2001:db8::/64', bounds, now))
        self.assertTrue(admit('192.0.2.2', bounds, now))
        self.assertFalse(admit('192.0.2.3', bounds, now))
        # 4 addresses (the last one counted before the total refused it)
        # and the total; nothing per IMSI.
        self.assertEqual(4 + 1, self.count_rows(models.AkaChallengeCount))
        # The next window starts afresh, in the same rows.
        self.assertTrue(admit('192.0.2.1', bounds, now + 60))
        self.assertTrue(admit('192.0.2.3', bounds, now + 60))
        # (The purge, due again, dropped the rows of the past window.)
        self.assertEqual(2 + 1, self.count_rows(models.AkaChallengeCount))
        # 0 is no bound; no address (not over HTTP) counts the total only.
        free = challenges.RateBounds(window=60, per_address=0, total=0)
        for _ in range(10):
            self.assertTrue(admit('192.0.2.1', free, now))
        total_only = challenges.RateBounds(window=60, per_address=1,
                                           total=1)
        self.assertTrue(admit(None, total_only, now + 120))
        self.assertFalse(admit(None, total_only, now + 120))

    def test_rate_bound_holds_under_concurrency(self):
        stores = [self.make_store(), self.make_store()]
        bounds = challenges.RateBounds(window=3600, per_address=7, total=9)
        now = time.time()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            got = list(pool.map(
                lambda i: stores[i % 2].admit(('::1', '::2')[i % 3 == 0],
                                              bounds, now), range(30)))
        # ::2 (10 requests) gets 7; ::1 (20) what the total leaves.
        self.assertEqual(9, got.count(True))
        self.assertEqual(3, self.count_rows(models.AkaChallengeCount))

    def test_old_counters_are_purged(self):
        store = self.make_store()
        bounds = challenges.RateBounds(window=10, per_address=5, total=5)
        store.admit('192.0.2.1', bounds, 1000.0)
        self.assertEqual(2, self.count_rows(models.AkaChallengeCount))
        # Next request 40 s later (another window), purge due: the
        # previous windows' rows of other subjects go.
        store._last_purge = 0.0
        store.admit('192.0.2.2', bounds, 1040.0)
        self.assertEqual(2, self.count_rows(models.AkaChallengeCount))

    def test_longest_address_subject_is_stored(self):
        # An address as text, IPv6 with brackets, zone and port.
        head = '[%s%%' % (':'.join(['ffff'] * 6) + ':255.255.255.255')
        longest = '%s%s]:65535' % (
            head, 'z' * (models.ADDRESS_LENGTH - len(head) - 7))
        self.assertEqual(models.ADDRESS_LENGTH, len(longest))
        self.assertTrue(self.make_store().admit(
            longest, challenges.RateBounds(window=60, per_address=1)))
        with self.hss.engine.connect() as conn:
            self.assertEqual(['addr:' + longest], conn.execute(sa.select(
                models.AkaChallengeCount.subject)).scalars().all())

    def test_outstanding_challenges_of_an_imsi_are_bounded(self):
        store = self.make_store()
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(' '.join(statement.split()))

        def flood(imsi, sim_first):
            statements[:] = []
            contexts = []
            for i in range(8):
                source = 'sim' if sim_first and i == 0 else 'stranger'
                contexts.append(secrets.token_urlsafe(32))
                store.store(contexts[-1], challenges.Challenge(
                    imsi=imsi, rand=b'r' * 16,
                    xres_digest=b'd' * 32 if sim_first else None,
                    expires_at=time.time() + 60 + i), source=source,
                    keep=3)
            return contexts

        store._last_purge = time.time()  # no purge in the way
        sa.event.listen(self.hss.engine, 'before_cursor_execute', record)
        self.addCleanup(sa.event.remove, self.hss.engine,
                        'before_cursor_execute', record)
        known = flood('001010000000001', True)
        known_statements = list(statements)
        unknown = flood('001010000000009', False)
        # Known or not, the same statements; 3 challenges kept for each.
        self.assertEqual(known_statements, statements)
        self.assertEqual(2 * 3, self.count_rows(models.AkaChallenge))
        # The stranger's flood pushed out its own: the SIM's first one,
        # and the stranger's two newest, remain.
        self.assertIsNotNone(store.consume(known[0]))
        self.assertEqual([None] * 5, [store.consume(c)
                                      for c in known[1:6]])
        self.assertIsNotNone(store.consume(known[6]))
        self.assertIsNotNone(store.consume(known[7]))
        self.assertIsNotNone(store.consume(unknown[5]))


class SqliteHssTest(_HssTests, testtools.TestCase):

    def url(self):
        if not hasattr(self, '_url'):
            self._url = 'sqlite:///' + os.path.join(
                self.useFixture(fixtures.TempDir()).path, 'hss.sqlite')
        return self._url


class _OpportunisticHss(_HssTests, test_fixtures.OpportunisticDBTestMixin):
    SERVICE = None

    # In CI a missing database is a failure, not a skip.
    SKIP_ON_UNAVAILABLE_DB = not services.in_ci()

    def setUp(self):
        services.require(self, self.SERVICE)
        super().setUp()

    def url(self):
        return self._db_default.engine.url.render_as_string(
            hide_password=False)


class MySQLHssTest(_OpportunisticHss, testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture
    SERVICE = 'mariadb'


class PostgresqlHssTest(_OpportunisticHss, testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
    SERVICE = 'postgresql'
