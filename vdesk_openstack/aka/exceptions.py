"""Errors of 3GPP AKA (TS 33.102 6.3).

The messages are deliberately generic: an error may travel to a log line or
to a remote party, so it never carries K, OPc, RES, CK, IK or a MAC value.
A synchronisation failure carries AUTS, which the USIM sends in clear over
the air anyway (TS 33.102 6.3.5), so exposing it as an attribute is safe.
"""


class AkaError(Exception):
    """Base class of the AKA errors."""


class MacFailure(AkaError):
    """The MAC-A in AUTN is wrong: the network is not authentic (6.3.3)."""

    def __init__(self, message='AUTN MAC verification failed'):
        super().__init__(message)


class SyncFailure(AkaError):
    """The SQN in AUTN is not fresh; ``auts`` asks the HSS to resync.

    :ivar auts: the 14-byte AUTS = (SQN_MS xor AK*) || MAC-S (6.3.3).
    """

    def __init__(self, auts, message='SQN out of range: resynchronisation '
                 'required'):
        super().__init__(message)
        self.auts = auts


class InvalidAuts(AkaError):
    """The MAC-S in AUTS is wrong: the resync request is not authentic."""

    def __init__(self, message='AUTS MAC-S verification failed'):
        super().__init__(message)
