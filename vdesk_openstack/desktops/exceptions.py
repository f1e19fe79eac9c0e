"""Errors of the desktop service, each with the HTTP status it maps to.

Messages are safe to show to the caller: they never name another
subscriber's resources.
"""


class DesktopError(Exception):
    code = 500
    message = 'Desktop service error'

    def __init__(self, message=None):
        super().__init__(message or self.message)


class Invalid(DesktopError):
    code = 400
    message = 'Invalid request'


class NotFound(DesktopError):
    code = 404
    message = 'Not found'


class NoSession(NotFound):
    message = 'No open desktop session'


class DesktopNotFound(NotFound):
    message = 'Desktop not found'


class Conflict(DesktopError):
    code = 409
    message = 'Conflict'


class NotActive(Conflict):
    message = 'The desktop is not active yet'


class Busy(Conflict):
    message = ('Another request for this desktop is in progress; retry '
               'shortly')


class NoPlan(Conflict):
    message = 'The subscriber has no subscription plan'


class Unavailable(DesktopError):
    code = 503
    message = 'A service the desktop service depends on is unavailable'


class BadGateway(DesktopError):
    """A service the desktop service relays gave an unusable answer."""

    code = 502
    message = 'A service the desktop service depends on failed'


class BadMarker(DesktopError):
    """Nova no longer knows a listing's marker (internal, not an answer)."""


class NotBound(DesktopError):
    """The token's user is not the Keystone user the desktop is bound to.

    The message does not say whether the subscriber has a desktop.
    """

    code = 403
    message = ('This user may not use the desktop of this subscriber')


class Unusable(Conflict):
    """The instance is held in a state only an operator can undo."""

    message = ('The desktop is held by an operator action; contact '
               'support')


class Unrecoverable(Conflict):
    """The instance is in ERROR and the service could not bring it back.

    The desktop is not replaced by a blank one: an operator recovers the
    server or replaces the desktop explicitly.
    """

    message = ('The desktop failed and could not be recovered; an operator '
               'has been alerted. Contact support.')


class Refused(DesktopError):
    """Nova refused an action outright (internal, not an answer)."""


class DeliveryFailed(DesktopError):
    """A charging record was not accepted by the message bus (internal)."""
