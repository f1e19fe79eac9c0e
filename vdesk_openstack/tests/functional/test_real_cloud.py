"""The persistent desktop on a real cloud (``vdesk-sandbox --cloud libvirt``).

One subscriber's life on real services, each in its own process: Keystone
with the ``aka`` method, Placement, Glance, the Neutron API, Nova with
nova-compute on libvirt/QEMU, Ceilometer's notification agent with our
RADIUS publisher, FreeRADIUS, vdesk-api under uwsgi and vdesk-engine. The
first login boots a real guest from its Glance image (``boot=1`` in Nova's
console log) with the devices the UE redirects; remote-viewer opens the
``.vv`` the desktop API gives -- through Kerbside, the token-validating
SPICE proxy, which the API exchanges Nova's console token with, and which
refuses a made-up token or password; logout shelves and offloads it (the
snapshot lands in Glance, the domain is gone); the next login restores
the same server and the guest finds its disk as it left it (``boot=2``);
FreeRADIUS got Start and Stop through RabbitMQ and Ceilometer's agent.
Stopping the cloud leaves no process, domain or database behind.
"""

import configparser
import os
import secrets
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from xml.etree import ElementTree

from keystoneauth1 import session as ks_session
import psutil
import requests
import sqlalchemy
import testtools

from vdesk_openstack.client.osc import commands
from vdesk_openstack.client.osc import http
from vdesk_openstack.client import v3aka
from vdesk_openstack import deploy
from vdesk_openstack.sandbox import cloud as cloud_mod
from vdesk_openstack.sandbox import kerbside
from vdesk_openstack.sandbox import keystone
from vdesk_openstack.sandbox import net
from vdesk_openstack.tests.functional import test_desktop_guest
from vdesk_openstack.tests import services
from vdesk_openstack.tests import spice_link

CAPABILITIES = {'client': 'native',
                'display': {'protocol': 'spice', 'monitors': 1},
                'audio_out': True, 'audio_in': True, 'usb': True,
                'smartcard': False}
# Kerbside's proxy log line for a connection with a password it did not
# issue.
DENIED = 'connection denied by control service'
# Seconds console credentials live in this test's cloud.
TOKEN_TTL = 900
NEEDED = ('mariadb', 'rabbitmq', 'libvirtd', 'virtlogd', 'virsh',
          'qemu-system-x86_64', 'qemu-img', 'busybox', 'freeradius')


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for %s' % what)
        time.sleep(0.5)


class RealCloudTest(test_desktop_guest.ViewerMixin, testtools.TestCase):

    def setUp(self):
        super().setUp()
        for name in NEEDED:
            services.require(self, name)
        if os.geteuid() != 0:
            self._missing('libvirt qemu:///system needs root')
        # Without Kerbside the sandbox connects the viewer straight to the
        # hypervisor: fine on a laptop, never in CI.
        if kerbside.missing() and services.in_ci():
            raise AssertionError('CI=true and %s' % kerbside.missing())
        self.workdir = tempfile.mkdtemp(prefix='vdesk-real-cloud-test-')
        self.addCleanup(shutil.rmtree, self.workdir, ignore_errors=True)
        # The second subscriber's desktop takes the first one's SPICE port
        # after its logout (see _assert_old_console_is_dead); console
        # credentials outlive the test, so that only their revocation can
        # stop an old one.
        self.cloud = cloud_mod.Cloud(subscribers=2,
                                     console_token_ttl=TOKEN_TTL)
        self.addCleanup(self._stop_and_check_nothing_is_left)
        try:
            self.cloud.start()
        except cloud_mod.CloudError as e:
            self.fail('the real cloud did not start: %s' % e)
        self.sub = self.cloud.subscribers[0]

    def _stop_and_check_nothing_is_left(self):
        pids = [p.pid for p in self.cloud.processes]
        databases = list(self.cloud._databases)
        self.cloud.stop()
        alive = [pid for pid in pids if psutil.pid_exists(pid) and
                 psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        self.assertEqual([], alive, 'processes left running')
        engine = sqlalchemy.create_engine(self.cloud.database_url + '/')
        try:
            with engine.connect() as c:
                left = {row[0] for row in c.execute(sqlalchemy.text(
                    'SHOW DATABASES'))}
        finally:
            engine.dispose()
        self.assertEqual(set(), left & set(databases), 'databases left')
        self.assertFalse(os.path.exists(self.cloud.workdir))

    def _client(self, sub=None):
        sub = sub or self.sub
        state = os.path.join(self.workdir, 'usim-%s.json' % sub.imsi)
        auth = v3aka.V3Aka(self.cloud.keystone_url, imsi=sub.imsi,
                           k=sub.k, opc=sub.opc,
                           project_name=keystone.SUBSCRIBER_PROJECT,
                           project_domain_name=keystone.SUBSCRIBER_DOMAIN,
                           usim_state_file=state,
                           capabilities=CAPABILITIES)
        sim = ks_session.Session(auth=auth)
        sim.get_token()
        self.sim = sim
        return http.DesktopClient(sim)

    def _login(self, after_boot):
        client = self._client()
        session = client.login(CAPABILITIES)
        active = commands.wait_active(client, timeout=300, out=None,
                                      interval=0.5)
        server_id = active['desktop_id']
        boot = _wait(lambda: self.cloud.boot_count(server_id,
                                                   after=after_boot),
                     180, 'the guest\'s boot line in the console log')
        return client, session, server_id, boot

    def _logout(self, client, server_id):
        client.logout()
        _wait(lambda: self.cloud.server(server_id)['status'] ==
              'SHELVED_OFFLOADED', 180, 'shelve and offload')

    def test_persistent_desktop_on_libvirt(self):
        self._assert_secrets_are_private()
        client, session, server_id, boot = self._login(after_boot=0)
        self.assertFalse(session['restored'])
        self.assertEqual(1, boot)
        self._assert_redirected_devices(server_id)
        self._assert_sim_token_has_no_openstack_powers(server_id)

        # The subscriber's SPICE client: every channel comes up.
        text = client.console('spice-direct', vv=True)
        issued = time.monotonic()
        if self.cloud.kerbside is not None:
            self._assert_points_at_kerbside(text, server_id)
        vv = os.path.join(self.workdir, 'desktop.vv')
        with open(vv, 'w') as f:
            f.write(text)
        self._view(vv)
        spice_port = self._spice_ports(server_id)
        if self.cloud.kerbside is not None:
            self._assert_kerbside_refuses(text, client)

        self._logout(client, server_id)
        if self.cloud.kerbside is not None:
            self._assert_old_console_is_dead(text, spice_port, issued)
        server = self.cloud.server(server_id)
        self.assertNotIn(server['OS-EXT-SRV-ATTR:instance_name'],
                         self.cloud.hypervisor.virsh('list', '--all',
                                                     '--name').split(),
                         'the offloaded desktop still has a domain')
        snapshots = self.cloud._admin.get(
            self.cloud.urls['image'] + '/v2/images?name=%s-shelved'
            % server['name']).json()['images']
        self.assertEqual(1, len(snapshots), 'no shelve snapshot in Glance')
        self.assertEqual('active', snapshots[0]['status'])

        client, session, restored_id, boot = self._login(after_boot=1)
        self.assertTrue(session['restored'])
        self.assertEqual(server_id, restored_id)
        self.assertEqual(2, boot, 'the restored guest lost its disk')
        self._logout(client, server_id)

        self.assertTrue(self.cloud.wait_accounting())
        records = _wait(lambda: (lambda r: r.count('Stop') >= 2 and r)(
            self.cloud.accounting(self.sub.imsi)), 60,
            'both Stop records at FreeRADIUS')
        self.assertEqual('Start', records[0])
        self.assertEqual(2, records.count('Start'), records)
        self.assertEqual(2, records.count('Stop'), records)
        self.assertEqual('Stop', records[-1])

    def _assert_secrets_are_private(self):
        """No config another user can read, no directory they can list.

        A path counts as exposed when other users can reach it (every
        directory above it lets them through) and read or list it.
        """
        top = self.cloud.workdir
        # QEMU (libvirt-qemu) reaches the instance files: Nova makes them.
        instances = os.path.join(top, 'nova', 'instances')
        reachable, exposed = {top}, []
        for root, dirs, files in os.walk(top):
            if root not in reachable or root.startswith(instances):
                continue
            if os.stat(root).st_mode & 0o004:
                exposed.append(root)
            if os.stat(root).st_mode & 0o001:
                reachable.update(os.path.join(root, d) for d in dirs)
            else:
                continue
            for name in files:
                path = os.path.join(root, name)
                if name.endswith(('.conf', '.ini', '.env', '.yaml',
                                  '.cfg', '.key', '.log')) and \
                        not os.path.islink(path) and \
                        os.stat(path).st_mode & 0o044:
                    exposed.append(path)
        self.assertEqual([], exposed, 'readable by other users')

    def _assert_redirected_devices(self, server_id):
        domain = ElementTree.fromstring(self.cloud.domain_xml(server_id))
        devices = domain.find('devices')
        self.assertEqual('qemu', domain.get('type'))  # TCG
        self.assertEqual(['spice'], [g.get('type') for g in
                                     devices.findall('graphics')])
        self.assertEqual('qxl', devices.find('video/model').get('type'))
        self.assertEqual(['ich9'], [s.get('model') for s in
                                    devices.findall('sound')])
        usb = [c.get('model') for c in devices.findall('controller')
               if c.get('type') == 'usb']
        self.assertIn('qemu-xhci', usb)
        redirs = [r for r in devices.findall('redirdev')
                  if r.get('bus') == 'usb' and r.get('type') == 'spicevmc']
        self.assertGreaterEqual(len(redirs), 1)
        # Absolute pointer and clipboard: Nova gives SPICE desktops the
        # SPICE agent channel (and then no USB tablet).
        agents = [c.find('target').get('name')
                  for c in devices.findall('channel')
                  if c.get('type') == 'spicevmc']
        self.assertIn('com.redhat.spice.0', agents)

    # -- a subscriber is no tenant -------------------------------------------
    def _assert_sim_token_has_no_openstack_powers(self, server_id):
        """Nova, Neutron, Glance: 403 to the SIM token; zero quotas."""
        token = self.sim.get_token()
        nova = self.cloud.nova_url
        headers = {'X-Auth-Token': token,
                   'OpenStack-API-Version': 'compute 2.99'}

        def call(method, url, body=None):
            return requests.request(method, url, json=body, timeout=60,
                                    headers=headers)

        # Refused before Nova looks at the body: Keystone's default policy
        # gave member the right to boot (this flavor does not exist).
        response = call('POST', nova + '/servers', {'server': {
            'name': 'uncharged', 'flavorRef': 'no-such-flavor',
            'imageRef': self.cloud.image_id, 'networks': 'none'}})
        self.assertEqual(403, response.status_code, response.text)
        for path in ('/servers', '/servers/detail'):
            response = call('GET', nova + path)
            self.assertEqual(403, response.status_code,
                             '%s: %s' % (path, response.text))
        # Key pairs belong to the user, not the project: the quota holds.
        headers['OpenStack-API-Version'] = 'compute 2.91'
        response = call('POST', nova + '/os-keypairs',
                        {'keypair': {'name': 'mine'}})
        self.assertEqual(403, response.status_code, response.text)
        headers['OpenStack-API-Version'] = 'compute 2.99'
        response = call('DELETE', nova + '/servers/' + server_id)
        self.assertIn(response.status_code, (403, 404), response.text)
        self.assertEqual('ACTIVE', self.cloud.server(server_id)['status'])
        # Neutron checks quotas before policy: the zero quota answers.
        network = self.cloud.urls['network'] + '/v2.0/networks'
        response = call('POST', network, {'network': {'name': 'mine'}})
        self.assertIn(response.status_code, (403, 409), response.text)
        response = call('POST', self.cloud.urls['image'] + '/v2/images',
                        {'name': 'mine', 'disk_format': 'raw',
                         'container_format': 'bare'})
        self.assertEqual(403, response.status_code, response.text)

        project = self.cloud.subscriber_project_id
        quotas = self.cloud._admin.get(
            '%s/os-quota-sets/%s' % (nova, project)).json()['quota_set']
        self.assertEqual((0, 0, 0, 0), (quotas['instances'], quotas['cores'],
                                        quotas['ram'], quotas['key_pairs']))
        quotas = self.cloud._admin.get('%s/v2.0/quotas/%s' % (
            self.cloud.urls['network'], project)).json()['quota']
        self.assertEqual((0, 0, 0), (quotas['network'], quotas['subnet'],
                                     quotas['port']))

    # -- Kerbside -------------------------------------------------------------
    def _assert_points_at_kerbside(self, text, server_id):
        """The API's .vv is Kerbside's: its proxy, its CA, its subject."""
        proxy = self.cloud.kerbside
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text)
        vv = parser['virt-viewer']
        self.assertEqual((proxy.proxy_host, str(proxy.proxy_port),
                          str(proxy.proxy_tls_port)),
                         (vv['host'], vv['port'], vv['tls-port']))
        with open(proxy.ca_file) as f:
            self.assertEqual(f.read().replace('\n', '\\n'), vv['ca'])
        self.assertEqual(proxy.host_subject, vv['host-subject'])
        self.assertTrue(vv['password'])
        # Not the hypervisor's SPICE port (loopback too, in the sandbox).
        domain = ElementTree.fromstring(self.cloud.domain_xml(server_id))
        graphics = domain.find('devices/graphics')
        self.assertNotIn(graphics.get('port'), (vv['port'], vv['tls-port']))

    def _assert_kerbside_refuses(self, text, client):
        proxy = self.cloud.kerbside
        # A made-up Nova token: Kerbside's exchange answers no .vv.
        made_up = secrets.token_hex(16)
        try:
            with urllib.request.urlopen(  # nosec: the sandbox's loopback
                    '%s/nova-console.vv?token=%s' % (proxy.api_url, made_up),
                    timeout=60) as response:
                self.fail('Kerbside gave a .vv for a made-up token: %d %s'
                          % (response.status, response.read()[:200]))
        except urllib.error.HTTPError as e:
            body = e.read().decode(errors='replace')
            self.assertTrue(400 <= e.code < 500, '%d %s' % (e.code, body))
            self.assertNotIn('[virt-viewer]', body)

        # A made-up password at Kerbside's proxy: no channel comes up.
        forged = ''.join(
            'password=%s\n' % secrets.token_hex(24)
            if line.startswith('password=') else line + '\n'
            for line in text.splitlines())
        self.assertNotEqual(text, forged)
        self._assert_vv_refused(forged, 'forged')

        # Kerbside down: the API answers 503, not a desktop nor a 500.
        proxy.processes[0].stop()  # its API
        e = self.assertRaises(http.DesktopApiError, client.console,
                              'spice-direct', vv=True)
        self.assertEqual(503, e.status)
        # Logged, without Nova's console token.
        api_log = ''.join(_read(os.path.join(self.cloud.logdir, name))
                          for name in ('vdesk-api.log',
                                       'vdesk-api-requests.log'))
        self.assertIn('Kerbside at %s: unreachable' % proxy.api_url, api_log)
        self.assertNotRegex(api_log, r'nova-console\.vv\?token=(?!\*\*\*)')
        # Back up: the logout that follows revokes the consoles there.
        proxy.processes[0].start()
        net.wait_for_port(proxy.api_port, timeout=120,
                          process=proxy.processes[0].popen)

    def _assert_vv_refused(self, text, name):
        """remote-viewer with the .vv ``text`` gets no channel up."""
        proxy = self.cloud.kerbside
        vv = os.path.join(self.workdir, name + '.vv')
        with open(vv, 'w') as f:
            f.write(text)
        log = os.path.join(self.workdir, 'remote-viewer-%s.log' % name)
        proxy_log = proxy.processes[1].log_path
        denied = _read(proxy_log).count(DENIED)
        self._start(['remote-viewer', '--debug', '--spice-debug', '--kiosk',
                     vv], log, dict(os.environ, DISPLAY=self._xvfb()))
        _wait(lambda: _read(proxy_log).count(DENIED) > denied or
              'channel up' in _read(log), 60,
              'Kerbside\'s proxy to answer the %s .vv' % name)
        time.sleep(2)  # a channel the proxy let through would be up now
        self.assertNotIn('channel up', _read(log),
                         'the %s .vv opened a desktop' % name)
        self.assertGreater(_read(proxy_log).count(DENIED), denied)

    # -- consoles after logout ------------------------------------------------
    def _spice_ports(self, server_id):
        """The SPICE ports of the server's domain: (port, tlsPort)."""
        domain = ElementTree.fromstring(self.cloud.domain_xml(server_id))
        graphics = domain.find('devices/graphics')
        return graphics.get('port'), graphics.get('tlsPort')

    def _assert_old_console_is_dead(self, text, spice_ports, issued):
        """A's .vv from before its logout does not open B's desktop.

        B's desktop starts on the same host after A's logout and gets the
        SPICE port A's had; A's .vv, still within its lifetime, must not
        reach it. A plain-text SPICE client on the hypervisor's port gets
        no screen either: the hypervisor speaks SPICE over TLS only.
        """
        other = self.cloud.subscribers[1]
        client = self._client(other)
        client.login(CAPABILITIES)
        active = commands.wait_active(client, timeout=300, out=None,
                                      interval=0.5)
        ports = self._spice_ports(active['desktop_id'])
        self.assertEqual(spice_ports, ports,
                         'the next desktop did not get the SPICE port of '
                         'the one released: this test proves nothing')
        self._assert_vv_refused(text, 'after-logout')
        # Refused while Kerbside's token was still within its lifetime:
        # revoked, not expired.
        lifetime = 60 * deploy.kerbside_token_minutes(
            self.cloud.kerbside.deployment)
        self.assertLess(time.monotonic() - issued, lifetime - 5,
                        'the .vv was tried after its lifetime: this test '
                        'proves nothing')

        # libvirt gives the domain a plain port too; its SPICE server
        # refuses the main channel there (every channel is TLS-only).
        port = ports[0]
        if port not in (None, '-1'):
            answer = spice_link.link('127.0.0.1', int(port))
            self.assertEqual(spice_link.NEED_SECURED, answer,
                             'a plain-text SPICE client on the hypervisor\'s '
                             'port %s got %s' % (port, answer))


def _read(path):
    with open(path, errors='replace') as f:
        return f.read()
