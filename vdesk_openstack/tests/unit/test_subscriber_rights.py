"""Keystone's policy and the quotas that keep a SIM login powerless."""

import contextlib
import io
import os

import fixtures
from oslo_config import cfg
from oslo_policy import policy as oslo_policy
import testtools
import yaml

from vdesk_openstack.cmd import manage
from vdesk_openstack import subscriber_rights as rights

APP_CRED = 'identity:create_application_credential'
TRUST = 'identity:create_trust'


class KeystonePolicyTest(testtools.TestCase):

    def enforcer(self, document):
        """An oslo.policy enforcer over ``document`` and Keystone's rules."""
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'policy.yaml')
        with open(path, 'w') as f:
            yaml.safe_dump(document, f)
        conf = cfg.ConfigOpts()
        conf([])
        enforcer = oslo_policy.Enforcer(conf, policy_file=path)
        enforcer.register_defaults([
            oslo_policy.RuleDefault('admin_required', 'role:admin'),
            oslo_policy.RuleDefault('owner', 'user_id:%(user_id)s')])
        enforcer.load_rules()
        return enforcer

    def test_every_rule_narrowed_once(self):
        document = rights.keystone_policy('vdesk_subscriber')
        self.assertEqual(set(rights.KEYSTONE_RULES), set(document))
        for rule in document.values():
            self.assertTrue(rule.endswith(
                ') and not role:vdesk_subscriber and not token.methods:aka'),
                rule)
        self.assertEqual(document, rights.keystone_policy(
            'vdesk_subscriber', document))

    def test_operator_rules_are_kept_and_narrowed(self):
        current = {APP_CRED: 'role:appcred_maker', 'identity:get_user': '@',
                   TRUST: ''}
        document = rights.keystone_policy('ue', current)
        self.assertEqual('@', document['identity:get_user'])
        self.assertEqual('(role:appcred_maker) and not role:ue and not '
                         'token.methods:aka', document[APP_CRED])
        self.assertEqual('(@) and not role:ue and not token.methods:aka',
                         document[TRUST])

    def test_rules_deny_sim_tokens_only(self):
        enforcer = self.enforcer(rights.keystone_policy('vdesk_subscriber'))
        target = {'user_id': 'u1'}
        others = {'user_id': 'u1', 'roles': ['member'],
                  'token': {'methods': ['password']}}
        scoped_sim = {'user_id': 'u1', 'roles': ['vdesk_subscriber'],
                      'token': {'methods': ['aka']}}
        unscoped_sim = {'user_id': 'u1', 'roles': [],
                        'token': {'methods': ['token', 'aka']}}
        password_of_subscriber = {'user_id': 'u1',
                                  'roles': ['vdesk_subscriber'],
                                  'token': {'methods': ['password']}}
        self.assertTrue(enforcer.enforce(APP_CRED, target, others))
        for creds in (scoped_sim, unscoped_sim, password_of_subscriber):
            self.assertFalse(enforcer.enforce(APP_CRED, target, creds),
                             creds)

    def test_role_names_that_cannot_be_a_rule(self):
        for role in ('', 'a b', 'x)or(@', 'role:admin'):
            self.assertRaises(ValueError, rights.keystone_policy, role)

    def test_zero_quotas_only_for_known_resources(self):
        self.assertEqual({'instances': 0, 'cores': 0, 'ram': 0},
                         rights.zero_quotas('compute', {
                             'instances': 10, 'cores': 20, 'ram': 1,
                             'metadata_items': 128, 'id': 'p'}))
        self.assertEqual({'network': 0, 'port': 0}, rights.zero_quotas(
            'network', {'network': 100, 'port': 500, 'rbac_policy': 10}))

    def run_manage(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            code = manage.main(list(argv))
        return code, out.getvalue(), err.getvalue()

    def test_render_keystone_policy(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        current = os.path.join(tmp, 'policy.yaml')
        with open(current, 'w') as f:
            f.write('"identity:get_user": "@"\n')
        code, out, _ = self.run_manage(
            'config', 'render', '--target', 'keystone-policy',
            '--subscriber-role', 'ue', '--current', current)
        self.assertEqual(0, code)
        document = yaml.safe_load(out)
        self.assertEqual('@', document['identity:get_user'])
        self.assertIn('not role:ue', document[APP_CRED])
        code, out, err = self.run_manage(
            'config', 'render', '--target', 'keystone-policy',
            '--subscriber-role', 'a b')
        self.assertEqual(manage.EXIT_USAGE, code)
        self.assertIn('subscriber role', err)
        self.assertEqual('', out)
