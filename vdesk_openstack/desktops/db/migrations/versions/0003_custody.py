"""Tombstones of servers the API deleted; recovery and pre-warm budget.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'desktop_tombstones',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('desktop_id', sa.String(36), nullable=False),
        sa.Column('subscriber', sa.String(15), nullable=False),
        sa.Column('instance_id', sa.String(36), nullable=True),
        sa.Column('whole_desktop', sa.Boolean, nullable=False),
        sa.Column('reason', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('ix_desktop_tombstones_instance_id',
                    'desktop_tombstones', ['instance_id'])
    op.create_index('ix_desktop_tombstones_desktop_id',
                    'desktop_tombstones', ['desktop_id'])
    op.add_column('desktops', sa.Column('recovery', sa.String(16),
                                        nullable=True))
    op.add_column('desktops', sa.Column('unclaimed_prewarms', sa.Integer,
                                        nullable=False, server_default='0'))
    op.add_column('desktops', sa.Column('unclaimed_since', sa.DateTime,
                                        nullable=True))
    op.create_index('ix_desktops_recovery', 'desktops', ['recovery'])
