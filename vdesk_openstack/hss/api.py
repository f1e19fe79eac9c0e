"""The HSS driver API and its value objects.

A driver answers the access gateway (Keystone's ``aka`` method) and the
desktop service:

* :meth:`HssDriver.authentication_vector` -- a fresh AKA vector for an IMSI,
  advancing the subscriber's SQN atomically (several Keystone workers may
  authenticate the same subscriber at once);
* :meth:`HssDriver.resynchronise` -- recover the SQN from a USIM's AUTS;
* :meth:`HssDriver.get_plan` -- the subscription plan that sizes the VM.

It also keeps the gateway's short-lived state that must be shared by every
Keystone worker: one-time challenges and failure counters
(:meth:`HssDriver.store_challenge` and friends).
"""

import abc
import dataclasses
import typing


@dataclasses.dataclass(frozen=True)
class Plan:
    """A subscription plan: the size and priority of a subscriber's VM."""

    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    priority: str
    image: typing.Optional[str] = None

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Subscriber:
    """What may be shown of a subscriber: never K or OPc."""

    imsi: str
    sqn: int
    amf: str
    plan: typing.Optional[str]

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Challenge:
    """A challenge handed to a UE, as remembered by the gateway.

    ``xres_digest`` is a digest of the expected RES, never the RES itself;
    it is None for a decoy challenge (unknown or locked-out IMSI), which no
    answer can satisfy.
    """

    imsi: str
    rand: bytes
    xres_digest: typing.Optional[bytes]
    expires_at: float


class HssDriver(metaclass=abc.ABCMeta):
    """Base of HSS drivers (entry points ``vdesk_openstack.hss.driver``)."""

    def __init__(self, conf):
        self.conf = conf

    # -- authentication ---------------------------------------------------
    @abc.abstractmethod
    def authentication_vector(self, imsi):
        """Return a fresh :class:`vdesk_openstack.aka.vectors.AuthVector`.

        :raises SubscriberNotFound: unknown IMSI
        """

    @abc.abstractmethod
    def resynchronise(self, imsi, rand, auts):
        """Adopt the SQN carried by ``auts`` (TS 33.102 6.3.5).

        :raises ResyncFailed: MAC-S does not verify
        :raises SubscriberNotFound: unknown IMSI
        """

    # -- subscription -----------------------------------------------------
    @abc.abstractmethod
    def get_plan(self, imsi):
        """The subscriber's :class:`Plan`, or None if none is assigned."""

    # -- gateway state shared by all Keystone workers ---------------------
    @abc.abstractmethod
    def store_challenge(self, context_id, challenge):
        """Remember ``challenge`` under ``context_id`` until it expires."""

    @abc.abstractmethod
    def consume_challenge(self, context_id):
        """Atomically take the challenge: at most one caller ever gets it.

        Returns the :class:`Challenge` or None (unknown or already used).
        """

    @abc.abstractmethod
    def record_failure(self, imsi, max_failures, lockout_seconds):
        """Count a failed answer; lock the IMSI after ``max_failures``.

        Failures are counted within a window of ``lockout_seconds``; while
        the IMSI is locked out they are not counted (they would otherwise
        extend the lockout forever).
        """

    @abc.abstractmethod
    def is_locked_out(self, imsi):
        """True while the IMSI is locked out after repeated failures."""

    @abc.abstractmethod
    def clear_failures(self, imsi):
        """Forget the failures of an IMSI after a successful login."""
