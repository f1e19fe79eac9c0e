"""``vdesk-sandbox`` as the README runs it (console script, real services).

The sandbox is the whole system: HSS, Keystone with SIM login, Nova with
our scheduler plugins, the desktop service behind keystonemiddleware, and
charging to FreeRADIUS. These tests check its JSON report from the outside.
"""

import json
import os
import signal
import subprocess
import sys

import psutil
import testtools

from vdesk_openstack.tests import services


def _bin(name):
    return os.path.join(os.path.dirname(sys.executable), name)


class SandboxTest(testtools.TestCase):

    def test_json_report_follows_the_contract(self):
        services.require(self, 'freeradius')
        result = subprocess.run(
            [_bin('vdesk-sandbox'), '--subscribers', '2', '--hosts', '2',
             '--json'], capture_output=True, text=True, timeout=600,
            check=False)
        self.assertEqual(0, result.returncode, result.stderr[-3000:])
        report = json.loads(result.stdout)
        self.assertEqual('freeradius-detail', report['accounting_source'])
        self.assertEqual(['001010000000001', '001010000000002'],
                         [s['imsi'] for s in report['subscribers']])
        for sub in report['subscribers']:
            first, second = sub['logins']
            self.assertFalse(first['restored'])
            self.assertTrue(second['restored'])
            # The same VM comes back: the instance UUID is unchanged.
            self.assertEqual(first['desktop_id'], second['desktop_id'])
            self.assertEqual(36, len(first['desktop_id']))
            self.assertEqual('SHELVED_OFFLOADED', sub['after_logout'])
            # Start, interim(s) while in use, Stop; Start ... Stop.
            acct = sub['accounting']
            self.assertEqual(['Start', 'Stop', 'Start', 'Stop'],
                             [a for a in acct if a != 'Interim-Update'])
            self.assertIn('Interim-Update', acct[:acct.index('Stop')])
        self.assertEqual(2, sum(report['hosts'].values()))
        self.assertEqual(set(),
                         set(report['hosts']) - {'compute1', 'compute2'})

    def test_bad_arguments(self):
        for args, message in ((['--subscribers', '0'], '--subscribers'),
                              (['--hosts', 'x'], '--hosts')):
            result = subprocess.run([_bin('vdesk-sandbox')] + args,
                                    capture_output=True, text=True,
                                    timeout=60, check=False)
            self.assertEqual(2, result.returncode)
            self.assertIn(message, result.stderr)

    def test_serve_and_use_it_with_the_openstack_cli(self):
        services.require(self, 'freeradius')
        proc = subprocess.Popen(
            [_bin('vdesk-sandbox'), '--serve', '--subscribers', '1',
             '--hosts', '1'], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(proc.kill)
        info = json.loads(proc.stdout.readline())
        sub = info['subscribers'][0]
        env = dict(os.environ, OS_AUTH_TYPE='v3aka',
                   OS_AUTH_URL=info['keystone_url'], OS_IMSI=sub['imsi'],
                   OS_K=sub['k'], OS_OPC=sub['opc'],
                   OS_PROJECT_NAME='subscribers',
                   OS_PROJECT_DOMAIN_NAME='vdesk',
                   OS_IDENTITY_API_VERSION='3')
        env.pop('OS_CLOUD', None)

        admin = info['admin']
        admin_env = dict(env, OS_AUTH_TYPE='password',
                         OS_USERNAME=admin['username'],
                         OS_PASSWORD=admin['password'],
                         OS_PROJECT_NAME=admin['project_name'],
                         OS_USER_DOMAIN_NAME=admin['user_domain_name'],
                         OS_PROJECT_DOMAIN_NAME=admin['project_domain_name'])

        def openstack(*args, env=env):
            result = subprocess.run(
                [_bin('openstack')] + list(args) + ['-f', 'json'],
                capture_output=True, text=True, env=env, timeout=300,
                check=False)
            self.assertEqual(0, result.returncode, result.stderr)
            return json.loads(result.stdout) if result.stdout.strip() \
                else None

        # The desktop endpoint comes from Keystone's catalog.
        session = openstack('desktop', 'login', '--browser')
        self.assertEqual('ACTIVE', session['status'])
        self.assertEqual('spice-html5', session['console_type'])
        console = openstack('desktop', 'console')
        self.assertEqual('spice-html5', console['type'])
        self.assertIn('token', console['url'])
        shown = openstack('desktop', 'show')
        self.assertEqual(session['desktop_id'], shown['desktop_id'])
        result = subprocess.run([_bin('openstack'), 'desktop', 'logout'],
                                capture_output=True, text=True, env=env,
                                timeout=300, check=False)
        self.assertEqual(0, result.returncode, result.stderr)

        # The operator's view of the mapping.
        mappings = openstack('desktop', 'mapping', 'list', env=admin_env)
        self.assertEqual([sub['imsi']], [m['subscriber'] for m in mappings])
        self.assertEqual(session['desktop_id'], mappings[0]['desktop_id'])
        mapping = openstack('desktop', 'mapping', 'show', sub['imsi'],
                            env=admin_env)
        self.assertEqual(session['desktop_id'], mapping['desktop_id'])
        # A subscriber is not an operator.
        denied = subprocess.run(
            [_bin('openstack'), 'desktop', 'mapping', 'list'],
            capture_output=True, text=True, env=env, timeout=300,
            check=False)
        self.assertEqual(1, denied.returncode)
        self.assertIn('403', denied.stderr)

        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, proc.wait(timeout=120))
        gone, alive = psutil.wait_procs(children, timeout=30)
        self.assertEqual([], alive)
