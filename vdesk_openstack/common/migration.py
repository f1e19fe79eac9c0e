"""Run a package's alembic migrations programmatically (``db sync``).

Each schema keeps its revision in a version table of its own
(``vdesk_hss_version``, ``vdesk_desktops_version``), so the HSS and the
desktop service may share one database. Releases before that kept it in
alembic's default ``alembic_version``; :func:`upgrade` adopts such a
revision when the schema's own tables are there, and removes the old row.
"""

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
import sqlalchemy as sa

LEGACY_VERSION_TABLE = 'alembic_version'


def _config(connection, migrations_dir, version_table):
    cfg = alembic_config.Config()
    cfg.set_main_option('script_location', migrations_dir)
    cfg.attributes['connection'] = connection
    cfg.attributes['version_table'] = version_table
    return cfg


def _adopt_legacy_revision(connection, version_table, marker_table):
    """Move the schema's revision out of alembic's default table."""
    inspector = sa.inspect(connection)
    tables = set(inspector.get_table_names())
    if (version_table in tables or LEGACY_VERSION_TABLE not in tables or
            marker_table not in tables):
        return None
    legacy = sa.table(LEGACY_VERSION_TABLE, sa.column('version_num'))
    revisions = [row[0] for row in connection.execute(
        sa.select(legacy.c.version_num))]
    if len(revisions) != 1:
        return None
    ours = sa.Table(version_table, sa.MetaData(),
                    sa.Column('version_num', sa.String(32), nullable=False,
                              primary_key=True))
    ours.create(connection)
    connection.execute(ours.insert().values(version_num=revisions[0]))
    connection.execute(legacy.delete())
    sa.Table(LEGACY_VERSION_TABLE, sa.MetaData()).drop(connection)
    return revisions[0]


def upgrade(engine, migrations_dir, version_table, marker_table,
            revision='head'):
    """Upgrade to ``revision``; ``marker_table`` is one of the schema's."""
    with engine.begin() as connection:
        _adopt_legacy_revision(connection, version_table, marker_table)
        alembic_command.upgrade(
            _config(connection, migrations_dir, version_table), revision)


def current_revision(engine, version_table):
    with engine.connect() as connection:
        return alembic_migration.MigrationContext.configure(
            connection, opts={'version_table': version_table}
        ).get_current_revision()
