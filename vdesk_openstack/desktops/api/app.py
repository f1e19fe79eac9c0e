"""The WSGI application and its paste pipeline (etc/vdesk/api-paste.ini).

``/`` answers the version document without a token, ``/healthcheck``
is oslo.middleware's health check, and ``/v1`` goes through
keystonemiddleware's ``auth_token`` to the controllers of :mod:`.v1`.

The application does not build its own :class:`DesktopManager`: the
caller hands one to :func:`load_app` -- production builds it from
vdesk.conf (:mod:`.wsgi`), tests wire it to their Nova. The manager and
the parsed vdesk.conf reach the paste factories through a registry keyed
by a string in paste's ``global_conf`` (paste passes only strings), and
the oslo middlewares get that same vdesk.conf object, so
``[keystone_authtoken]``, ``[oslo_middleware]`` and ``[oslo_policy]`` are
all read from vdesk.conf whatever its path.
"""

import os
import re
import threading
import uuid

from keystonemiddleware import auth_token
from oslo_log import log as logging
from oslo_middleware import http_proxy_to_wsgi
from paste import deploy
import webob
import webob.dec

from vdesk_openstack.desktops.api import context as api_context
from vdesk_openstack.desktops.api import faults
from vdesk_openstack.desktops.api import policy
from vdesk_openstack.desktops.api import v1
from vdesk_openstack.desktops import exceptions

LOG = logging.getLogger(__name__)

SERVICE_KEY = 'vdesk_service'

_services = {}
_services_lock = threading.Lock()


class Service(object):
    """What the paste factories need: vdesk.conf, the manager, policy."""

    def __init__(self, conf, manager):
        self.conf = conf
        self.manager = manager
        self.enforcer = policy.Enforcer(conf)


def load_app(conf, manager, paste_file, name='main'):
    """Load the pipeline ``name`` of ``paste_file`` around ``manager``."""
    key = uuid.uuid4().hex
    with _services_lock:
        _services[key] = Service(conf, manager)
    try:
        return deploy.loadapp('config:%s' % os.path.abspath(paste_file),
                              name=name,
                              global_conf={SERVICE_KEY: key})
    finally:
        with _services_lock:
            _services.pop(key, None)


def _service(global_conf):
    key = global_conf.get(SERVICE_KEY)
    with _services_lock:
        service = _services.get(key)
    if service is None:
        raise RuntimeError(
            'The vdesk API pipeline must be loaded by '
            'vdesk_openstack.desktops.api.app.load_app (the WSGI entry '
            'point vdesk_openstack.wsgi.api:application does)')
    return service


# -- dispatch -----------------------------------------------------------------
def _compile(template):
    pattern = re.sub(r'\{(\w+)\}', r'(?P<\1>[^/]+)', template.rstrip('/'))
    return re.compile('^%s/?$' % pattern)


class Router(object):
    """Method + path template -> handler; errors become JSON answers.

    A handler returns ``(status, body)`` (body: a JSON document or None),
    ``(status, body, headers)`` or ``(status, content_type, text,
    headers)``.
    """

    def __init__(self, routes, with_context=True):
        self._routes = []
        for method, template, handler in routes:
            regex = _compile(template)
            for existing, methods in self._routes:
                if existing.pattern == regex.pattern:
                    methods[method] = handler
                    break
            else:
                self._routes.append((regex, {method: handler}))
        self._with_context = with_context

    @webob.dec.wsgify
    def __call__(self, request):
        try:
            handler, kwargs = self._match(request)
            if self._with_context:
                request.environ['vdesk.context'] = \
                    api_context.from_environ(request.environ)
            return self._respond(handler(request, **kwargs))
        except Exception as e:
            return faults.from_exception(e, request)

    def _match(self, request):
        path = request.path_info or '/'
        for regex, methods in self._routes:
            match = regex.match(path)
            if match is None:
                continue
            method = 'GET' if request.method == 'HEAD' else request.method
            if method not in methods:
                raise faults.MethodNotAllowed(sorted(methods))
            return methods[method], match.groupdict()
        raise exceptions.NotFound('No resource at %s' % path[:200])

    @staticmethod
    def _respond(result):
        if len(result) == 4:
            status, content_type, text, headers = result
            response = webob.Response(status=status,
                                      content_type=content_type,
                                      charset='UTF-8')
            response.text = text
            response.headers.update(headers or {})
            return response
        status, body, headers = result if len(result) == 3 else \
            result + (None,)
        if body is None:
            response = webob.Response(status=status, content_type=None)
        else:
            response = faults.json_response(body, status=status)
        response.headers.update(headers or {})
        return response


# -- paste factories -------------------------------------------------------
def versions_factory(global_conf, **local_conf):
    """``/``: the version document, no token needed."""
    def versions(request):
        v1_url = request.application_url.rstrip('/') + '/v1'
        return 200, {'versions': [v1.version_document(v1_url)]}
    return Router([('GET', '/', versions)], with_context=False)


def v1_factory(global_conf, **local_conf):
    """``/v1``: the API's controllers (behind auth_token)."""
    service = _service(global_conf)
    return Router(v1.API(service.manager, service.enforcer).routes())


def urlmap_factory(loader, global_conf, **local_conf):
    """A composite sending each path prefix to its own pipeline.

    The longest matching prefix wins; it moves from PATH_INFO to
    SCRIPT_NAME, as paste's urlmap does.
    """
    apps = sorted(((prefix.rstrip('/'), loader.get_app(name, global_conf))
                   for prefix, name in local_conf.items()),
                  key=lambda item: len(item[0]), reverse=True)

    def urlmap(environ, start_response):
        path = environ.get('PATH_INFO', '') or '/'
        for prefix, app in apps:
            if not prefix or path == prefix or \
                    path.startswith(prefix + '/'):
                environ['SCRIPT_NAME'] = environ.get('SCRIPT_NAME',
                                                     '') + prefix
                environ['PATH_INFO'] = path[len(prefix):] or '/'
                return app(environ, start_response)
        response = faults.error_response(404, 'Not found')
        return response(environ, start_response)
    return urlmap


def fault_filter_factory(global_conf, **local_conf):
    """Outermost filter: what escapes a middleware becomes a JSON 500."""
    def fault(app):
        @webob.dec.wsgify
        def guarded(request):
            try:
                return request.get_response(app)
            except Exception as e:
                return faults.from_exception(e, request)
        return guarded
    return fault


def authtoken_filter_factory(global_conf, **local_conf):
    """keystonemiddleware's auth_token, reading vdesk.conf."""
    service = _service(global_conf)
    conf = dict(local_conf, oslo_config_config=service.conf)

    def authtoken(app):
        return auth_token.AuthProtocol(app, conf)
    return authtoken


def http_proxy_to_wsgi_filter_factory(global_conf, **local_conf):
    """oslo.middleware's HTTPProxyToWSGI, reading vdesk.conf."""
    service = _service(global_conf)

    def proxy(app):
        return http_proxy_to_wsgi.HTTPProxyToWSGI(app, service.conf)
    return proxy
