"""Policies of the desktop service's API.

Subscriber calls act on the caller's own desktop only -- they take no
IMSI, the subscriber is the token's user -- so their rule only says who is
a subscriber. Admin calls name any subscriber and need the admin rule.
Every call expects a project-scoped token.
"""

from oslo_policy import policy

from vdesk_openstack.policies import base

SESSION_PATH = '/v1/desktop/session'
DESKTOPS_PATH = '/v1/desktops'
DESKTOP_PATH = '/v1/desktops/{imsi}'

LOGIN = 'vdesk:desktop:session:create'
GET_SESSION = 'vdesk:desktop:session:get'
LOGOUT = 'vdesk:desktop:session:delete'
CONSOLE = 'vdesk:desktop:console:get'
LIST = 'vdesk:desktops:list'
GET = 'vdesk:desktops:get'
RELEASE = 'vdesk:desktops:release'
DELETE = 'vdesk:desktops:delete'

rules = [
    policy.DocumentedRuleDefault(
        name=LOGIN, check_str=base.SUBSCRIBER, scope_types=['project'],
        description='Log in to the own desktop: create it on the first '
                    'login, restore it later.',
        operations=[{'path': SESSION_PATH, 'method': 'POST'}]),
    policy.DocumentedRuleDefault(
        name=GET_SESSION, check_str=base.SUBSCRIBER, scope_types=['project'],
        description='Show the own open desktop session.',
        operations=[{'path': SESSION_PATH, 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        name=LOGOUT, check_str=base.SUBSCRIBER, scope_types=['project'],
        description='Log out: release the own desktop (shelve and '
                    'offload).',
        operations=[{'path': SESSION_PATH, 'method': 'DELETE'}]),
    policy.DocumentedRuleDefault(
        name=CONSOLE, check_str=base.SUBSCRIBER, scope_types=['project'],
        description='Get console connection details of the own active '
                    'desktop.',
        operations=[{'path': '/v1/desktop/console', 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        name=LIST, check_str=base.ADMIN, scope_types=['project'],
        description='List every subscriber\'s desktop mapping.',
        operations=[{'path': DESKTOPS_PATH, 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        name=GET, check_str=base.ADMIN, scope_types=['project'],
        description='Show a subscriber\'s desktop mapping and open '
                    'session.',
        operations=[{'path': DESKTOP_PATH, 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        name=RELEASE, check_str=base.ADMIN, scope_types=['project'],
        description='Force the release of a subscriber\'s desktop (ends '
                    'its session with cause Admin-Reset).',
        operations=[{'path': DESKTOP_PATH + '/release', 'method': 'POST'}]),
    policy.DocumentedRuleDefault(
        name=DELETE, check_str=base.ADMIN, scope_types=['project'],
        description='Delete a subscriber\'s desktop: its Nova instance and '
                    'its mapping.',
        operations=[{'path': DESKTOP_PATH, 'method': 'DELETE'}]),
]


def list_rules():
    return rules
