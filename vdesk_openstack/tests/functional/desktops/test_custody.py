"""Nothing deletes a subscriber's disk by itself (Nova's real services).

* a desktop database restored from a backup, or an empty one, maps none
  of the servers: the reconciler quarantines them -- counted, listed --
  and deletes none; an operator adopts one, and the subscriber's next
  login restores that very server;
* what the admin API deleted is recorded as a tombstone first: a crash
  between the tombstone and Nova's delete is finished by the reconciler,
  which deletes nothing a tombstone does not name;
* an explicit replacement is the way to a blank desktop.
"""

import json
import os
import subprocess
import sys
import threading
import time

from nova.api import wsgi as nova_wsgi

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.desktops.api import wsgi as api_wsgi
from vdesk_openstack.desktops import compute as compute_mod
from vdesk_openstack.desktops import custody
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import manager as manager_mod
from vdesk_openstack.desktops import reconciler as reconciler_mod
from vdesk_openstack.desktops import states
from vdesk_openstack.tests.functional.desktops import databases
from vdesk_openstack.tests.functional.desktops import harness

WAIT = 60


class _CustodyTestCase(harness.DesktopTestCase):

    pool_hosts = ('pool1', 'pool2')
    other_hosts = ()

    def setUp(self):
        super().setUp()
        self.vconf.set_override('orphan_grace', 0, group='desktops')
        self.addCleanup(self.vconf.clear_override, 'orphan_grace',
                        group='desktops')

    def reconciler(self, manager=None):
        reconciler = reconciler_mod.Reconciler(manager or self.manager)
        # Pages of two: every pass crosses page boundaries.
        reconciler.page_size = 2
        return reconciler

    def active(self, user='u'):
        imsi = self.add_subscriber('bronze')
        self.manager.login(imsi, user, {})
        self.manager.wait_for(imsi, states.ACTIVE, timeout=WAIT)
        return imsi, self.store.get_desktop(imsi)['instance_id']

    def released(self, user='u'):
        imsi, uuid = self.active(user)
        self.manager.logout(imsi)
        self.manager.wait_for(imsi, states.ENDED, timeout=WAIT)
        self._wait_for_status({'id': uuid}, 'SHELVED_OFFLOADED')
        return imsi, uuid

    def _foreign_server(self):
        """A server that is no desktop (no metadata of the service)."""
        return self._create_server_with_hints(self._flavor(512, 1), {})['id']

    def assert_alive(self, *uuids):
        """Nova still has each server, and is not deleting it."""
        time.sleep(1)  # a delete asked for would show by now
        for uuid in uuids:
            server = self.server(uuid)  # raises if Nova deleted it
            self.assertNotIn(server['status'], ('DELETED', 'SOFT_DELETED'))
            self.assertNotEqual('deleting',
                                server['OS-EXT-STS:task_state'])


class QuarantineTest(_CustodyTestCase):

    def empty_database_manager(self):
        """A manager like self.manager on a new, empty MariaDB database."""
        path = self.conf_file + '.empty'
        with open(path, 'w') as f:
            f.write('[database]\nconnection = %s\n[desktops]\n'
                    'orphan_grace = 0\n'
                    % databases.provision_database(self, 'mysql'))
        conf = vdesk_conf.make_vdesk_conf([self.conf_file, path])
        store = db_api.DesktopStore(conf)
        self.addCleanup(store.engine.dispose)
        store.db_sync()
        return manager_mod.DesktopManager(conf, store, self.hss,
                                          self.compute, self.locks)

    def test_empty_database_deletes_nothing_and_lists_the_orphans(self):
        first, released = self.released()
        second, running = self.active()
        empty = self.empty_database_manager()

        counts = self.reconciler(empty).run_once()
        self.assert_alive(released, running)
        self.assertEqual(2, counts['quarantined'])
        self.assertEqual(0, counts['deleted'])
        # Counted again on every pass until an operator acts.
        self.assertEqual(2, self.reconciler(empty).run_once()['quarantined'])
        self.assert_alive(released, running)

        orphans = {o['id']: o for o in custody.orphans(empty, page_size=2)}
        self.assertEqual({released, running}, set(orphans))
        self.assertEqual(first, orphans[released]['subscriber'])
        self.assertEqual('SHELVED_OFFLOADED', orphans[released]['status'])
        self.assertEqual(second, orphans[running]['subscriber'])
        self.assertFalse(orphans[running]['being_deleted'])
        # The original database still maps them: nothing to list there.
        self.assertEqual([], custody.orphans(self.manager))

    def test_adopted_server_is_restored_at_the_next_login(self):
        imsi, released = self.released(user='sim-user')
        other, running = self.active()
        empty = self.empty_database_manager()

        # A server is only ever given to the subscriber it was made for.
        e = self.assertRaises(exceptions.Conflict, custody.adopt, empty,
                              other, released)
        self.assertIn('tagged as the desktop of %s' % imsi, str(e))
        self.assertRaises(exceptions.NotFound, custody.adopt, empty, imsi,
                          '6e0a2b4c-0000-4000-8000-000000000000')

        mapping = custody.adopt(empty, imsi, released)
        self.assertEqual(released, mapping['instance_id'])
        self.assertEqual(states.RELEASED, mapping['status'])
        self.assertIsNone(mapping['user_id'])
        self.assertRaises(exceptions.Conflict, custody.adopt, empty, imsi,
                          released)
        # A running orphan is shelved at adoption: no uncharged running.
        custody.adopt(empty, other, running)
        self._wait_for_status({'id': running}, 'SHELVED_OFFLOADED')

        counts = self.reconciler(empty).run_once()
        self.assertEqual(0, counts['quarantined'])
        self.assertEqual([], custody.orphans(empty))

        session = empty.login(imsi, 'sim-user', {})
        self.assertTrue(session['restored'])
        self.assertFalse(session['rebuilt'])
        empty.wait_for(imsi, states.ACTIVE, timeout=WAIT)
        desktop = empty.store.get_desktop(imsi)
        self.assertEqual(released, desktop['instance_id'])
        # Bound by that login, as mappings made before bindings were.
        self.assertEqual('sim-user', desktop['user_id'])
        self.assertRaises(exceptions.NotBound, empty.get_session, imsi,
                          'intruder')

    def test_orphan_is_deleted_only_when_an_operator_says_so(self):
        imsi, uuid = self.released()
        desktop = self.store.get_desktop(imsi)
        # The mapping lost, e.g. a row missing from a restored backup.
        self.store.delete_desktop(desktop['id'])
        counts = self.reconciler().run_once()
        self.assert_alive(uuid)
        self.assertEqual(1, counts['quarantined'])
        self.assertRaises(exceptions.Conflict, custody.delete_orphan,
                          self.manager, self._foreign_server())
        deleted = custody.delete_orphan(self.manager, uuid)
        self.assertEqual(uuid, deleted['id'])
        self._wait_until_deleted({'id': uuid})
        counts = self.reconciler().run_once()
        self.assertEqual(0, counts['quarantined'])
        self.assertEqual([], self.store.tombstones())


class TombstoneTest(_CustodyTestCase):

    def test_api_delete_cut_short_is_finished_from_the_tombstone(self):
        imsi, uuid = self.active()
        bystander, lost_mapping = self.released()
        # A server whose mapping went missing: quarantined, untouched.
        self.store.delete_desktop(self.store.get_desktop(bystander)['id'])
        real_delete = self.compute.delete

        def crash(server_id):
            raise RuntimeError('injected crash before Nova was asked')

        self.compute.delete = crash
        try:
            self.assertRaises(RuntimeError, self.manager.delete, imsi)
        finally:
            self.compute.delete = real_delete
        # The API's decision is on record; the server is still there.
        self.assertIsNone(self.store.get_desktop(imsi))
        self.assertEqual([uuid], [t['instance_id']
                                  for t in self.store.tombstones()])
        self.assert_alive(uuid)
        # Its charging ended with the session, before anything else.
        self.assertEqual(['vdesk.session.start', 'vdesk.session.end'],
                         [e for e, _ in self.notifications(imsi)])

        counts = self.reconciler().run_once()
        self.assertEqual(1, counts['deleted'])
        self.assertEqual(1, counts['quarantined'])
        self._wait_until_deleted({'id': uuid})
        self.assert_alive(lost_mapping)
        # Gone: the tombstone goes too, and nothing more is deleted.
        counts = self.reconciler().run_once()
        self.assertEqual(0, counts['deleted'])
        self.assertEqual([], self.store.tombstones())
        self.assert_alive(lost_mapping)

    def test_api_delete_removes_mapping_and_server(self):
        imsi, uuid = self.released()
        self.manager.delete(imsi)
        self.assertIsNone(self.store.get_desktop(imsi))
        self._wait_until_deleted({'id': uuid})
        counts = self.reconciler().run_once()
        self.assertEqual((0, 0), (counts['deleted'], counts['quarantined']))
        self.assertEqual([], self.store.tombstones())
        # The subscriber starts afresh.
        session = self.manager.login(imsi, 'u', {})
        self.assertFalse(session['restored'])
        self.manager.wait_for(imsi, states.ACTIVE, timeout=WAIT)

    def test_replace_is_the_explicit_way_to_a_blank_desktop(self):
        imsi, uuid = self.active()
        replaced = self.manager.replace(imsi)
        self.assertIsNone(replaced['instance_id'])
        self.assertEqual(states.CREATING, replaced['status'])
        self.assertIsNone(self.store.get_open_session(imsi))
        self.assertEqual(['vdesk.session.start', 'vdesk.session.end'],
                         [e for e, _ in self.notifications(imsi)])
        # The next login creates a new server, never adopting the old.
        session = self.manager.login(imsi, 'u', {})
        self.assertTrue(session['rebuilt'])
        self.manager.wait_for(imsi, states.ACTIVE, timeout=WAIT)
        desktop = self.store.get_desktop(imsi)
        self.assertNotEqual(uuid, desktop['instance_id'])
        self.assertEqual(1, desktop['generation'])
        self._wait_until_deleted({'id': uuid})
        self.assertEqual([desktop['instance_id']], [
            s['id'] for s in self.admin_api.get_servers(detail=True)
            if s['metadata'].get(compute_mod.META_SUBSCRIBER) == imsi])
        self.reconciler().run_once()
        self.assertEqual([], self.store.tombstones())


class _StubAuth(object):
    """Nova's API as the harness authenticates it: who calls is set here.

    The harness replaces Keystone in Nova's pipeline by headers naming the
    user, project and roles; a process of its own (vdesk-manage) sends no
    such headers, so they are added for it: the service user, an admin of
    the desktop project, as the harness's manager is.
    """

    def __init__(self, app, project_id):
        self.app, self.project_id = app, project_id

    def __call__(self, environ, start_response):
        environ.update({'HTTP_X_AUTH_USER': 'admin',
                        'HTTP_X_AUTH_PROJECT_ID': self.project_id,
                        'HTTP_X_ROLES': 'reader,member,admin'})
        return self.app(environ, start_response)


class ManageDesktopCliTest(_CustodyTestCase):
    """``vdesk-manage desktop ...`` as an operator runs it.

    The console script in a process of its own, with the harness's
    vdesk.conf and a ``[nova]`` section naming Nova's real API, served
    over HTTP on a loopback port (the harness's Nova is otherwise
    reachable only inside the test process).
    """

    def setUp(self):
        super().setUp()
        app = _StubAuth(nova_wsgi.Loader().load_app('osapi_compute'),
                        self.api_fixture.project_id)
        server = api_wsgi.make_server(app)
        thread = threading.Thread(target=server.serve_forever,
                                  kwargs={'poll_interval': 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        url = 'http://127.0.0.1:%d/v2.1' % server.server_port
        self.nova_conf = self.conf_file + '.nova'
        with open(self.nova_conf, 'w') as f:
            f.write('[nova]\nauth_type = none\nendpoint = %s\n'
                    'endpoint_override = %s\n' % (url, url))

    def manage(self, *args, expect=0):
        cli = os.path.join(os.path.dirname(sys.executable), 'vdesk-manage')
        result = subprocess.run(
            [cli, '--config-file', self.conf_file, '--config-file',
             self.nova_conf] + list(args), capture_output=True, text=True,
            timeout=120, check=False)
        self.assertEqual(expect, result.returncode,
                         result.stdout + result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        return result

    def json_of(self, *args):
        return json.loads(self.manage(*args).stdout)

    def error_of(self, *args):
        """The one error line (after any warning of the libraries)."""
        lines = self.manage(*args, expect=2).stderr.strip().splitlines()
        errors = [line for line in lines if 'error' in line.lower()]
        self.assertEqual(1, len(errors), lines)
        self.assertEqual(errors[0], lines[-1])
        return errors[0]

    def test_orphans_adopt_delete_and_replace(self):
        imsi, kept = self.released(user='sim-user')
        other, dropped = self.released()
        # Rows lost, as in a database restored from an older backup.
        for subscriber in (imsi, other):
            self.store.delete_desktop(
                self.store.get_desktop(subscriber)['id'])
        self.assertEqual(2, self.reconciler().run_once()['quarantined'])

        listed = self.json_of('desktop', 'orphans')
        self.assertEqual({kept: imsi, dropped: other},
                         {o['id']: o['subscriber'] for o in listed})
        self.assertIn('tagged as the desktop of %s' % imsi, self.error_of(
            'desktop', 'adopt', '--imsi', other, '--server', kept))
        self.assertIn('IMSI', self.error_of(
            'desktop', 'adopt', '--imsi', 'x1', '--server', kept))
        foreign = self._foreign_server()
        self.assertIn('not a desktop', self.error_of(
            'desktop', 'orphans', '--delete', foreign))
        self.assert_alive(kept, dropped, foreign)

        adopted = self.json_of('desktop', 'adopt', '--imsi', imsi,
                               '--server', kept)
        self.assertEqual((imsi, kept, states.RELEASED, None), (
            adopted['subscriber'], adopted['desktop_id'],
            adopted['status'], adopted['user_id']))
        self.assertIn('has a desktop already', self.error_of(
            'desktop', 'adopt', '--imsi', imsi, '--server', dropped))
        deleted = self.json_of('desktop', 'orphans', '--delete', dropped)
        self.assertEqual(dropped, deleted['id'])
        self._wait_until_deleted({'id': dropped})
        self.assertEqual([], self.json_of('desktop', 'orphans'))

        session = self.manager.login(imsi, 'sim-user', {})
        self.assertTrue(session['restored'])
        self.manager.wait_for(imsi, states.ACTIVE, timeout=WAIT)
        self.assertEqual(kept, self.store.get_desktop(imsi)['instance_id'])

        replaced = self.json_of('desktop', 'replace', '--imsi', imsi)
        self.assertEqual((None, states.CREATING, 1), (
            replaced['desktop_id'], replaced['status'],
            replaced['generation']))
        self._wait_until_deleted({'id': kept})
        self.assertIn('not found', self.error_of(
            'desktop', 'replace', '--imsi', '001019999999999').lower())
