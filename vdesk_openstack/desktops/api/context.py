"""The request context: who calls, from the headers keystonemiddleware sets.

A subscriber is the token's user: a user of the subscriber domain named
by its IMSI (Keystone's ``aka`` method creates such users), with a token
scoped to the subscriber project. Subscriber calls take no IMSI at all,
so a caller can only ever name its own desktop -- and the desktop is
bound to the Keystone user *id* of its first login, so a user that merely
carries the same name (another domain, a renamed or recreated user)
gets nothing.

A subscriber's token must also come from a SIM login: its authentication
methods (which keystonemiddleware leaves in the WSGI environ with the
validated token) include ``aka``. A token rescoped from it keeps ``aka``;
an application credential, a password, an EC2 credential or a trust of the
same user gives a token without it, and no desktop.
"""

from oslo_context import context


TOKEN_INFO = 'keystone.token_info'


class RequestContext(context.RequestContext):

    def __init__(self, auth_methods=(), **kwargs):
        super().__init__(**kwargs)
        # How the token was obtained, as Keystone says (e.g. ["aka"]).
        self.auth_methods = list(auth_methods)

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
                      project_domain_name=self.project_domain_name,
                      auth_methods=self.auth_methods)
        return values


def auth_methods(environ):
    """The validated token's ``methods`` (none without a v3 token)."""
    info = environ.get(TOKEN_INFO)
    token = info.get('token') if isinstance(info, dict) else None
    methods = token.get('methods') if isinstance(token, dict) else None
    if not isinstance(methods, list):
        return []
    return [method for method in methods if isinstance(method, str)]


def from_environ(environ):
    return RequestContext.from_environ(environ,
                                       auth_methods=auth_methods(environ))
