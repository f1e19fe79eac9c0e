"""Unit tests of the deployment settings (vdesk_openstack.deploy)."""

import dataclasses
import os

import fixtures
from oslo_config import cfg
import testtools
import yaml

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.conf import aka as aka_conf
from vdesk_openstack.conf import scheduler as scheduler_conf
from vdesk_openstack import deploy
from vdesk_openstack.desktops import compute

DEPLOYMENT = deploy.Deployment(
    keystone_url='http://10.0.0.5/identity',
    hss_connection='mysql+pymysql://root:pw@10.0.0.5/vdesk_hss',
    hss_key_file='/etc/vdesk/hss.key',
    database_connection='mysql+pymysql://root:pw@10.0.0.5/vdesk',
    transport_url='rabbit://stackrabbit:pw@10.0.0.5:5672/',
    coordination_url='redis://10.0.0.5:6379',
    service_password='service-pw',
    subscriber_domain='subs', subscriber_project='desk',
    challenge_ttl=30,
    radius_server='10.0.0.9:1813', radius_secret='radius-pw',
    radius_nas_identifier='nas1', radius_spool_dir='/var/spool/r')


def as_dict(settings):
    values = {}
    for s in settings:
        values.setdefault((s.section, s.option), []).append(s.value)
    return values


class DeployTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def load(self, settings, name, register):
        """Write ``settings`` as an ini file and parse it with oslo.config."""
        lines = {}
        for s in settings:
            lines.setdefault(s.section, []).append(
                '%s = %s' % (s.option, s.value))
        path = self.write(name, ''.join(
            '[%s]\n%s\n' % (section, '\n'.join(opts))
            for section, opts in lines.items()))
        conf = cfg.ConfigOpts()
        register(conf)
        conf([], default_config_files=[path])
        return conf

    def test_vdesk_conf_is_valid_and_complete(self):
        settings = deploy.vdesk_settings(DEPLOYMENT)
        self.load(settings, 'vdesk.conf', lambda c: None)
        conf = vdesk_conf.make_vdesk_conf([os.path.join(self.tmp,
                                                        'vdesk.conf')])
        self.assertEqual(DEPLOYMENT.hss_connection, conf.hss.connection)
        self.assertEqual(DEPLOYMENT.database_connection,
                         conf.database.connection)
        self.assertEqual('redis://10.0.0.5:6379',
                         conf.coordination.backend_url)
        self.assertEqual('subs', conf.vdesk_aka.subscriber_domain)
        self.assertEqual('desk', conf.vdesk_aka.subscriber_project)
        self.assertEqual('vdesk_subscriber', conf.vdesk_aka.subscriber_role)
        values = as_dict(settings)
        self.assertEqual(['http://10.0.0.5/identity/v3'],
                         values[('nova', 'auth_url')])
        self.assertEqual(['service-pw'], values[('nova', 'password')])
        self.assertEqual(['service'], values[('nova', 'project_name')])
        self.assertEqual(['messagingv2'],
                         values[('oslo_messaging_notifications', 'driver')])
        self.assertEqual([DEPLOYMENT.transport_url],
                         values[('oslo_messaging_notifications',
                                 'transport_url')])

    def test_unset_inputs_are_left_out(self):
        values = as_dict(deploy.vdesk_settings(deploy.Deployment()))
        self.assertNotIn(('database', 'connection'), values)
        self.assertNotIn(('nova', 'password'), values)
        self.assertNotIn(('coordination', 'backend_url'), values)
        self.assertEqual(['http://127.0.0.1/identity/v3'],
                         values[('nova', 'auth_url')])

    def test_keystone_appends_aka_to_the_methods_set(self):
        current = deploy.read_ini(self.write(
            'keystone.conf', '[auth]\nmethods = password,token,mapped\n'
            'additional_primary_auth_methods = totp\n'))
        settings = deploy.keystone_settings(DEPLOYMENT, current)
        values = as_dict(settings)
        self.assertEqual(['password,token,mapped,aka'],
                         values[('auth', 'methods')])
        self.assertEqual(['totp,aka'],
                         values[('auth', 'additional_primary_auth_methods')])
        conf = self.load(settings, 'k.conf', aka_conf.register_opts)
        self.assertEqual('subs', conf.vdesk_aka.subscriber_domain)
        self.assertEqual('desk', conf.vdesk_aka.subscriber_project)
        self.assertEqual('vdesk_subscriber', conf.vdesk_aka.subscriber_role)
        self.assertEqual(30, conf.vdesk_aka.challenge_ttl)
        self.assertEqual(5, conf.vdesk_aka.outstanding_challenges_per_imsi)
        self.assertNotIn(('vdesk_aka', 'outstanding_challenges_per_imsi'),
                         values)  # the default, not written
        self.assertNotIn(('vdesk_aka', 'challenges_per_imsi'), values)
        settings = deploy.keystone_settings(dataclasses.replace(
            DEPLOYMENT, trusted_proxies='10.0.0.2, 10.1.0.0/16',
            challenges_total=1000), current)
        conf = self.load(settings, 'k2.conf', aka_conf.register_opts)
        self.assertEqual(['10.0.0.2/32', '10.1.0.0/16'],
                         [str(n) for n in conf.vdesk_aka.trusted_proxies])
        self.assertEqual(1000, conf.vdesk_aka.challenges_total)

    def test_keystone_is_idempotent(self):
        current = deploy.read_ini(self.write(
            'keystone.conf', '[auth]\nmethods = password,aka\n'
            'additional_primary_auth_methods = aka\n'))
        values = as_dict(deploy.keystone_settings(DEPLOYMENT, current))
        self.assertEqual(['password,aka'], values[('auth', 'methods')])
        self.assertEqual(['aka'],
                         values[('auth', 'additional_primary_auth_methods')])

    def test_keystone_default_methods_are_written_out(self):
        values = as_dict(deploy.keystone_settings(DEPLOYMENT, {}))
        methods = values[('auth', 'methods')][0].split(',')
        self.assertEqual('aka', methods[-1])
        self.assertIn('password', methods)
        self.assertIn('application_credential', methods)

    def test_nova_filters_weigher_and_notifications(self):
        current = deploy.read_ini(self.write('nova.conf', (
            '[filter_scheduler]\n'
            'available_filters = nova.scheduler.filters.all_filters\n'
            'available_filters = other.Filter\n'
            'enabled_filters = ComputeFilter,AggregateInstanceExtraSpecs'
            'Filter\n'
            '[notifications]\nnotification_format = unversioned\n'
            'notify_on_state_change = vm_and_task_state\n')))
        settings = deploy.nova_settings(DEPLOYMENT, current)
        values = as_dict(settings)
        self.assertEqual(['nova.scheduler.filters.all_filters',
                          'other.Filter', deploy.FILTER_CLASS],
                         values[('filter_scheduler', 'available_filters')])
        self.assertEqual(
            ['ComputeFilter,AggregateInstanceExtraSpecsFilter,'
             'SubscriptionFilter'],
            values[('filter_scheduler', 'enabled_filters')])
        self.assertEqual(['nova.scheduler.weights.all_weighers,'
                          + deploy.WEIGHER_CLASS],
                         values[('filter_scheduler', 'weight_classes')])
        self.assertEqual(['both'], values[('notifications',
                                           'notification_format')])
        self.assertEqual(['vm_and_task_state'],
                         values[('notifications', 'notify_on_state_change')])
        conf = self.load(settings, 'n.conf', scheduler_conf.register_opts)
        self.assertEqual(['gold', 'silver'],
                         conf.vdesk_scheduler.spread_tiers)

    def test_nova_defaults_and_kept_tiers(self):
        current = deploy.read_ini(self.write(
            'nova.conf', '[vdesk_scheduler]\ntiers = gold:0.5\n'
            '[notifications]\nnotification_format = versioned\n'))
        values = as_dict(deploy.nova_settings(DEPLOYMENT, current))
        self.assertEqual(['nova.scheduler.filters.all_filters',
                          deploy.FILTER_CLASS],
                         values[('filter_scheduler', 'available_filters')])
        self.assertEqual([','.join(deploy.NOVA_DEFAULT_FILTERS +
                                   ('SubscriptionFilter',))],
                         values[('filter_scheduler', 'enabled_filters')])
        self.assertEqual(['gold:0.5'], values[('vdesk_scheduler', 'tiers')])
        self.assertEqual(['versioned'], values[('notifications',
                                                'notification_format')])
        self.assertEqual(['vm_state'], values[('notifications',
                                               'notify_on_state_change')])
        again = deploy.read_ini(self.write('nova2.conf', ''.join(
            '[%s]\n%s = %s\n' % s for s in deploy.nova_settings(
                DEPLOYMENT, current))))
        self.assertEqual(values, as_dict(deploy.nova_settings(DEPLOYMENT,
                                                              again)))

    def test_ceilometer(self):
        values = as_dict(deploy.ceilometer_settings(DEPLOYMENT))
        self.assertEqual(['radius-pw'], values[('vdesk_radius', 'secret')])
        self.assertEqual(['/var/spool/r'],
                         values[('vdesk_radius', 'spool_dir')])
        self.assertEqual(['False'],
                         values[('notification', 'ack_on_event_error')])

    def test_ceilometer_listens_on_the_desktop_exchange_too(self):
        values = as_dict(deploy.ceilometer_settings(DEPLOYMENT))
        exchanges = values[('notification', 'notification_control_exchanges')]
        self.assertIn('vdesk', exchanges)
        self.assertIn('nova', exchanges)  # the defaults are kept
        kept = as_dict(deploy.ceilometer_settings(DEPLOYMENT, {
            'notification': {'notification_control_exchanges': ['nova']}}))
        self.assertEqual(['nova', 'vdesk'], kept[
            ('notification', 'notification_control_exchanges')])
        vdesk = as_dict(deploy.vdesk_settings(DEPLOYMENT))
        self.assertEqual(['vdesk'], vdesk[('DEFAULT', 'control_exchange')])

    def test_gsup_hss(self):
        d = deploy.Deployment(hss_driver='gsup',
                              hss_gsup_servers='10.1.0.1:4222,10.1.0.2:4222',
                              hss_connection='mysql+pymysql://h/hss')
        settings = deploy.vdesk_settings(d)
        values = as_dict(settings)
        self.assertEqual(['gsup'], values[('hss', 'driver')])
        self.assertNotIn(('hss', 'key_file'), values)  # no secret here
        conf = self.load(settings, 'vdesk.conf', lambda c: None)
        conf = vdesk_conf.make_vdesk_conf([os.path.join(self.tmp,
                                                        'vdesk.conf')])
        self.assertEqual(['10.1.0.1:4222', '10.1.0.2:4222'],
                         conf.hss_gsup.servers)
        self.assertRaises(ValueError, deploy.vdesk_settings,
                          deploy.Deployment(hss_driver='gsup'))
        self.assertRaises(ValueError, deploy.vdesk_settings,
                          deploy.Deployment(hss_driver='ldap'))

    def test_kerbside_console_path(self):
        # DevStack passes unset variables as empty strings: nothing set.
        for unset in (None, ''):
            values = as_dict(deploy.vdesk_settings(deploy.Deployment(
                kerbside_url=unset, kerbside_ca_file='/etc/ca.pem')))
            self.assertNotIn(('desktops', 'kerbside_url'), values)
            self.assertNotIn(('desktops', 'kerbside_ca_file'), values)
        d = deploy.Deployment(kerbside_url='https://kerbside.op.example:13002',
                              kerbside_ca_file='/etc/vdesk/kerbside-ca.pem')
        settings = deploy.vdesk_settings(d)
        conf = self.load(settings, 'vdesk.conf', lambda c: None)
        conf = vdesk_conf.make_vdesk_conf([os.path.join(self.tmp,
                                                        'vdesk.conf')])
        self.assertEqual('https://kerbside.op.example:13002',
                         conf.desktops.kerbside_url)
        self.assertEqual('/etc/vdesk/kerbside-ca.pem',
                         conf.desktops.kerbside_ca_file)
        self.assertEqual(compute.KERBSIDE, compute.spice_path(conf))

    def test_diameter_charging(self):
        d = deploy.Deployment(charging='diameter',
                              diameter_server='10.2.0.1:3868',
                              diameter_failover='10.2.0.2:3868',
                              diameter_origin_host='ceilometer.op.example',
                              diameter_origin_realm='op.example',
                              diameter_destination_realm='cdf.op.example',
                              diameter_spool_dir='/var/spool/d')
        pipeline = deploy.event_pipeline(d)
        self.assertEqual(['diameter://10.2.0.1:3868'],
                         pipeline['sinks'][-1]['publishers'])
        values = as_dict(deploy.ceilometer_settings(d))
        self.assertEqual(['ceilometer.op.example'],
                         values[('vdesk_diameter', 'origin_host')])
        self.assertEqual(['10.2.0.2:3868'],
                         values[('vdesk_diameter', 'failover')])
        self.assertNotIn(('vdesk_radius', 'secret'), values)
        self.assertRaises(ValueError, deploy.event_pipeline,
                          deploy.Deployment(charging='diameter'))
        self.assertRaises(ValueError, deploy.event_pipeline,
                          deploy.Deployment(charging='x25',
                                            radius_server='h:1'))

    def test_event_pipeline_keeps_other_sinks_and_hides_the_secret(self):
        current = {'sources': [{'name': 'event_source', 'events': ['*'],
                                'sinks': ['event_sink']}],
                   'sinks': [{'name': 'event_sink',
                              'publishers': ['gnocchi://']}]}
        pipeline = deploy.event_pipeline(DEPLOYMENT, current)
        again = deploy.event_pipeline(DEPLOYMENT, pipeline)
        self.assertEqual(pipeline, again)
        self.assertEqual(['event_source', 'vdesk_session_source'],
                         [s['name'] for s in pipeline['sources']])
        sink = pipeline['sinks'][-1]
        self.assertEqual(['radius://10.0.0.9:1813?nas_identifier=nas1'],
                         sink['publishers'])
        self.assertEqual(['vdesk.session.*'],
                         pipeline['sources'][-1]['events'])
        self.assertNotIn('radius-pw', deploy.dump_yaml(pipeline))
        self.assertRaises(ValueError, deploy.event_pipeline,
                          deploy.Deployment(), None)

    def test_event_definitions_appended_once(self):
        current = [{'event_type': 'compute.instance.*', 'traits': {}}]
        merged = deploy.event_definitions(current)
        self.assertEqual('compute.instance.*', merged[0]['event_type'])
        types = [d['event_type'] for d in merged]
        self.assertIn('vdesk.session.*', types)
        reloaded = yaml.safe_load(deploy.dump_yaml(merged))
        self.assertEqual(merged, deploy.event_definitions(reloaded))

    def test_render_lines(self):
        self.assertEqual(['a b c d'], list(deploy.render_lines(
            [deploy.Setting('a', 'b', 'c d')])))
        self.assertRaises(ValueError, list, deploy.render_lines(
            [deploy.Setting('a', 'b', 'c\nd')]))


KERBSIDE = deploy.Deployment(
    keystone_url='http://10.0.0.5/identity',
    kerbside_url='http://10.0.0.5:13002', kerbside_dir='/etc/kerbside',
    kerbside_venv='/opt/k',
    kerbside_database_connection=(
        'mysql+pymysql://root:pw@10.0.0.5/kerbside?charset=utf8'),
    kerbside_password='k-pw', kerbside_public_host='spice.example.org',
    kerbside_listen='10.0.0.5')


class KerbsideDeployTest(testtools.TestCase):

    def test_environment(self):
        env = dict(deploy.kerbside_environment(KERBSIDE))
        self.assertEqual('mysql://root:pw@10.0.0.5/kerbside',
                         env['KERBSIDE_SQL_URL'])
        self.assertEqual('http://10.0.0.5/identity/v3',
                         env['KERBSIDE_KEYSTONE_AUTH_URL'])
        self.assertEqual('spice.example.org', env['KERBSIDE_PUBLIC_FQDN'])
        self.assertEqual(str(deploy.KERBSIDE_PROXY_TLS_PORT),
                         env['KERBSIDE_PUBLIC_SECURE_PORT'])
        self.assertEqual('/etc/kerbside/ca-cert.pem',
                         env['KERBSIDE_CACERT_PATH'])
        self.assertEqual('/opt/k/bin/kerbside-proxy',
                         env['KERBSIDE_PROXY_BIN'])
        self.assertEqual('O=vdesk-openstack,CN=kerbside-proxy',
                         env['KERBSIDE_PROXY_HOST_SUBJECT'])
        self.assertTrue(all(name.startswith('KERBSIDE_') for name in env))

    def test_never_every_address_by_default(self):
        unset = dataclasses.replace(KERBSIDE, kerbside_listen=None)
        env = dict(deploy.kerbside_environment(dataclasses.replace(
            unset, kerbside_public_host='192.0.2.7')))
        self.assertEqual('192.0.2.7', env['KERBSIDE_VDI_ADDRESS'])
        self.assertEqual('192.0.2.7',
                         env['KERBSIDE_PROMETHEUS_METRICS_ADDRESS'])
        # A host name cannot be listened on safely: say what to set.
        error = self.assertRaises(ValueError, deploy.kerbside_environment,
                                  unset)
        self.assertIn('kerbside_listen', str(error))
        env = dict(deploy.kerbside_environment(dataclasses.replace(
            KERBSIDE, kerbside_listen='10.0.0.5',
            kerbside_metrics_listen='127.0.0.1')))
        self.assertEqual('10.0.0.5', env['KERBSIDE_VDI_ADDRESS'])
        self.assertEqual('127.0.0.1',
                         env['KERBSIDE_PROMETHEUS_METRICS_ADDRESS'])

    def test_seed_is_kept_and_otherwise_random(self):
        first = dict(deploy.kerbside_environment(KERBSIDE))
        again = dict(deploy.kerbside_environment(KERBSIDE, first))
        other = dict(deploy.kerbside_environment(KERBSIDE))
        self.assertEqual(first['KERBSIDE_AUTH_SECRET_SEED'],
                         again['KERBSIDE_AUTH_SECRET_SEED'])
        self.assertNotEqual(first['KERBSIDE_AUTH_SECRET_SEED'],
                            other['KERBSIDE_AUTH_SECRET_SEED'])

    def test_environment_needs_its_facts(self):
        self.assertRaises(ValueError, deploy.kerbside_environment,
                          deploy.Deployment(kerbside_public_host='h'))
        self.assertRaises(ValueError, deploy.kerbside_environment,
                          deploy.Deployment(
                              kerbside_public_host='h',
                              kerbside_database_connection='sqlite://'))
        self.assertRaises(ValueError, deploy.kerbside_environment,
                          deploy.Deployment(
                              kerbside_database_connection='mysql://h/k'))

    def test_env_file_round_trip_and_unsafe_values(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'kerbside.env')
        variables = deploy.kerbside_environment(KERBSIDE)
        with open(path, 'w') as f:
            f.write('\n'.join(deploy.render_env(variables)) + '\n')
        self.assertEqual(dict(variables), deploy.read_env(path))
        self.assertEqual({}, deploy.read_env(os.path.join(tmp, 'none')))
        for value in ('a b', 'a$b', "a'b", 'a;b', ''):
            self.assertRaises(ValueError, list,
                              deploy.render_env([('X', value)]))

    def test_sources(self):
        [source] = deploy.kerbside_sources(KERBSIDE)
        self.assertEqual({'source': 'vdesk', 'type': 'openstack',
                          'url': 'http://10.0.0.5/identity/v3',
                          'username': 'kerbside', 'password': 'k-pw',
                          'project_name': 'service',
                          'user_domain_id': 'default',
                          'project_domain_id': 'default',
                          'interface': 'public'}, source)
        # Quoted, a password of digits stays a string.
        text = deploy.dump_yaml(deploy.kerbside_sources(
            deploy.Deployment(kerbside_password='1234')), quoted=True)
        self.assertEqual('1234', yaml.safe_load(text)[0]['password'])
        self.assertRaises(ValueError, deploy.kerbside_sources,
                          deploy.Deployment())

    def test_nova_policy_widens_one_rule_once(self):
        rule = deploy.NOVA_CONSOLE_AUTH_RULE
        policy = deploy.nova_policy()
        self.assertEqual(
            {rule: 'rule:context_is_admin or role:console-auth'}, policy)
        self.assertEqual(policy, deploy.nova_policy(policy))
        theirs = deploy.nova_policy({rule: 'role:admin or role:ops',
                                     'other': 'role:x'})
        self.assertEqual({rule: '(role:admin or role:ops) or '
                                'role:console-auth', 'other': 'role:x'},
                         theirs)
        self.assertEqual({rule: 'role:admin or role:console-auth'},
                         deploy.nova_policy({rule: 'role:admin'}))

    def test_nova_spice_only_with_kerbside(self):
        with_k = as_dict(deploy.nova_settings(KERBSIDE))
        self.assertEqual(['http://10.0.0.5:13002/nova'],
                         with_k[('spice', 'spice_direct_proxy_base_url')])
        self.assertEqual(['true'], with_k[('spice', 'enabled')])
        self.assertNotIn(('spice', 'enabled'),
                         as_dict(deploy.nova_settings(DEPLOYMENT)))

    def test_certificates(self):
        from cryptography import x509

        tmp = self.useFixture(fixtures.TempDir()).path
        ca_path = deploy.kerbside_certificates(tmp, ['10.0.0.5', 'spice.x'])
        with open(ca_path, 'rb') as f:
            ca = x509.load_pem_x509_certificate(f.read())
        with open(os.path.join(tmp, 'proxy-cert.pem'), 'rb') as f:
            cert = x509.load_pem_x509_certificate(f.read())
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
        self.assertEqual(['spice.x'], names.get_values_for_type(
            x509.DNSName))
        self.assertEqual(['10.0.0.5'], [
            str(a) for a in names.get_values_for_type(x509.IPAddress)])
        self.assertEqual(0o600, os.stat(os.path.join(
            tmp, 'proxy-key.pem')).st_mode & 0o777)


class ConsoleSecurityDeployTest(testtools.TestCase):
    """Consoles: revocable, short-lived, SPICE over TLS on the computes."""

    def test_vdesk_gets_the_seed_and_nova_tls_and_token_ttl(self):
        d = dataclasses.replace(KERBSIDE, kerbside_auth_secret='seed',
                                console_token_ttl=90)
        vdesk = {(s.section, s.option): s.value
                 for s in deploy.vdesk_settings(d)}
        self.assertEqual('seed', vdesk[('desktops', 'kerbside_auth_secret')])
        nova = {(s.section, s.option): s.value
                for s in deploy.nova_settings(d)}
        self.assertEqual('true', nova[('spice', 'require_secure')])
        self.assertEqual('90', nova[('consoleauth', 'token_ttl')])
        env = dict(deploy.kerbside_environment(d))
        self.assertEqual('seed', env['KERBSIDE_AUTH_SECRET_SEED'])
        self.assertEqual('2', env['KERBSIDE_CONSOLE_TOKEN_DURATION'])
        # Short by default; never 0 minutes at Kerbside.
        self.assertEqual('1', dict(deploy.kerbside_environment(
            KERBSIDE))['KERBSIDE_CONSOLE_TOKEN_DURATION'])
        self.assertEqual(1, deploy.kerbside_token_minutes(
            dataclasses.replace(KERBSIDE, console_token_ttl=5)))
        # Without Kerbside, nothing of it.
        plain = {(s.section, s.option) for s in deploy.nova_settings(
            deploy.Deployment())}
        self.assertNotIn(('spice', 'require_secure'), plain)

    def test_qemu_conf_lines(self):
        self.assertEqual(
            [('spice_tls', '1'),
             ('spice_tls_x509_cert_dir', '"/etc/pki/libvirt-spice"')],
            deploy.qemu_spice_tls(deploy.Deployment()))

    def test_spice_certificate_signed_by_kerbsides_ca(self):
        from cryptography import x509

        tmp = self.useFixture(fixtures.TempDir()).path
        kerbside_dir = os.path.join(tmp, 'kerbside')
        os.mkdir(kerbside_dir)
        deploy.kerbside_certificates(kerbside_dir, ['10.0.0.5'])
        self.assertEqual(0o600, os.stat(os.path.join(
            kerbside_dir, 'ca-key.pem')).st_mode & 0o777)
        spice = deploy.spice_certificates(kerbside_dir,
                                          os.path.join(tmp, 'spice'),
                                          ['10.0.0.7', 'compute-1'])
        with open(os.path.join(kerbside_dir, 'ca-cert.pem'), 'rb') as f:
            ca = x509.load_pem_x509_certificate(f.read())
        with open(os.path.join(spice, 'server-cert.pem'), 'rb') as f:
            cert = x509.load_pem_x509_certificate(f.read())
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
        self.assertEqual(['compute-1'],
                         names.get_values_for_type(x509.DNSName))
        self.assertEqual(0o600, os.stat(os.path.join(
            spice, 'server-key.pem')).st_mode & 0o777)
        # Kerbside's source carries the CA its proxy checks them with.
        d = dataclasses.replace(KERBSIDE, kerbside_dir=kerbside_dir)
        [source] = deploy.kerbside_sources(d)
        with open(os.path.join(kerbside_dir, 'ca-cert.pem')) as f:
            self.assertEqual(f.read(), source['ca_cert'])
