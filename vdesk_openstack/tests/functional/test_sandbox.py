"""``vdesk-sandbox`` as the README runs it (console script, real services)."""

import json
import os
import signal
import subprocess
import sys

from keystoneauth1 import session as ks_session
import psutil
import testtools

from vdesk_openstack.client import v3aka


def _cli():
    return os.path.join(os.path.dirname(sys.executable), 'vdesk-sandbox')


class SandboxTest(testtools.TestCase):

    def test_json_run_logs_every_subscriber_in_twice_and_cleans_up(self):
        result = subprocess.run([_cli(), '--subscribers', '2', '--json'],
                                capture_output=True, text=True, timeout=300,
                                check=False)
        self.assertEqual(0, result.returncode, result.stderr)
        report = json.loads(result.stdout)
        self.assertEqual(['001010000000001', '001010000000002'],
                         [s['imsi'] for s in report['subscribers']])
        for sub in report['subscribers']:
            self.assertEqual(['step-by-step', 'v3aka'],
                             [login['method'] for login in sub['logins']])
            self.assertEqual(1, len({login['user_id']
                                     for login in sub['logins']}))
        self.assertIn('<- 401 challenge RAND=', result.stderr)
        # Nothing is left listening.
        port = int(report['keystone_url'].split(':')[2].split('/')[0])
        listening = [c for c in psutil.net_connections('tcp')
                     if c.laddr and c.laddr.port == port
                     and c.status == psutil.CONN_LISTEN]
        self.assertEqual([], listening)

    def test_bad_arguments(self):
        result = subprocess.run([_cli(), '--subscribers', '0'],
                                capture_output=True, text=True, timeout=60,
                                check=False)
        self.assertEqual(2, result.returncode)
        self.assertIn('--subscribers: must be an integer', result.stderr)

    def test_serve_until_sigterm(self):
        proc = subprocess.Popen([_cli(), '--serve', '--subscribers', '1'],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(proc.kill)
        info = json.loads(proc.stdout.readline())
        sub = info['subscribers'][0]
        auth = v3aka.V3Aka(info['keystone_url'], imsi=sub['imsi'],
                           k=sub['k'], opc=sub['opc'],
                           project_name='subscribers',
                           project_domain_name='vdesk')
        ref = auth.get_access(ks_session.Session(auth=auth))
        self.assertEqual(sub['imsi'], ref.username)
        self.assertEqual('admin', info['admin']['username'])
        children = psutil.Process(proc.pid).children(recursive=True)
        self.assertTrue(children)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, proc.wait(timeout=60))
        gone, alive = psutil.wait_procs(children, timeout=30)
        self.assertEqual([], alive)
