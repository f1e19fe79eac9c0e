"""Challenges remember their client address; longer rate subjects.

``aka_challenges.source`` lets the gateway keep a few challenges per IMSI
and drop a flooding address's own first; an index on (imsi, expires_at)
finds an IMSI's challenges. ``aka_challenge_counts.subject`` holds any
client address as text, an IPv6 address with brackets, zone and port
included. Counters per IMSI are no longer kept: their rows are dropped.

Revision ID: 0003
Revises: 0002
Create Date: 2027-02-02
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('aka_challenges') as batch:
        batch.add_column(sa.Column('source', sa.String(128), nullable=True))
        batch.create_index('ix_aka_challenges_imsi_expires_at',
                           ['imsi', 'expires_at'])
    with op.batch_alter_table('aka_challenge_counts') as batch:
        batch.alter_column('subject', existing_type=sa.String(64),
                           type_=sa.String(133), existing_nullable=False)
    counts = sa.table('aka_challenge_counts', sa.column('subject'))
    op.execute(counts.delete().where(counts.c.subject.like('imsi:%')))
