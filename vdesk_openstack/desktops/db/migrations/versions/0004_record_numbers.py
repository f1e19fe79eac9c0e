"""Sessions count their charging records: the next record's number.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('sessions', sa.Column('records', sa.Integer,
                                        nullable=False, server_default='0'))
    # A session charged before the upgrade sent its Start (record 0) and
    # perhaps interims this schema never counted: number from 1 on.
    sessions = sa.table('sessions', sa.column('charging', sa.String),
                        sa.column('records', sa.Integer))
    op.execute(sessions.update()
               .where(sessions.c.charging != 'none')
               .values(records=1))
