"""Charging outbox; index of the open sessions by id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'charging_outbox',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
                  primary_key=True, autoincrement=True),
        sa.Column('id', sa.String(36), nullable=False),
        sa.Column('session_id', sa.String(36), nullable=False),
        sa.Column('event_type', sa.String(32), nullable=False),
        sa.Column('payload', sa.Text, nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('attempts', sa.Integer, nullable=False),
        sa.Column('last_error', sa.String(255), nullable=True),
        sa.UniqueConstraint('id', name='uniq_charging_outbox0id'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('ix_sessions_is_open_id', 'sessions', ['is_open', 'id'])
