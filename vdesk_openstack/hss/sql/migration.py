"""Schema migrations of the embedded HSS (alembic, run programmatically)."""

import os

from vdesk_openstack.common import migration

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), 'migrations')


def upgrade(engine, revision='head'):
    migration.upgrade(engine, MIGRATIONS_DIR, revision)


current_revision = migration.current_revision
