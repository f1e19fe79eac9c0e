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


class BadMarker(DesktopError):
    """Nova no longer knows a listing's marker (internal, not an answer)."""
