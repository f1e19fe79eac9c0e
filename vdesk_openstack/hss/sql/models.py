"""SQLAlchemy models of the embedded HSS.

``subscribers.secrets`` holds K||OPc sealed with AES-GCM (see
:mod:`vdesk_openstack.hss.crypto`); the SQN is a plain integer so that it
can be advanced with a single compare-and-set UPDATE.
"""

import sqlalchemy as sa
from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass


class Plan(Base):
    __tablename__ = 'plans'

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    name = sa.Column(sa.String(64), nullable=False, unique=True)
    vcpus = sa.Column(sa.Integer, nullable=False)
    ram_mb = sa.Column(sa.Integer, nullable=False)
    disk_gb = sa.Column(sa.Integer, nullable=False)
    priority = sa.Column(sa.String(32), nullable=False)
    image = sa.Column(sa.String(255), nullable=True)
    created_at = sa.Column(sa.DateTime, nullable=False)


class Subscriber(Base):
    __tablename__ = 'subscribers'

    imsi = sa.Column(sa.String(15), primary_key=True)
    secrets = sa.Column(sa.LargeBinary(128), nullable=False)
    sqn = sa.Column(sa.BigInteger, nullable=False)
    amf = sa.Column(sa.String(4), nullable=False)
    plan_id = sa.Column(sa.Integer, sa.ForeignKey('plans.id'), nullable=True,
                        index=True)
    created_at = sa.Column(sa.DateTime, nullable=False)


# Room for a client address as text, IPv6 with brackets, zone and port
# included; the keys stored are shorter (no port, no zone).
ADDRESS_LENGTH = 128


class AkaChallenge(Base):
    """One-time challenges, shared by every Keystone worker.

    The key is a digest of the opaque context handed to the UE, so a copy of
    the table does not give usable contexts. ``source`` is the client
    address key the challenge was issued to, which decides whose
    challenges go first when an IMSI has too many.
    """

    __tablename__ = 'aka_challenges'
    __table_args__ = (
        sa.Index('ix_aka_challenges_imsi_expires_at', 'imsi', 'expires_at'),
    )

    id = sa.Column(sa.String(64), primary_key=True)
    imsi = sa.Column(sa.String(15), nullable=False)
    rand = sa.Column(sa.LargeBinary(16), nullable=False)
    xres_digest = sa.Column(sa.LargeBinary(32), nullable=True)
    expires_at = sa.Column(sa.Double, nullable=False, index=True)
    source = sa.Column(sa.String(ADDRESS_LENGTH), nullable=True)


class AkaChallengeCount(Base):
    """Challenges issued per client address, and in total, in a window.

    ``subject`` is ``addr:<address key>`` or ``total``; ``period`` is the
    number of the fixed window (time // window length) ``hits`` counts in.
    One row per subject: a new window resets it in place.
    """

    __tablename__ = 'aka_challenge_counts'

    subject = sa.Column(sa.String(ADDRESS_LENGTH + len('addr:')),
                        primary_key=True)
    period = sa.Column(sa.BigInteger, nullable=False, index=True)
    hits = sa.Column(sa.Integer, nullable=False)
