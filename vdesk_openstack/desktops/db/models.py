"""SQLAlchemy models of the desktop service.

"One desktop per subscriber" and "one open session per subscriber" are
database facts (unique constraints), not conventions of the code: two API
workers racing on one subscriber cannot both win. Every lookup on a hot
path goes through a unique index, so it stays a B-tree probe at millions of
subscribers.
"""

import sqlalchemy as sa
from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass


class Desktop(Base):
    """The subscriber's persistent desktop: its Nova instance."""

    __tablename__ = 'desktops'
    __table_args__ = (
        sa.UniqueConstraint('subscriber', name='uniq_desktops0subscriber'),
        sa.UniqueConstraint('instance_id', name='uniq_desktops0instance_id'),
        sa.Index('ix_desktops_status_updated_at', 'status', 'updated_at'),
        sa.Index('ix_desktops_recovery', 'recovery'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    subscriber = sa.Column(sa.String(15), nullable=False)
    user_id = sa.Column(sa.String(64), nullable=True)
    # Set the moment Nova returns the server's UUID; NULL only between the
    # "creating" record and Nova's answer (the reconciler's window).
    instance_id = sa.Column(sa.String(36), nullable=True)
    plan = sa.Column(sa.String(64), nullable=False)
    flavor_id = sa.Column(sa.String(255), nullable=True)
    status = sa.Column(sa.String(16), nullable=False)
    # Bumped each time the instance had to be rebuilt (deleted or broken
    # outside the service).
    generation = sa.Column(sa.Integer, nullable=False, default=0)
    fault = sa.Column(sa.String(255), nullable=True)
    created_at = sa.Column(sa.DateTime, nullable=False)
    updated_at = sa.Column(sa.DateTime, nullable=False)
    # Recovery of an instance found in ERROR: NULL, STARTED (Nova was
    # asked to bring it back) or FAILED (an operator must act; logins get
    # 409 until then). See vdesk_openstack.desktops.recovery.
    recovery = sa.Column(sa.String(16), nullable=True)
    # Pre-warms released unclaimed since ``unclaimed_since`` (the start of
    # the current [desktops] prewarm_window).
    unclaimed_prewarms = sa.Column(sa.Integer, nullable=False, default=0,
                                   server_default='0')
    unclaimed_since = sa.Column(sa.DateTime, nullable=True)


class Tombstone(Base):
    """A server the service itself deleted (or is deleting).

    Written before Nova is asked to delete, in the transaction that
    removes (or re-points) the mapping: the reconciler deletes what a
    tombstone names and nothing else, and removes the tombstone once Nova
    no longer has the server. ``whole_desktop``: every server tagged with
    ``desktop_id`` goes (the desktop itself was deleted); otherwise only
    ``instance_id`` (the desktop lives on with another instance).
    """

    __tablename__ = 'desktop_tombstones'
    __table_args__ = (
        sa.Index('ix_desktop_tombstones_instance_id', 'instance_id'),
        sa.Index('ix_desktop_tombstones_desktop_id', 'desktop_id'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    desktop_id = sa.Column(sa.String(36), nullable=False)
    subscriber = sa.Column(sa.String(15), nullable=False)
    instance_id = sa.Column(sa.String(36), nullable=True)
    whole_desktop = sa.Column(sa.Boolean, nullable=False)
    reason = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(sa.DateTime, nullable=False)


class Session(Base):
    """A login of a subscriber to its desktop, from start to logout."""

    __tablename__ = 'sessions'
    __table_args__ = (
        # is_open is TRUE while the session is open and NULL once it ended:
        # unique indexes ignore NULLs, so at most one open session per
        # subscriber, any number of ended ones.
        sa.UniqueConstraint('subscriber', 'is_open',
                            name='uniq_sessions0subscriber0is_open'),
        sa.Index('ix_sessions_status_last_seen_at', 'status',
                 'last_seen_at'),
        sa.Index('ix_sessions_desktop_id', 'desktop_id'),
        # The engine walks the open sessions in id order, page by page.
        sa.Index('ix_sessions_is_open_id', 'is_open', 'id'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    desktop_id = sa.Column(sa.String(36), sa.ForeignKey('desktops.id'),
                           nullable=False)
    subscriber = sa.Column(sa.String(15), nullable=False)
    is_open = sa.Column(sa.Boolean, nullable=True)
    status = sa.Column(sa.String(16), nullable=False)
    restored = sa.Column(sa.Boolean, nullable=False)
    rebuilt = sa.Column(sa.Boolean, nullable=False)
    capabilities = sa.Column(sa.Text, nullable=False)
    console_type = sa.Column(sa.String(32), nullable=False)
    # Charging: none -> started -> ended, each transition made by exactly
    # one worker (conditional UPDATE), so each event is emitted once.
    charging = sa.Column(sa.String(8), nullable=False)
    terminate_cause = sa.Column(sa.String(32), nullable=True)
    fault = sa.Column(sa.String(255), nullable=True)
    started_at = sa.Column(sa.DateTime, nullable=False)
    active_at = sa.Column(sa.DateTime, nullable=True)
    ended_at = sa.Column(sa.DateTime, nullable=True)
    last_seen_at = sa.Column(sa.DateTime, nullable=False)
    last_interim_at = sa.Column(sa.DateTime, nullable=True)
    # Charging records written for the session so far: the next record's
    # number (Start 0, Interims 1..n, Stop n+1), the same whichever
    # notification agent or charging protocol carries it.
    records = sa.Column(sa.Integer, nullable=False, default=0,
                        server_default='0')


class ChargingRecord(Base):
    """A charging record waiting to be delivered (the outbox).

    Written in the same transaction as the session change it charges, so
    a record exists exactly when the change does; the engine delivers the
    records in ``seq`` order with confirmed sends and deletes each one only
    once the broker has accepted it. ``id`` travels as the notification's
    message id: downstream drops a record it has seen already.
    """

    __tablename__ = 'charging_outbox'
    __table_args__ = (
        sa.UniqueConstraint('id', name='uniq_charging_outbox0id'),
    )

    seq = sa.Column(sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
                    primary_key=True, autoincrement=True)
    id = sa.Column(sa.String(36), nullable=False)
    session_id = sa.Column(sa.String(36), nullable=False)
    event_type = sa.Column(sa.String(32), nullable=False)
    payload = sa.Column(sa.Text, nullable=False)
    created_at = sa.Column(sa.DateTime, nullable=False)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    last_error = sa.Column(sa.String(255), nullable=True)
