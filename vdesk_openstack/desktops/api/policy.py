"""oslo.policy enforcement of the API's rules (vdesk_openstack.policies).

Rules are defaults in code; an operator overrides them in the file named
by ``[oslo_policy] policy_file`` of vdesk.conf.
"""

from oslo_policy import policy

from vdesk_openstack.desktops.api import faults
from vdesk_openstack import policies


class Enforcer(object):

    def __init__(self, conf):
        self._enforcer = policy.Enforcer(conf)
        self._enforcer.register_defaults(policies.list_rules())
        # Who is a subscriber ([vdesk_aka] of vdesk.conf): the targets of
        # the subscriber rule, and the API's own check.
        self.subscriber_domain = conf.vdesk_aka.subscriber_domain
        self.subscriber_project = conf.vdesk_aka.subscriber_project
        self.subscriber_role = conf.vdesk_aka.subscriber_role

    def authorize(self, rule, context, target=None):
        """Raise :class:`faults.Forbidden` unless ``context`` may ``rule``."""
        target = target if target is not None else {
            'subscriber_domain': self.subscriber_domain,
            'subscriber_project': self.subscriber_project,
            'subscriber_role': self.subscriber_role,
            'project_id': context.project_id, 'user_id': context.user_id}
        try:
            self._enforcer.authorize(rule, target, context, do_raise=True)
        except policy.PolicyNotAuthorized:
            raise faults.Forbidden(
                'Policy does not allow %s to be performed' % rule) from None
        except policy.InvalidScope:
            raise faults.Forbidden(
                '%s needs a project-scoped token' % rule) from None
