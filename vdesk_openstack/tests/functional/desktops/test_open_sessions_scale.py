"""1,200 open sessions: the engine's pass reaches every one of them.

The periodic pass reads open sessions a page at a time in id order; a
pass that read only the first page would leave the others without
interim records for ever. 1,200 desktops with an active, charged session
whose interval is due are stored in MariaDB; one pass with pages of 500
queues exactly one interim record for each. (Active sessions cost Nova
no request per pass: their instances here exist in the database only,
and Nova's answers to the CPU-time queries are "not found".)
"""

import datetime
import uuid

from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import states
from vdesk_openstack.tests.functional.desktops import databases
from vdesk_openstack.tests.functional.desktops import harness

COUNT = 1200


class OpenSessionsAtScaleTest(harness.DesktopTestCase):

    pool_hosts = ('pool1',)
    other_hosts = ()

    def database_url(self, tmp):
        return databases.provision_database(self, 'mysql')

    def test_every_open_session_gets_its_interim_record(self):
        self.add_subscriber('bronze')  # a plan for the records
        long_ago = db_api.utcnow() - datetime.timedelta(hours=1)
        for i in range(COUNT):
            imsi = '00102%010d' % i
            desktop = self.store.create_desktop(imsi, 'user-%d' % i,
                                                'bronze')
            self.store.update_desktop(desktop['id'], status=states.ACTIVE,
                                      instance_id=str(uuid.uuid4()))
            desktop = self.store.get_desktop(imsi)
            session = self.store.open_session(
                desktop, states.ACTIVE, {}, 'spice-html5', restored=True)
            self.store.update_session(session['id'], active_at=long_ago)
            self.store.charge(session['id'], states.CHARGING_NONE,
                              states.CHARGING_STARTED,
                              charging.record(charging.START, session,
                                              desktop, None, long_ago),
                              last_interim_at=long_ago)
        self.delivery.deliver_once()  # the Start records
        self.assertEqual(0, self.store.outbox_size())
        self.assertEqual(500, self.manager.page_size)

        self.manager.periodic()

        records = self.store.outbox_batch(2 * COUNT)
        self.assertEqual({charging.UPDATE},
                         {r['event_type'] for r in records})
        self.assertEqual(COUNT, len({r['session_id'] for r in records}))
        self.assertEqual(COUNT, len(records))
        # A second pass at once: no interval is due, nothing more.
        self.manager.periodic()
        self.assertEqual(COUNT, self.store.outbox_size())
        self.assertEqual(COUNT, len(list(self.store.open_sessions(
            (states.ACTIVE,)))))
