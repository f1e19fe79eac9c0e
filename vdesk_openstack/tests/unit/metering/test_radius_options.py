"""Loading radius:// through Ceilometer: bad URLs fail with clear messages."""

import os

from ceilometer import publisher
from ceilometer import service
import fixtures
from oslo_config import fixture as config_fixture
import testtools

from vdesk_openstack.conf import metering as metering_conf
from vdesk_openstack.metering import radius

NS = 'ceilometer.event.publisher'


class RadiusOptionsTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = service.prepare_service([], [])
        # the publisher registers them when loaded; a test overriding
        # them first registers them itself
        metering_conf.register_opts(self.conf)
        self.config = self.useFixture(config_fixture.Config(self.conf))
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.spool = os.path.join(self.dir, 'spool')

    def load(self, url):
        pub = publisher.get_publisher(self.conf, url, NS)
        self.addCleanup(pub.close)
        return pub

    def assertLoadFails(self, url, message):
        exc = self.assertRaises(radius.RadiusPublisherError,
                                publisher.get_publisher, self.conf, url, NS)
        self.assertIn(message, str(exc))
        self.assertNotIn('topsecret', str(exc))
        return exc

    def test_valid_url(self):
        pub = self.load('radius://192.0.2.1:1645?secret=topsecret&'
                        'nas_identifier=agent-1&spool=%s&timeout=0.5&'
                        'retries=4&max_in_flight=64&'
                        'secondary=192.0.2.2' % self.spool)
        self.assertIsInstance(pub, radius.RadiusPublisher)
        self.assertEqual('agent-1', pub.nas_identifier)
        self.assertEqual([('192.0.2.1', 1645), ('192.0.2.2', 1813)],
                         [(s.host, s.port) for s in pub.client.servers])
        self.assertEqual(0.5, pub.client.timeout)
        self.assertEqual(4, pub.client.retries)
        self.assertEqual(64, pub.client.max_in_flight)
        self.assertTrue(os.path.isdir(pub.spool.lane))

    def test_defaults_from_config(self):
        secret_file = os.path.join(self.dir, 'secret')
        with open(secret_file, 'w') as f:
            f.write('topsecret\n')
        self.config.config(group='vdesk_radius', secret_file=secret_file,
                           spool_dir=self.spool)
        pub = self.load('radius://[::1]')
        self.assertEqual(b'topsecret', pub.client._secret)
        self.assertEqual(self.conf.host, pub.nas_identifier)
        server = pub.client.servers[0]
        self.assertEqual(('::1', 1813), (server.host, server.port))
        self.assertTrue(pub.spool.path.startswith(self.spool))

    def test_url_secret_wins_over_config(self):
        self.config.config(group='vdesk_radius', secret='fromconf')
        pub = self.load('radius://h?secret=topsecret&spool=' + self.spool)
        self.assertEqual(b'topsecret', pub.client._secret)

    def test_no_secret(self):
        self.assertLoadFails('radius://h?spool=' + self.spool,
                             'no RADIUS shared secret')

    def test_secret_file_missing(self):
        self.assertLoadFails('radius://h?spool=%s&secret_file=/nonexistent'
                             % self.spool, 'cannot read the secret file')

    def test_unknown_parameter(self):
        self.assertLoadFails('radius://h?secret=topsecret&sekret=x',
                             "unknown parameter 'sekret'")

    def test_bad_values(self):
        for query, message in [
                ('timeout=soon', 'parameter timeout='),
                ('retries=-1', 'parameter retries='),
                ('max_in_flight=1000', 'parameter max_in_flight='),
                ('secondary=h:99999', 'secondary server'),
                ('backoff_initial=10&backoff_max=1', 'backoff_max'),
                ('timeout=1&timeout=2', 'given twice'),
                ('nas_identifier=' + 'n' * 254, 'nas_identifier')]:
            self.assertLoadFails('radius://h?secret=topsecret&spool=%s&%s'
                                 % (self.spool, query), message)

    def test_bad_server(self):
        self.assertLoadFails('radius://h:port?secret=topsecret',
                             'publisher URL server')
        self.assertLoadFails('radius://?secret=topsecret', 'has no host')
        self.assertLoadFails('radius://h/path?secret=topsecret',
                             'unexpected path')

    def test_unusable_spool(self):
        path = os.path.join(self.dir, 'file')
        open(path, 'w').close()
        self.assertLoadFails('radius://h?secret=topsecret&spool=' + path,
                             'cannot create spool directory')

    def test_bad_dictionary(self):
        self.assertLoadFails('radius://h?secret=topsecret&spool=%s&'
                             'dictionary_file=/nonexistent' % self.spool,
                             'cannot load RADIUS dictionary')
