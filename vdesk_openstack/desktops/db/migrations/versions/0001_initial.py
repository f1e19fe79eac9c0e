"""Initial desktop service schema: desktops and sessions.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'desktops',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('subscriber', sa.String(15), nullable=False),
        sa.Column('user_id', sa.String(64), nullable=True),
        sa.Column('instance_id', sa.String(36), nullable=True),
        sa.Column('plan', sa.String(64), nullable=False),
        sa.Column('flavor_id', sa.String(255), nullable=True),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('generation', sa.Integer, nullable=False),
        sa.Column('fault', sa.String(255), nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=False),
        sa.UniqueConstraint('subscriber', name='uniq_desktops0subscriber'),
        sa.UniqueConstraint('instance_id', name='uniq_desktops0instance_id'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('ix_desktops_status_updated_at', 'desktops',
                    ['status', 'updated_at'])
    op.create_table(
        'sessions',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('desktop_id', sa.String(36),
                  sa.ForeignKey('desktops.id',
                                name='fk_sessions_desktop_id'),
                  nullable=False),
        sa.Column('subscriber', sa.String(15), nullable=False),
        sa.Column('is_open', sa.Boolean, nullable=True),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('restored', sa.Boolean, nullable=False),
        sa.Column('rebuilt', sa.Boolean, nullable=False),
        sa.Column('capabilities', sa.Text, nullable=False),
        sa.Column('console_type', sa.String(32), nullable=False),
        sa.Column('charging', sa.String(8), nullable=False),
        sa.Column('terminate_cause', sa.String(32), nullable=True),
        sa.Column('fault', sa.String(255), nullable=True),
        sa.Column('started_at', sa.DateTime, nullable=False),
        sa.Column('active_at', sa.DateTime, nullable=True),
        sa.Column('ended_at', sa.DateTime, nullable=True),
        sa.Column('last_seen_at', sa.DateTime, nullable=False),
        sa.Column('last_interim_at', sa.DateTime, nullable=True),
        sa.UniqueConstraint('subscriber', 'is_open',
                            name='uniq_sessions0subscriber0is_open'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('ix_sessions_status_last_seen_at', 'sessions',
                    ['status', 'last_seen_at'])
    op.create_index('ix_sessions_desktop_id', 'sessions', ['desktop_id'])
