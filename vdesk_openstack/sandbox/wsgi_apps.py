"""WSGI applications of the real cloud's services, for gunicorn.

``vdesk_openstack.sandbox.wsgi_apps:load("MODULE")``, given to gunicorn,
serves the ``application`` of MODULE (e.g. ``nova.wsgi.osapi_compute``).
The OpenStack services parse ``sys.argv`` with oslo.config when their
application is built, so the WSGI server's own arguments are removed
first; each service finds its files through its
``OS_<SERVICE>_CONFIG_DIR``/``_FILES`` environment variables.
"""

import importlib
import sys


def load(module):
    sys.argv = sys.argv[:1]
    return importlib.import_module(module).application
