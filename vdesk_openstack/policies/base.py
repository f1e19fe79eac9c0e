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
        check_str='role:member and not role:admin',
        description='A subscriber: a user whose token carries the '
                    'subscriber role on the subscriber project. Keystone\'s '
                    '"aka" method creates such users (named by IMSI) and '
                    'grants them the role on first login.'),
]


def list_rules():
    return rules
