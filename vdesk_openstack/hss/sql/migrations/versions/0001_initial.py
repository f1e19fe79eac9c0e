"""Initial HSS schema: plans, subscribers, AKA challenges and failures.

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
        'plans',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('name', sa.String(64), nullable=False),
        sa.Column('vcpus', sa.Integer, nullable=False),
        sa.Column('ram_mb', sa.Integer, nullable=False),
        sa.Column('disk_gb', sa.Integer, nullable=False),
        sa.Column('priority', sa.String(32), nullable=False),
        sa.Column('image', sa.String(255), nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.UniqueConstraint('name', name='uniq_plans0name'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_table(
        'subscribers',
        sa.Column('imsi', sa.String(15), primary_key=True),
        sa.Column('secrets', sa.LargeBinary(128), nullable=False),
        sa.Column('sqn', sa.BigInteger, nullable=False),
        sa.Column('amf', sa.String(4), nullable=False),
        sa.Column('plan_id', sa.Integer,
                  sa.ForeignKey('plans.id', name='fk_subscribers_plan_id'),
                  nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('ix_subscribers_plan_id', 'subscribers', ['plan_id'])
    op.create_table(
        'aka_challenges',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('imsi', sa.String(15), nullable=False),
        sa.Column('rand', sa.LargeBinary(16), nullable=False),
        sa.Column('xres_digest', sa.LargeBinary(32), nullable=True),
        sa.Column('expires_at', sa.Double, nullable=False),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('ix_aka_challenges_expires_at', 'aka_challenges',
                    ['expires_at'])
    op.create_table(
        'aka_failures',
        sa.Column('imsi', sa.String(15), primary_key=True),
        sa.Column('failures', sa.Integer, nullable=False),
        sa.Column('window_start', sa.Double, nullable=False),
        sa.Column('locked_until', sa.Double, nullable=False),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
