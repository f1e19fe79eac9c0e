"""Challenge rate counters replace the lockout's failure counters.

Wrong answers no longer lock a subscriber out; challenge requests are
counted per client address and per IMSI instead.

Revision ID: 0002
Revises: 0001
Create Date: 2027-01-12
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'aka_challenge_counts',
        sa.Column('subject', sa.String(64), primary_key=True),
        sa.Column('period', sa.BigInteger, nullable=False),
        sa.Column('hits', sa.Integer, nullable=False),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('ix_aka_challenge_counts_period', 'aka_challenge_counts',
                    ['period'])
    op.drop_table('aka_failures')
