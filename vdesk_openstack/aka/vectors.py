"""Authentication vectors and resynchronisation, the HE side of AKA.

TS 33.102 6.3.2: for a challenge the HE draws RAND, takes the next SQN and
computes XRES = f2, CK = f3, IK = f4, AK = f5 and
AUTN = (SQN xor AK) || AMF || MAC-A with MAC-A = f1(SQN || RAND || AMF).

TS 33.102 6.3.3 / 6.3.5: a USIM that finds SQN out of range answers with
AUTS = (SQN_MS xor AK*) || MAC-S, MAC-S = f1*(SQN_MS || RAND || AMF) with
AMF = 0000; the HE checks MAC-S and restarts its counter above SQN_MS.

The bytes of XRES, CK and IK are secrets: they are kept out of reprs.
"""

import dataclasses
import hmac
import os

from vdesk_openstack.aka import exceptions
from vdesk_openstack.aka import milenage
from vdesk_openstack.aka import sqn as sqnlib


@dataclasses.dataclass(frozen=True)
class AuthVector(object):
    """One UMTS authentication vector (TS 33.102 6.3.2).

    ``rand`` and ``autn`` go to the UE, ``xres`` stays with the verifier,
    ``ck``/``ik`` are the session keys, ``sqn`` (an int) is the sequence
    number hidden in AUTN, for the HSS's bookkeeping.
    """

    rand: bytes
    xres: bytes = dataclasses.field(repr=False)
    ck: bytes = dataclasses.field(repr=False)
    ik: bytes = dataclasses.field(repr=False)
    autn: bytes
    sqn: int


_new = object.__new__


def _auth_vector(rand, xres, ck, ik, autn, sqn):
    """``AuthVector(...)`` for values this module computed itself.

    The frozen dataclass ``__init__`` sets each field through
    ``object.__setattr__``, which costs more than the rest of the object
    on the HSS hot path; filling ``__dict__`` directly builds the same,
    equal, still frozen object.
    """
    vector = _new(AuthVector)
    fields = vector.__dict__
    fields['rand'] = rand
    fields['xres'] = xres
    fields['ck'] = ck
    fields['ik'] = ik
    fields['autn'] = autn
    fields['sqn'] = sqn
    return vector


def generate_vector(k, opc, sqn, amf, rand=None):
    """The vector for SQN ``sqn`` (int) and 2-byte ``amf``.

    ``rand`` defaults to 16 bytes from ``os.urandom`` (TS 33.102 6.3.2
    requires an unpredictable RAND).
    """
    if rand is None:
        rand = os.urandom(16)
    xres, ck, ik, autn = milenage.vector(k, opc, rand, sqn, amf)
    return _auth_vector(rand, xres, ck, ik, autn, sqn)


def decoy_vector(amf):
    """A vector of no subscriber, for an IMSI the HSS does not know.

    MILENAGE over random K, OPc, SQN and RAND: it costs what a real vector
    costs, and its AUTN looks like a real one -- (SQN xor AK) and MAC-A are
    random to anyone without K, and ``amf``, the one field in clear, is the
    operator's. No USIM accepts it and nobody keeps its XRES.
    """
    blob = os.urandom(38)
    return generate_vector(blob[:16], blob[16:32],
                           int.from_bytes(blob[32:38], 'big'), amf)


def generate_vectors(k, opc, last_sqn, amf, n):
    """``n`` vectors with the successive SQNs after ``last_sqn``.

    The batch path: one key schedule and two AES calls for the lot. The
    SQNs come from :func:`sqn.next_sqn`, so they occupy successive IND
    slots and the USIM may use them in any order (Annex C.2.2).
    """
    if type(n) is not int or n < 0:
        raise ValueError('n must be a non-negative int')
    sqns = []
    current = last_sqn
    for _ in range(n):
        current = sqnlib.next_sqn(current)
        sqns.append(current)
    blob = os.urandom(16 * n)
    rands = [blob[16 * i:16 * i + 16] for i in range(n)]
    parts = milenage.Milenage(k, opc).vectors(rands, sqns, amf)
    return [_auth_vector(rand, xres, ck, ik, autn, sqn)
            for rand, sqn, (xres, ck, ik, autn) in zip(rands, sqns, parts)]


def parse_autn(autn):
    """Split AUTN into ``(sqn_xor_ak, amf, mac_a)`` (6, 2 and 8 bytes)."""
    milenage._check(autn, 16, 'AUTN')
    return bytes(autn[:6]), bytes(autn[6:8]), bytes(autn[8:])


def build_auts(k, opc, rand, sqn_ms):
    """AUTS (14 bytes) for the USIM's SQN_MS (int), TS 33.102 6.3.3."""
    return milenage.Milenage(k, opc).auts(rand, sqn_ms)


def verify_auts(k, opc, rand, auts):
    """SQN_MS (int) from AUTS after checking MAC-S (TS 33.102 6.3.5).

    ``rand`` is the RAND of the challenge the USIM rejected. Raises
    :class:`InvalidAuts` when MAC-S is wrong, ValueError on bad lengths.
    """
    sqn_ms, xmac_s = milenage.Milenage(k, opc).open_auts(rand, auts)
    if not hmac.compare_digest(xmac_s, bytes(auts[6:])):
        raise exceptions.InvalidAuts()
    return sqn_ms
