"""The desktop service API as a WSGI module: ``vdesk_openstack.wsgi.api``.

``application`` is built when the module is imported: it reads vdesk.conf
(``VDESK_CONFIG_FILE``, default /etc/vdesk/vdesk.conf) and the paste
pipeline (``VDESK_API_PASTE``, default /etc/vdesk/api-paste.ini). uwsgi
looks the callable up in the module's namespace, so it must exist there
(``module = vdesk_openstack.wsgi.api:application``); run uwsgi with
``lazy-apps`` so that each worker builds its own after the fork (database
pools and the lock coordinator must not be shared).
"""

from vdesk_openstack.desktops.api import wsgi

application = wsgi.init_application()
