"""``vdesk-manage`` as an operator runs it (console script, real sqlite)."""

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import fixtures
import testtools

K = '465b5ce8b199b49faa5f0a2ee238a6bc'
OP = 'cdc202d5123e20f62b6d676ac72cb318'
OPC = 'cd63cb71954a9f4e48a5994e37a02baf'


class ManageCliTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.conf = os.path.join(self.tmp, 'vdesk.conf')
        with open(self.conf, 'w') as f:
            # [hss] last: tests append options of it.
            f.write(textwrap.dedent('''\
                [database]
                connection = sqlite:///{t}/desktops.sqlite
                [hss]
                connection = sqlite:///{t}/hss.sqlite
                key_file = {t}/keys/hss.key
                ''').format(t=self.tmp))

    def manage(self, *args, expect=0):
        cli = os.path.join(os.path.dirname(sys.executable), 'vdesk-manage')
        result = subprocess.run([cli, '--config-file', self.conf] +
                                list(args), capture_output=True, text=True,
                                timeout=60, check=False)
        self.assertEqual(expect, result.returncode,
                         result.stdout + result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        for secret in (K, OP, OPC):
            self.assertNotIn(secret, result.stdout + result.stderr)
        return result

    def error_of(self, *args):
        result = self.manage(*args, expect=2)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(1, len(lines), result.stderr)
        return lines[0]

    def test_amf_defaults_to_the_configured_one(self):
        with open(self.conf, 'a') as f:
            f.write('amf = 9001\n')
        self.manage('db', 'sync')
        sub = json.loads(self.manage(
            'subscriber', 'add', '--imsi', '001010000000001', '--k', K,
            '--opc', OPC).stdout)
        self.assertEqual('9001', sub['amf'])
        sub = json.loads(self.manage(
            'subscriber', 'add', '--imsi', '001010000000002', '--k', K,
            '--opc', OPC, '--amf', 'b9b9').stdout)
        self.assertEqual('b9b9', sub['amf'])

    def test_malformed_configured_amf_is_a_clear_error(self):
        with open(self.conf, 'a') as f:
            f.write('amf = 80\n')
        self.manage('db', 'sync')
        self.assertIn('amf', self.error_of(
            'subscriber', 'add', '--imsi', '001010000000001', '--k', K,
            '--opc', OPC))

    def test_provisioning_flow(self):
        out = json.loads(self.manage('db', 'sync').stdout)
        self.assertTrue(out['key_created'])
        self.assertEqual(0o600, os.stat(os.path.join(
            self.tmp, 'keys', 'hss.key')).st_mode & 0o777)
        self.assertFalse(json.loads(self.manage('db', 'sync').stdout)[
            'key_created'])
        plan = json.loads(self.manage(
            'plan', 'add', 'gold', '--vcpus', '4', '--ram-mb', '8192',
            '--disk-gb', '80', '--priority', 'gold', '--image',
            'desktop').stdout)
        self.assertEqual({'name': 'gold', 'vcpus': 4, 'ram_mb': 8192,
                          'disk_gb': 80, 'priority': 'gold',
                          'image': 'desktop'}, plan)
        sub = json.loads(self.manage(
            'subscriber', 'add', '--imsi', '001010000000001', '--k', K,
            '--op', OP, '--sqn', '00000000002a', '--plan', 'gold').stdout)
        self.assertEqual({'imsi': '001010000000001', 'sqn': 42,
                          'amf': '8000', 'plan': 'gold'}, sub)
        self.manage('subscriber', 'add', '--imsi', '001010000000002',
                    '--k', K, '--opc', OPC, '--amf', 'b9b9')
        listed = json.loads(self.manage('subscriber', 'list').stdout)
        self.assertEqual(['001010000000001', '001010000000002'],
                         [s['imsi'] for s in listed])
        self.assertEqual('b9b9', listed[1]['amf'])
        page = json.loads(self.manage('subscriber', 'list', '--limit', '1',
                                      '--marker', '001010000000001').stdout)
        self.assertEqual(['001010000000002'], [s['imsi'] for s in page])
        self.assertIsNone(listed[1]['plan'])
        self.assertEqual('0003', json.loads(self.manage(
            'db', 'version').stdout)['revision'])

        # Errors: one line, exit code 2.
        self.assertIn('subscriber 001010000000001 already exists',
                      self.error_of('subscriber', 'add', '--imsi',
                                    '001010000000001', '--k', K, '--opc',
                                    OPC))
        self.assertIn('plan silver not found', self.error_of(
            'subscriber', 'add', '--imsi', '001010000000003', '--k', K,
            '--opc', OPC, '--plan', 'silver'))
        self.assertIn('plan gold already exists', self.error_of(
            'plan', 'add', 'gold', '--vcpus', '1', '--ram-mb', '1',
            '--disk-gb', '1', '--priority', 'gold'))
        self.assertIn('subscriber 001010000000009 not found', self.error_of(
            'subscriber', 'show', '001010000000009'))

    def tables(self, name):
        with sqlite3.connect(os.path.join(self.tmp, name)) as db:
            return {row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}

    def test_db_sync_creates_both_schemas(self):
        out = json.loads(self.manage('db', 'sync').stdout)
        self.assertEqual({'schema': 'up to date', 'key_created': True,
                          'key_file': os.path.join(self.tmp, 'keys',
                                                   'hss.key'),
                          'desktops_schema': 'up to date'}, out)
        self.assertIn('subscribers', self.tables('hss.sqlite'))
        self.assertNotIn('desktops', self.tables('hss.sqlite'))
        self.assertTrue({'desktops', 'sessions', 'charging_outbox'} <=
                        self.tables('desktops.sqlite'),
                        self.tables('desktops.sqlite'))
        self.assertNotIn('subscribers', self.tables('desktops.sqlite'))
        version = json.loads(self.manage('db', 'version').stdout)
        self.assertEqual({'revision': '0003', 'desktops_revision': '0004'},
                         version)
        # Again: nothing to do, same answer.
        self.assertEqual('up to date', json.loads(self.manage(
            'db', 'sync').stdout)['desktops_schema'])

    def test_db_sync_of_one_schema(self):
        out = json.loads(self.manage('db', 'sync', '--schema',
                                     'hss').stdout)
        self.assertNotIn('desktops_schema', out)
        self.assertFalse(os.path.exists(os.path.join(self.tmp,
                                                     'desktops.sqlite')))
        out = json.loads(self.manage('db', 'sync', '--schema',
                                     'desktops').stdout)
        self.assertEqual({'desktops_schema': 'up to date'}, out)
        self.assertEqual({'desktops_revision': '0004'}, json.loads(
            self.manage('db', 'version', '--schema', 'desktops').stdout))

    def test_one_database_holds_both_schemas(self):
        db = os.path.join(self.tmp, 'one.sqlite')
        with open(self.conf, 'w') as f:
            f.write('[hss]\nconnection = sqlite:///%s\nkey_file = %s/k\n'
                    '[database]\nconnection = sqlite:///%s\n'
                    % (db, self.tmp, db))
        self.manage('db', 'sync')
        self.assertEqual({'revision': '0003', 'desktops_revision': '0004'},
                         json.loads(self.manage('db', 'version').stdout))
        conn = sqlite3.connect(db)
        try:
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
        self.assertTrue({'subscribers', 'desktops', 'vdesk_hss_version',
                         'vdesk_desktops_version'} <= tables, tables)
        self.assertNotIn('alembic_version', tables)

    def test_revision_in_alembic_default_table_is_adopted(self):
        # Databases synced by earlier releases keep the revision in
        # alembic_version: db sync moves it, and migrates nothing again.
        self.manage('db', 'sync', '--schema', 'hss')
        db = sqlite3.connect(os.path.join(self.tmp, 'hss.sqlite'))
        with db:
            db.execute('ALTER TABLE vdesk_hss_version '
                       'RENAME TO alembic_version')
        db.close()
        self.manage('db', 'sync', '--schema', 'hss')
        db = sqlite3.connect(os.path.join(self.tmp, 'hss.sqlite'))
        try:
            tables = {row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
        self.assertIn('vdesk_hss_version', tables)
        self.assertNotIn('alembic_version', tables)
        self.assertEqual('0003', json.loads(self.manage(
            'db', 'version', '--schema', 'hss').stdout)['revision'])

    def test_config_render(self):
        lines = self.manage(
            'config', 'render', '--target', 'vdesk', '--hss-connection',
            'mysql+pymysql://u:p@db/vdesk_hss', '--database-connection',
            'mysql+pymysql://u:p@db/vdesk', '--keystone-url',
            'http://ks/identity').stdout.splitlines()
        self.assertIn('database connection mysql+pymysql://u:p@db/vdesk',
                      lines)
        self.assertIn('nova auth_url http://ks/identity/v3', lines)
        self.assertIn('oslo_messaging_notifications driver messagingv2',
                      lines)
        keystone_conf = os.path.join(self.tmp, 'keystone.conf')
        with open(keystone_conf, 'w') as f:
            f.write('[auth]\nmethods = password,token\n')
        lines = self.manage('config', 'render', '--target', 'keystone',
                            '--current', keystone_conf).stdout.splitlines()
        self.assertIn('auth methods password,token,aka', lines)
        self.assertIn('RADIUS accounting server', self.error_of(
            'config', 'render', '--target', 'event-pipeline'))

    def test_bad_input(self):
        self.manage('db', 'sync')
        base = ['subscriber', 'add', '--imsi', '001010000000001']
        cases = [
            (['subscriber', 'add', '--imsi', '0010x', '--k', K, '--opc',
              OPC], 'invalid IMSI'),
            (base + ['--k', K[:-2], '--opc', OPC], '--k must be 32 hex'),
            (base + ['--k', 'zz' + K[2:], '--opc', OPC],
             '--k is not valid hex'),
            (base + ['--k', K, '--opc', OPC + '00'], '--opc must be 32'),
            (base + ['--k', K, '--op', OP[:4]], '--op must be 32'),
            (base + ['--k', K, '--opc', OPC, '--sqn', '1'],
             '--sqn must be 12 hex'),
            (base + ['--k', K, '--opc', OPC, '--amf', '80000'],
             '--amf must be 4 hex'),
            (base + ['--k', K], 'one of the arguments --opc --op is '
             'required'),
            (base + ['--k', K, '--opc', OPC, '--op', OP], 'not allowed'),
            (base + ['--k', K, '--opc', OPC, '--plan', 'bad plan!'],
             'invalid plan name'),
            (['plan', 'add', 'x', '--vcpus', '0', '--ram-mb', '1',
              '--disk-gb', '1', '--priority', 'gold'],
             '--vcpus must be a positive integer'),
            (['plan', 'add', 'x', '--vcpus', '1', '--ram-mb', 'lots',
              '--disk-gb', '1', '--priority', 'gold'],
             '--ram-mb must be a positive integer'),
            (['plan', 'add', 'x', '--vcpus', '1', '--ram-mb', '1',
              '--disk-gb', '1', '--priority', 'GOLD!'],
             'invalid priority tier'),
            (['bogus'], 'invalid choice'),
        ]
        for args, message in cases:
            self.assertIn(message, self.error_of(*args), args)
        self.assertEqual([], json.loads(self.manage('subscriber',
                                                    'list').stdout))

    def test_unreachable_database_and_missing_key(self):
        with open(self.conf, 'w') as f:
            f.write('[hss]\nconnection = mysql+pymysql://nobody:x@'
                    '127.0.0.1:1/none\nkey_file = %s/k\n' % self.tmp)
        self.assertIn('database error', self.error_of('db', 'version',
                                                      '--schema', 'hss'))
        with open(self.conf, 'w') as f:
            f.write('[hss]\nconnection = sqlite:///%s/h.sqlite\n'
                    'key_file = %s/missing.key\n' % (self.tmp, self.tmp))
        line = self.error_of('subscriber', 'add', '--imsi',
                             '001010000000001', '--k', K, '--opc', OPC)
        self.assertIn('cannot read the HSS key file', line)

    def test_db_sync_without_database_section_names_the_option(self):
        with open(self.conf, 'w') as f:
            f.write('[hss]\nconnection = sqlite:///%s/h.sqlite\n'
                    'key_file = %s/k\n' % (self.tmp, self.tmp))
        for action in ('sync', 'version'):
            line = self.error_of('db', action)
            self.assertIn('[database] connection', line)
            self.assertIn('--schema hss', line)
            self.assertNotIn('sqlite3', line)
        # Nothing was half done: the HSS alone still syncs on request.
        self.assertFalse(os.path.exists(os.path.join(self.tmp, 'h.sqlite')))
        out = json.loads(self.manage('db', 'sync', '--schema', 'hss').stdout)
        self.assertEqual('up to date', out['schema'])
