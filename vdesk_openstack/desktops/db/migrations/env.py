"""Alembic environment of the desktop service (``vdesk-manage db sync``)."""

from alembic import context

from vdesk_openstack.desktops.db import models

target_metadata = models.Base.metadata


def run_migrations_online():
    connectable = context.config.attributes['connection']
    context.configure(connection=connectable, target_metadata=target_metadata,
                      render_as_batch=True,
                      version_table=context.config.attributes.get(
                          'version_table', 'alembic_version'))
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
