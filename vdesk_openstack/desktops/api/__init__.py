"""The desktop service's REST API, a WSGI application.

:mod:`.app` assembles the paste pipeline (request id, health check, proxy
headers, Keystone tokens, the API) around a
:class:`~vdesk_openstack.desktops.manager.DesktopManager` it is given;
:mod:`.wsgi` builds the production manager from vdesk.conf and exposes
``application`` to uwsgi or gunicorn; :mod:`.v1` holds the controllers.
"""
