"""Base rules shared by every vdesk-openstack API policy."""

from oslo_policy import policy

ADMIN = 'rule:context_is_admin'
SUBSCRIBER = 'rule:subscriber'

rules = [
    policy.RuleDefault(
        name='context_is_admin',
        check_str='role:admin',
        description='Operators who manage every subscriber\'s desktop.'),
    policy.RuleDefault(
        name='subscriber',
        check_str='role:member and not role:admin and '
                  'user_domain_name:%(subscriber_domain)s and '
                  'project_domain_name:%(subscriber_domain)s and '
                  'project_name:%(subscriber_project)s',
        description='A subscriber: a user of the subscriber domain whose '
                    'token is scoped to the subscriber project and carries '
                    'the subscriber role there ([vdesk_aka] '
                    'subscriber_domain and subscriber_project of '
                    'vdesk.conf). Keystone\'s "aka" method creates such '
                    'users (named by IMSI) and grants them the role on '
                    'first login. The desktop service checks the domain and '
                    'project in code as well, and binds each desktop to the '
                    'user id of its first login.'),
]


def list_rules():
    return rules
