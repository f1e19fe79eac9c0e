"""What a SIM login may do outside the desktop API: nothing.

A SIM login gives a token for a user of the subscriber domain that holds
the subscriber role (``[vdesk_aka] subscriber_role``, ``vdesk_subscriber``
by default) on the subscribers' project, shared by every subscriber. The
role is the deployment's own: the policies of Nova, Neutron, Glance and
Cinder grant nothing to it (theirs name ``reader``, ``member``, ``admin``).
A deployment adds two things, decided here:

* Keystone's policy (:func:`keystone_policy`): a SIM token mints nothing
  that outlives the SIM -- no application credential, no EC2 or other
  credential, no trust, no OAuth1 access token. Each such rule keeps
  Keystone's default (or the operator's rule) and adds
  ``not role:<subscriber role> and not token.methods:aka``: the role
  catches a subscriber's project-scoped tokens whatever their method, the
  method catches an unscoped SIM token, which carries no role.
* zero quotas on the subscribers' project in Nova, Neutron and Cinder
  (:data:`ZERO_QUOTAS`): should a policy still let a subscriber token
  create something there (legacy policy defaults, or the ``member`` role
  users of an older deployment keep), it cannot create anything.
"""

import re

AKA_METHOD = 'aka'

# Keystone's rules whose defaults let a user create, for itself, a
# credential that keeps working after its SIM is gone.
KEYSTONE_RULES = (
    'identity:create_application_credential',
    'identity:ec2_create_credential',
    'identity:create_credential',
    'identity:update_credential',
    'identity:create_trust',
    'identity:authorize_request_token',
)
# Their defaults in Keystone 2025.2, for a node where Keystone is not
# importable (the defaults of the installed Keystone are used otherwise).
KEYSTONE_DEFAULTS = {
    'identity:create_application_credential': 'user_id:%(user_id)s',
    'identity:ec2_create_credential':
        '(rule:admin_required) or '
        '(role:member and user_id:%(target.credential.user_id)s)',
    'identity:create_credential':
        '(rule:admin_required) or user_id:%(target.credential.user_id)s',
    'identity:update_credential':
        '(rule:admin_required) or user_id:%(target.credential.user_id)s',
    'identity:create_trust': 'user_id:%(target.trust.trustor_user_id)s',
    'identity:authorize_request_token': 'rule:admin_required',
}

# Quota resources set to 0 on the subscribers' project, by service type
# (names of each service's quota API; a cloud without a resource, e.g.
# Neutron without its L3 plugin, skips it).
ZERO_QUOTAS = {
    'compute': ('instances', 'cores', 'ram', 'key_pairs', 'server_groups',
                'server_group_members'),
    'network': ('network', 'subnet', 'port', 'router', 'floatingip',
                'security_group', 'security_group_rule'),
    'volume': ('volumes', 'snapshots', 'gigabytes', 'backups',
               'backup_gigabytes'),
}

_ROLE_NAME = re.compile(r'^[A-Za-z0-9_.-]+$')


def keystone_defaults():
    """The installed Keystone's defaults of :data:`KEYSTONE_RULES`."""
    try:
        from keystone.common import policies
    except ImportError:
        return dict(KEYSTONE_DEFAULTS)
    rules = {rule.name: rule.check_str for rule in policies.list_rules()}
    return {name: rules.get(name, KEYSTONE_DEFAULTS[name])
            for name in KEYSTONE_RULES}


def deny_clause(role):
    """What each rule of :data:`KEYSTONE_RULES` gets: ``... and <this>``."""
    if not role or not _ROLE_NAME.match(role):
        raise ValueError('the subscriber role %r cannot be named in a '
                         'policy rule: use letters, digits, "_", "-" or "."'
                         % role)
    return 'not role:%s and not token.methods:%s' % (role, AKA_METHOD)


def keystone_policy(role, current=None):
    """Keystone's ``policy.yaml`` that denies those creations to ``role``.

    ``current`` is the file as it is: its rules stay, and those of
    :data:`KEYSTONE_RULES` are narrowed (``(<rule>) and not role:...``),
    once; rules it does not set get Keystone's default, narrowed.
    """
    policy = dict(current or {})
    clause = deny_clause(role)
    defaults = keystone_defaults()
    for name in KEYSTONE_RULES:
        rule = policy.get(name)
        if rule is None:
            rule = defaults[name]
        if clause in rule:
            continue
        rule = rule.strip() or '@'
        policy[name] = '(%s) and %s' % (rule, clause)
    return policy


def zero_quotas(service_type, current):
    """The quota update of ``service_type`` (compute, network, volume).

    ``current`` is the project's quota set as the service shows it: only
    the resources it knows are set to 0.
    """
    return {name: 0 for name in ZERO_QUOTAS[service_type]
            if name in current}
