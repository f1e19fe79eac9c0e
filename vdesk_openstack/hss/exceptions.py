"""Errors of the HSS layer, with messages safe to show to an operator.

No message ever carries K, OPc, RES, CK, IK or AUTS.
"""


class HssError(Exception):
    """Base class of HSS errors."""


class InvalidInput(HssError, ValueError):
    """A malformed IMSI, hex value, length or plan attribute."""


class SubscriberNotFound(HssError):
    def __init__(self, imsi):
        super().__init__('subscriber %s not found' % imsi)
        self.imsi = imsi


class SubscriberExists(HssError):
    def __init__(self, imsi):
        super().__init__('subscriber %s already exists' % imsi)
        self.imsi = imsi


class PlanNotFound(HssError):
    def __init__(self, name):
        super().__init__('plan %s not found' % name)
        self.name = name


class PlanExists(HssError):
    def __init__(self, name):
        super().__init__('plan %s already exists' % name)
        self.name = name


class ResyncFailed(HssError):
    """An AUTS whose MAC-S does not verify: the SQN is left unchanged."""

    def __init__(self, imsi):
        super().__init__('resynchronisation of %s rejected: invalid AUTS'
                         % imsi)
        self.imsi = imsi


class SqnExhausted(HssError):
    def __init__(self, imsi):
        super().__init__('sequence number space of %s exhausted' % imsi)
        self.imsi = imsi


class KeyFileError(HssError):
    """The K/OPc encryption key is missing, unreadable or malformed."""


class BackendUnavailable(HssError):
    """The HSS database cannot be reached right now."""
