"""The desktop API served over HTTP in the test process, against Keystone.

:class:`ApiTestCase` adds to :class:`harness.DesktopTestCase` (Nova's real
services and the desktop manager) a real Keystone with the ``aka`` method
(:class:`vdesk_openstack.sandbox.aio.AllInOne`, started once per test
class: it takes seconds) and the API's paste pipeline -- the shipped
etc/vdesk/api-paste.ini, keystonemiddleware validating real tokens
against that Keystone -- served on a loopback port by a threaded stdlib
server inside the test process, where Nova's API is reachable (through
wsgi-intercept). Subscribers log in to Keystone with their SIM (the
``v3aka`` plugin); the API sees them exactly as in production.
"""

import os
import textwrap
import threading
import time

import fixtures
from keystoneauth1 import session as ks_session
import requests

from vdesk_openstack.client import v3aka
from vdesk_openstack.desktops.api import app as api_app
from vdesk_openstack.desktops.api import wsgi as api_wsgi
from vdesk_openstack.sandbox import aio
from vdesk_openstack.sandbox import keystone
from vdesk_openstack.tests.functional.desktops import harness

PASTE_FILE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
    os.pardir, os.pardir, 'etc', 'vdesk', 'api-paste.ini')


class Caller(object):
    """Someone with a Keystone token calling the desktop API."""

    def __init__(self, name, token, imsi=None):
        self.name, self.token, self.imsi = name, token, imsi


class ApiTestCase(harness.DesktopTestCase):

    # One pool host is enough for a few desktops; keep the machine free.
    pool_hosts = ('pool1',)
    other_hosts = ()
    subscriber_count = 2

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keystone = aio.AllInOne().start()
        cls.addClassCleanup(cls.keystone.stop)
        cls.state_dir = cls.keystone.workdir
        cls.sims = [cls.keystone.provision(plan='bronze')
                    for _ in range(cls.subscriber_count)]
        cls.subscribers = [
            Caller('subscriber-%d' % index, cls.sim_login(index), sim.imsi)
            for index, sim in enumerate(cls.sims)]
        admin = cls.keystone.deployment.admin_session(cls.keystone.url)
        cls.admin = Caller('admin', admin.get_token())

    @classmethod
    def sim_login(cls, index, url=None):
        """A SIM login of subscriber ``index``: its token."""
        sim = cls.sims[index]
        auth = v3aka.V3Aka(
            url or cls.keystone.url, imsi=sim.imsi, k=sim.k, opc=sim.opc,
            project_name=keystone.SUBSCRIBER_PROJECT,
            project_domain_name=keystone.SUBSCRIBER_DOMAIN,
            usim_state_file=os.path.join(cls.state_dir,
                                         'usim-%d.json' % index))
        return ks_session.Session(auth=auth).get_token()

    def setUp(self):
        # Consoles: SPICE (spice-html5, spice-direct) besides VNC.
        self.flags(enabled=True, group='spice')
        super().setUp()
        for sim in self.sims:
            # The manager reads plans from its own HSS (the harness's).
            self.hss.add_subscriber(sim.imsi, bytes.fromhex(sim.k),
                                    bytes.fromhex(sim.opc), plan=sim.plan)
        tmp = self.useFixture(fixtures.TempDir()).path
        api_conf_file = os.path.join(tmp, 'vdesk-api.conf')
        with open(api_conf_file, 'w') as f:
            f.write(textwrap.dedent('''\
                [keystone_authtoken]
                www_authenticate_uri = {url}
                auth_url = {url}
                auth_type = password
                username = admin
                password = {password}
                project_name = admin
                user_domain_id = default
                project_domain_id = default
                # keystone-manage bootstrap registers public endpoints only.
                interface = public
                ''').format(url=self.keystone.url,
                            password=keystone.ADMIN_PASSWORD))
        self.api_conf = api_wsgi.make_conf([self.conf_file, api_conf_file])
        application = api_app.load_app(self.api_conf, self.manager,
                                       PASTE_FILE)
        server = api_wsgi.make_server(application)
        thread = threading.Thread(target=server.serve_forever,
                                  kwargs={'poll_interval': 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.url = 'http://127.0.0.1:%d' % server.server_port
        self.http = requests.Session()
        self.addCleanup(self.http.close)

    # -- calls ------------------------------------------------------------
    def call(self, method, path, caller=None, **kwargs):
        headers = kwargs.pop('headers', {})
        if caller is not None:
            headers['X-Auth-Token'] = caller.token
        return self.http.request(method, self.url + path, headers=headers,
                                 timeout=120, **kwargs)

    def assertError(self, code, response, contains=None):
        self.assertEqual(code, response.status_code, response.text)
        error = response.json()['error']
        self.assertEqual(code, error['code'])
        self.assertIsInstance(error['title'], str)
        self.assertIsInstance(error['message'], str)
        if contains:
            self.assertIn(contains, error['message'])
        return error

    def wait_for_session(self, caller, status, timeout=60.0):
        """Poll GET /v1/desktop/session; status None: until it is gone."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.call('GET', '/v1/desktop/session', caller)
            if status is None and response.status_code == 404:
                return None
            if response.status_code == 200:
                session = response.json()['session']
                if session['status'] == status:
                    return session
                if session['status'] == 'ERROR':
                    self.fail('session of %s failed: %s'
                              % (caller.name, session))
            elif response.status_code != 404:
                self.fail('GET session: %d %s'
                          % (response.status_code, response.text))
            if time.monotonic() > deadline:
                self.fail('session of %s not %s after %ss: %s'
                          % (caller.name, status, timeout, response.text))
            time.sleep(0.2)
