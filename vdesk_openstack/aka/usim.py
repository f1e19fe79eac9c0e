"""A software USIM: the UE side of AKA (TS 33.102 6.3.3).

On AUTHENTICATE(RAND, AUTN) the USIM computes AK = f5(RAND), recovers
SQN = (SQN xor AK) xor AK, checks MAC-A = f1(SQN || RAND || AMF), then
checks SQN freshness (Annex C.2, :class:`sqn.SqnArray`) and, if all is
well, records SQN and answers RES = f2, CK = f3, IK = f4. A wrong MAC means
the network is not authentic (:class:`MacFailure`); a stale SQN yields
:class:`SyncFailure` carrying AUTS for the network to resynchronise.

The SQN array is the only mutable state. ``state()`` exports it so that the
client can persist it between runs; without that, every run would start
from zero and need a resync.
"""

import dataclasses
import hmac
import threading

from vdesk_openstack.aka import exceptions
from vdesk_openstack.aka import milenage
from vdesk_openstack.aka import sqn as sqnlib


@dataclasses.dataclass(frozen=True)
class UsimResponse(object):
    """RES and the session keys; none of them appears in the repr."""

    res: bytes = dataclasses.field(repr=False)
    ck: bytes = dataclasses.field(repr=False)
    ik: bytes = dataclasses.field(repr=False)


class Usim(object):
    """A USIM holding K and OPc and its SQN array.

    Thread-safe: one lock covers verification, the freshness check and the
    acceptance, so two concurrent challenges can neither both take the same
    slot nor share the (stateful) AES context. A real UICC also handles one
    command at a time.
    """

    def __init__(self, k, opc, state=None):
        self._milenage = milenage.Milenage(k, opc)
        self._sqns = (sqnlib.SqnArray() if state is None
                      else sqnlib.SqnArray.from_dict(state))
        self._lock = threading.Lock()

    @classmethod
    def from_op(cls, k, op, state=None):
        """A USIM provisioned with OP instead of OPc."""
        return cls(k, milenage.opc(k, op), state=state)

    def __repr__(self):
        return '<Usim>'

    def authenticate(self, rand, autn):
        """Answer a challenge, TS 33.102 6.3.3.

        :returns: :class:`UsimResponse`
        :raises MacFailure: AUTN was not made with this K/OPc and RAND.
        :raises SyncFailure: SQN not fresh; ``.auts`` carries SQN_MS.
        :raises ValueError: RAND is not 16 bytes or AUTN not 16 bytes.
        """
        with self._lock:
            sqn, xmac, res, ck, ik = self._milenage.open_autn(rand, autn)
            if not hmac.compare_digest(xmac, bytes(autn[8:])):
                raise exceptions.MacFailure()
            if not self._sqns.is_fresh(sqn):
                auts = self._milenage.auts(rand, self._sqns.highest())
                raise exceptions.SyncFailure(auts)
            self._sqns.accept(sqn)
        return UsimResponse(res, ck, ik)

    def state(self):
        """JSON-safe SQN state for :class:`Usim` ``(..., state=...)``."""
        with self._lock:
            return self._sqns.to_dict()
