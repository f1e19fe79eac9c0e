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
        check_str='role:%(subscriber_role)s and auth_methods:aka and '
                  'not role:admin and '
                  'user_domain_name:%(subscriber_domain)s and '
                  'project_domain_name:%(subscriber_domain)s and '
                  'project_name:%(subscriber_project)s',
        description='A subscriber: a user of the subscriber domain whose '
                    'token comes from a SIM login (its authentication '
                    'methods include "aka"), is scoped to the subscriber '
                    'project and carries the subscriber role there '
                    '([vdesk_aka] subscriber_domain, subscriber_project '
                    'and subscriber_role of vdesk.conf). Keystone\'s "aka" '
                    'method creates such users (named by IMSI) and grants '
                    'them the role at their SIM logins. The desktop service '
                    'checks the domain, the project and the "aka" method '
                    'in code as well, and binds each desktop to the user id '
                    'of its first login.'),
]


def list_rules():
    return rules
