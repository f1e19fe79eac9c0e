"""etc/ceilometer: session notifications become the contract's records.

The event definitions are loaded by Ceilometer's own converter; the
pipeline's radius:// URL is checked by the publisher's option parsing.
"""

import os
import urllib.parse

from ceilometer.event import converter
from ceilometer import service
from oslo_config import fixture as config_fixture
from oslo_utils import netutils
from stevedore import extension
import testtools
import yaml

from vdesk_openstack.metering import radius
from vdesk_openstack.metering import records

ETC = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'etc',
                   'ceilometer')


def notification(event_type, **payload):
    return {'event_type': event_type, 'publisher_id': 'vdesk.host-1',
            'priority': 'INFO', 'payload': payload,
            'metadata': {'message_id': 'msg-' + event_type,
                         'timestamp': '2026-01-02 03:04:05.000000'}}


class EventDefinitionsTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        conf = service.prepare_service([], [])
        self.useFixture(config_fixture.Config(conf)).config(
            group='event', definitions_cfg_file=os.path.join(
                ETC, 'event_definitions.yaml'))
        self.converter = converter.setup_events(
            conf, extension.ExtensionManager(
                namespace='ceilometer.event.trait_plugin'))

    def record(self, event_type, **payload):
        event = self.converter.to_event('info',
                                        notification(event_type, **payload))
        self.assertIsNotNone(event, event_type)
        return records.record_from_event(event, 'nas')[1]

    def test_session_lifecycle(self):
        plan = dict(session_id='s-1', subscriber='001010123456789',
                    instance_id='inst-1', project_id='proj-1', vcpus=2,
                    memory_mb=4096, disk_gb=40, priority='gold')
        start = self.record('vdesk.session.start', **plan)
        self.assertEqual({
            'Acct-Status-Type': 'Start', 'NAS-Identifier': 'nas',
            'Event-Timestamp': 1767323045,
            'Vdesk-Record-Id': 'msg-vdesk.session.start',
            'User-Name': '001010123456789', 'Acct-Session-Id': 's-1',
            'Vdesk-Instance-Id': 'inst-1', 'Vdesk-Project-Id': 'proj-1',
            'Vdesk-VCPUs': 2, 'Vdesk-Memory-MB': 4096, 'Vdesk-Disk-GB': 40,
            'Vdesk-Priority': 'gold'}, start)

        update = self.record('vdesk.session.update', duration_s=300,
                             cpu_util=42.25, **plan)
        self.assertEqual('Interim-Update', update['Acct-Status-Type'])
        self.assertEqual(300, update['Acct-Session-Time'])
        self.assertEqual('42.25', update['Vdesk-CPU-Util'])
        self.assertNotIn('Vdesk-Terminate-Cause', update)

        end = self.record('vdesk.session.end', duration_s=600, cpu_util=1,
                          terminate_cause='logout', **plan)
        self.assertEqual('Stop', end['Acct-Status-Type'])
        self.assertEqual(600, end['Acct-Session-Time'])
        self.assertEqual('logout', end['Vdesk-Terminate-Cause'])


class EventPipelineTest(testtools.TestCase):

    def test_session_events_go_to_radius(self):
        with open(os.path.join(ETC, 'event_pipeline.yaml')) as f:
            pipeline = yaml.safe_load(f)
        sources = [s for s in pipeline['sources']
                   if 'vdesk.session.*' in s['events']]
        self.assertEqual(1, len(sources))
        sinks = {s['name']: s for s in pipeline['sinks']}
        publishers = sinks[sources[0]['sinks'][0]]['publishers']
        self.assertEqual(1, len(publishers), 'the radius sink stands alone')
        url = netutils.urlsplit(publishers[0])
        self.assertEqual('radius', url.scheme)
        self.assertNotIn('secret', urllib.parse.parse_qs(url.query))
        conf = service.prepare_service([], [])
        options = radius.parse_options(conf, url)
        self.assertEqual('ceilometer', options['nas_identifier'])
        self.assertTrue(options['secondary'])
