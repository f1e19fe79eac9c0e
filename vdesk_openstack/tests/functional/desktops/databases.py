"""Throw-away MariaDB and PostgreSQL databases for desktop-service tests.

oslo.db's provisioning (the ``openstack_citest`` user that
tools/test-setup.sh creates, or ``OS_TEST_DBAPI_ADMIN_CONNECTION``) creates
a database with a random name and drops it at cleanup. The test cases on
Nova's harness cannot use oslo.db's opportunistic mixin, which swaps the
process-wide engine facade under Nova; this asks for the database alone.
"""

import uuid

from oslo_db.sqlalchemy import provision

from vdesk_openstack.tests import services

SERVICE = {'mysql': 'mariadb', 'postgresql': 'postgresql'}


def provision_database(test, backend_type):
    """Create a database on ``backend_type``; return its URL.

    ``test`` is skipped (fails in CI) if the server is not reachable.
    """
    services.require(test, SERVICE[backend_type])
    try:
        backend = provision.Backend.backend_for_database_type(backend_type)
    except Exception as e:
        if services.in_ci():
            raise
        test.skipTest('no %s backend for oslo.db provisioning: %s'
                      % (backend_type, e))
    name = 'vdesk_%s' % uuid.uuid4().hex[:12]
    backend.create_named_database(name)
    test.addCleanup(backend.drop_named_database, name, True)
    return backend.provisioned_database_url(name).render_as_string(
        hide_password=False)
