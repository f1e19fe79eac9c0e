"""Entry points of the desktop service API.

``application`` is the WSGI callable uwsgi and gunicorn import
(``vdesk_openstack.desktops.api.wsgi:application``): the first access
reads vdesk.conf (``VDESK_CONFIG_FILE``, default /etc/vdesk/vdesk.conf),
builds the production :class:`DesktopManager` and loads the paste
pipeline (``VDESK_API_PASTE``, default /etc/vdesk/api-paste.ini). Under
uwsgi, use ``lazy-apps`` so each worker builds its own after the fork
(database pools and the lock coordinator must not be shared).

``vdesk-api`` (:func:`main`) serves the same application with a small
threaded server from the standard library, for the sandbox and
development; production uses uwsgi or gunicorn.
"""

import argparse
import os
import socketserver
import sys
import threading
from wsgiref import simple_server

from oslo_config import cfg
from oslo_log import log as logging

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.desktops.api import app as api_app
from vdesk_openstack.desktops import consoles
from vdesk_openstack.desktops import service

LOG = logging.getLogger(__name__)

CONFIG_ENV = 'VDESK_CONFIG_FILE'
PASTE_ENV = 'VDESK_API_PASTE'
DEFAULT_CONFIG_FILE = '/etc/vdesk/vdesk.conf'
PASTE_NAME = 'api-paste.ini'
# Compute API microversion of the desktop service's requests (consoles
# ask for their own, see desktops.compute).


def make_conf(config_files, args=()):
    """vdesk.conf with the logging options (registered before parsing)."""
    return vdesk_conf.make_vdesk_conf(config_files, args, prog='vdesk-api')


def find_paste_file(explicit=None):
    """``explicit``, $VDESK_API_PASTE, /etc/vdesk or the installed copy."""
    if explicit:
        return os.path.abspath(explicit)
    if os.environ.get(PASTE_ENV):
        return os.path.abspath(os.environ[PASTE_ENV])
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))
    candidates = [os.path.join('/etc/vdesk', PASTE_NAME),
                  os.path.join(sys.prefix, 'etc', 'vdesk', PASTE_NAME),
                  os.path.join(package_root, 'etc', 'vdesk', PASTE_NAME)]
    for candidate in candidates:
        if os.path.exists(candidate):
            return candidate
    raise RuntimeError('No %s found (looked in %s); set %s'
                       % (PASTE_NAME, ', '.join(candidates), PASTE_ENV))


def init_application(config_files=None, paste_file=None):
    if config_files is None:
        config_files = [os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE)]
    conf = make_conf(config_files)
    logging.setup(conf, 'vdesk')
    paste_file = find_paste_file(paste_file)
    LOG.info('vdesk-api: configuration %s, pipeline %s',
             ', '.join(config_files), paste_file)
    try:
        manager = service.build_manager(conf)
    except consoles.NotRevocable as e:
        LOG.error('vdesk-api cannot start: %s', e)
        raise RuntimeError('vdesk-api cannot start: %s' % e) from None
    return api_app.load_app(conf, manager, paste_file)


_application = None
_application_lock = threading.Lock()


def __getattr__(name):
    # ``application`` is built on first access, not at import, so that
    # importing this module (for ``main``) reads no configuration.
    global _application
    if name != 'application':
        raise AttributeError(name)
    with _application_lock:
        if _application is None:
            _application = init_application()
    return _application


class ThreadingWSGIServer(socketserver.ThreadingMixIn,
                          simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(simple_server.WSGIRequestHandler):
    """Request lines go to oslo.log, not to stderr unconditionally."""

    def log_message(self, format, *args):
        LOG.debug('%s %s', self.address_string(), format % args)


def make_server(app, host='127.0.0.1', port=0):
    """A threaded stdlib WSGI server (port 0: any free port)."""
    return simple_server.make_server(host, port, app,
                                     server_class=ThreadingWSGIServer,
                                     handler_class=QuietHandler)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='vdesk-api',
        description='Serve the desktop service API with a small threaded '
                    'server (development and sandbox; use uwsgi or '
                    'gunicorn in production).')
    parser.add_argument('--config-file', action='append', default=[],
                        metavar='PATH',
                        help='vdesk.conf (repeatable; default $%s or %s)'
                        % (CONFIG_ENV, DEFAULT_CONFIG_FILE))
    parser.add_argument('--paste', metavar='PATH',
                        help='api-paste.ini (default $%s, %s or the '
                        'installed copy)' % (PASTE_ENV, PASTE_NAME))
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default 127.0.0.1)')
    parser.add_argument('--port', type=int, default=8790,
                        help='port to listen on (default 8790)')
    args = parser.parse_args(argv)
    config_files = args.config_file or [
        os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE)]
    try:
        application = init_application(config_files, args.paste)
    except (cfg.Error, RuntimeError, OSError) as e:
        sys.stderr.write('vdesk-api: %s\n' % e)
        return 2
    server = make_server(application, args.host, args.port)
    LOG.info('vdesk-api listening on http://%s:%d', args.host,
             server.server_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
