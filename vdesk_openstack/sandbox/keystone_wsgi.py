"""WSGI entry point of a sandbox Keystone (served by gunicorn).

Keystone's ``initialize_public_application`` parses ``sys.argv`` with
oslo.config, so the WSGI server's own arguments are removed first; the
configuration comes from ``OS_KEYSTONE_CONFIG_FILES``.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.server import wsgi  # noqa: E402

application = wsgi.initialize_public_application()
