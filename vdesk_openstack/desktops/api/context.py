"""The request context: who calls, from the headers keystonemiddleware sets.

A subscriber is the token's user; its user *name* is its IMSI (Keystone's
``aka`` method names users so), which is why subscriber calls take no IMSI
at all: the caller can only ever name its own desktop.
"""

from oslo_context import context


class RequestContext(context.RequestContext):

    @property
    def subscriber(self):
        """The caller's IMSI claim: its Keystone user name."""
        return self.user_name


def from_environ(environ):
    return RequestContext.from_environ(environ)
