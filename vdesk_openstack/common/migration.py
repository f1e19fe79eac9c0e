"""Run a package's alembic migrations programmatically (``db sync``)."""

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration


def _config(connection, migrations_dir):
    cfg = alembic_config.Config()
    cfg.set_main_option('script_location', migrations_dir)
    cfg.attributes['connection'] = connection
    return cfg


def upgrade(engine, migrations_dir, revision='head'):
    with engine.begin() as connection:
        alembic_command.upgrade(_config(connection, migrations_dir),
                                revision)


def current_revision(engine):
    with engine.connect() as connection:
        return alembic_migration.MigrationContext.configure(
            connection).get_current_revision()
