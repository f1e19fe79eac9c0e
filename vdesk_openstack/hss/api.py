"""The HSS driver API and its value objects.

A driver answers the access gateway (Keystone's ``aka`` method) and the
desktop service:

* :meth:`HssDriver.authentication_vector` -- a fresh AKA vector for an IMSI,
  advancing the subscriber's SQN atomically (several Keystone workers may
  authenticate the same subscriber at once);
* :meth:`HssDriver.resynchronise` -- recover the SQN from a USIM's AUTS;
* :meth:`HssDriver.get_plan` -- the subscription plan that sizes the VM.

The gateway's own short-lived state (one-time challenges, challenge rate
counters) is not the driver's: :mod:`vdesk_openstack.hss.challenges` keeps
it, whatever the driver.
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


class HssDriver(metaclass=abc.ABCMeta):
    """Base of HSS drivers (entry points ``vdesk_openstack.hss.driver``)."""

    #: Whether ``vdesk-manage subscriber add`` provisions K and OPc in this
    #: driver (the embedded HSS), or only maps an IMSI to a plan while the
    #: secrets stay in an external HLR/HSS.
    keeps_secrets = True

    #: Whether the gateway answers a USIM's first AUTS of a login with a
    #: fresh challenge before asking :meth:`resynchronise` (on a second
    #: AUTS). For an HSS whose resynchronisation always resets SQN_HE to
    #: SQN_MS (osmo-hlr's), even when SQN_HE is ahead: a USIM that refused
    #: a vector because a later one of the same IND slot was used first
    #: (concurrent logins) takes the next fresh vector, and the reset
    #: would move SQN_HE back below vectors still outstanding.
    fresh_challenge_before_resync = False

    def __init__(self, conf):
        self.conf = conf

    def decoy_amf(self):
        """The AMF (2 bytes) of decoy challenges for unknown IMSIs.

        AUTN carries the AMF in clear: a decoy must carry the one real
        subscribers' vectors have. Default: ``[hss] amf``.
        """
        return bytes.fromhex(self.conf.hss.amf)

    # -- authentication ---------------------------------------------------
    @abc.abstractmethod
    def authentication_vector(self, imsi):
        """Return a fresh :class:`vdesk_openstack.aka.vectors.AuthVector`.

        An unknown IMSI must cost what a known one does (same database
        statements or remote requests, comparable CPU) before the driver
        raises: the caller answers it with a decoy challenge, and timing
        must not tell the two apart.

        :raises SubscriberNotFound: unknown IMSI
        """

    @abc.abstractmethod
    def resynchronise(self, imsi, rand, auts):
        """Resynchronise SQN_HE from ``auts`` (TS 33.102 6.3.5).

        After checking MAC-S, SQN_HE is kept if the next SQN would pass the
        USIM's Annex C.2 checks against SQN_MS, else reset to SQN_MS
        (:func:`vdesk_openstack.aka.sqn.resync_sqn`).

        :raises ResyncFailed: MAC-S does not verify
        :raises SubscriberNotFound: unknown IMSI
        """

    # -- subscription -----------------------------------------------------
    @abc.abstractmethod
    def get_plan(self, imsi):
        """The subscriber's :class:`Plan`, or None if none is assigned."""
