"""Errors of the API and their JSON bodies.

Every error answer has the same shape, ``{"error": {"code", "title",
"message"}}``. Errors of the desktop service carry their HTTP status
(:mod:`vdesk_openstack.desktops.exceptions`) and a message that is safe to
show; anything else is a bug, logged with its traceback and answered with
a 500 that tells nothing about the internals.
"""

import json

from oslo_db import exception as db_exc
from oslo_log import log as logging
import webob
import webob.exc

from vdesk_openstack.desktops import exceptions

LOG = logging.getLogger(__name__)

INTERNAL_MESSAGE = ('The desktop service failed to handle the request; '
                    'the operator has the details in its logs')


class Forbidden(exceptions.DesktopError):
    code = 403
    message = 'Not allowed by policy'


class MethodNotAllowed(exceptions.DesktopError):
    code = 405
    message = 'Method not allowed'

    def __init__(self, allowed):
        super().__init__('Method not allowed; use %s' % ', '.join(allowed))
        self.allowed = allowed


class RequestTooLarge(exceptions.DesktopError):
    code = 413
    message = 'Request body too large'


def title(code):
    cls = webob.exc.status_map.get(code)
    return cls.title if cls is not None else 'Error'


def error_body(code, message):
    return {'error': {'code': code, 'title': title(code),
                      'message': message}}


def json_response(body, status=200, headers=None):
    response = webob.Response(status=status,
                              content_type='application/json',
                              charset='UTF-8')
    response.text = json.dumps(body)
    response.headers.update(headers or {})
    return response


def error_response(code, message, headers=None):
    return json_response(error_body(code, message), status=code,
                         headers=headers)


def from_exception(error, request=None):
    """The answer to ``error`` raised while handling ``request``."""
    if isinstance(error, exceptions.DesktopError) and \
            400 <= error.code < 600 and \
            type(error) is not exceptions.DesktopError:
        headers = None
        if isinstance(error, MethodNotAllowed):
            headers = {'Allow': ', '.join(error.allowed)}
        if error.code >= 500:
            LOG.warning('%s %s: %s', getattr(request, 'method', '?'),
                        getattr(request, 'path', '?'), error)
        return error_response(error.code, str(error), headers)
    if isinstance(error, (db_exc.DBConnectionError, db_exc.DBDeadlock)):
        # The transaction was rolled back: nothing half-written, and the
        # next request reconnects by itself.
        LOG.error('%s %s: database unavailable: %s',
                  getattr(request, 'method', '?'),
                  getattr(request, 'path', '?'), error)
        return error_response(503, 'The desktop database is unavailable; '
                                   'retry later')
    LOG.error('Unexpected error in %s %s', getattr(request, 'method', '?'),
              getattr(request, 'path', '?'), exc_info=error)
    return error_response(500, INTERNAL_MESSAGE)
