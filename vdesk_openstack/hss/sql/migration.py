"""Schema migrations of the embedded HSS (alembic, run programmatically)."""

import os

from vdesk_openstack.common import migration

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), 'migrations')
VERSION_TABLE = 'vdesk_hss_version'


def upgrade(engine, revision='head'):
    migration.upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE, 'subscribers',
                      revision)


def current_revision(engine):
    return migration.current_revision(engine, VERSION_TABLE)
