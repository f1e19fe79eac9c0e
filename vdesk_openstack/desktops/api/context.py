"""The request context: who calls, from the headers keystonemiddleware sets.

A subscriber is the token's user: a user of the subscriber domain named
by its IMSI (Keystone's ``aka`` method creates such users), with a token
scoped to the subscriber project. Subscriber calls take no IMSI at all,
so a caller can only ever name its own desktop -- and the desktop is
bound to the Keystone user *id* of its first login, so a user that merely
carries the same name (another domain, a renamed or recreated user)
gets nothing.
"""

from oslo_context import context


class RequestContext(context.RequestContext):

    @property
    def subscriber(self):
        """The caller's IMSI claim: its Keystone user name."""
        return self.user_name

    def to_policy_values(self):
        # Names as well as ids: the subscriber rule compares the token's
        # domain and project with the configured names. A plain dict:
        # oslo.context would flag added keys as deprecated ones.
        values = dict(super().to_policy_values())
        values.update(user_domain_name=self.user_domain_name,
                      project_name=self.project_name,
                      project_domain_name=self.project_domain_name)
        return values


def from_environ(environ):
    return RequestContext.from_environ(environ)
