"""MILENAGE, the 3GPP authentication and key generation functions.

TS 35.206 clause 4 builds f1, f1*, f2, f3, f4, f5 and f5* from one 128-bit
block cipher E_K (AES-128 here, as TS 35.206 4.1 recommends) and the
operator variant OPc = OP xor E_K(OP)::

    TEMP = E_K(RAND xor OPc)
    IN1  = SQN || AMF || SQN || AMF
    OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1) xor c1) xor OPc
    OUTn = E_K(rot(TEMP xor OPc, rn) xor cn) xor OPc      for n = 2..5

    f1 = OUT1[0..63]    f1* = OUT1[64..127]
    f5 = OUT2[0..47]    f2  = OUT2[64..127]
    f3 = OUT3           f4  = OUT4          f5* = OUT5[0..47]

with r1..r5 = 64, 0, 32, 64, 96 and c1..c5 = 0, 1, 2, 4, 8 (the constant
c_n has its bit 127 - (n - 2) set). Bit 0 is the most significant bit.

An HSS serving many subscribers computes one vector per key, so the cost
that matters is per key, not per block. The code therefore works on Python
integers (XOR and rotations on 128-bit ints are single operations), feeds
every block that does not depend on a previous one to a single ECB
``update()`` call, and keeps one AES encryptor per :class:`Milenage`. The
module functions are the TS 35.206 contract; the ``Milenage`` methods below
them add the combined computations TS 33.102 6.3 needs (a whole vector,
AUTN check, AUTS) with the fewest AES calls.

A ``Milenage`` object is not thread-safe (the encryptor is a stateful
OpenSSL context): use one per thread or guard it with a lock.
"""

from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import modes

# E_K in TS 35.206 is the bare block function: ECB over single,
# independent blocks is exactly that, not a message encryption mode.
_ECB = modes.ECB()  # nosec B305

_M48 = (1 << 48) - 1
_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
# OPc * _REP4 is OPc repeated in four 128-bit slots (no carries: the slots
# do not overlap), so the output of one multi-block update() is unmasked
# with a single XOR; _REP3 and _REP2 likewise for three and two blocks.
_REP4 = (1 << 384) | (1 << 256) | (1 << 128) | 1
_REP3 = (1 << 256) | (1 << 128) | 1
_REP2 = (1 << 128) | 1

# TS 35.206 4.1: the constants c2..c5 (c1 is zero).
_C2, _C3, _C4, _C5 = 1, 2, 4, 8

_BYTES = (bytes, bytearray)


def _check(value, length, name):
    """Raise ValueError unless ``value`` is ``length`` bytes long.

    The message names the parameter, never its value: K and OPc pass here.
    """
    if not isinstance(value, _BYTES):
        raise ValueError('%s must be bytes, not %s'
                         % (name, type(value).__name__))
    if len(value) != length:
        raise ValueError('%s must be %d bytes long, got %d'
                         % (name, length, len(value)))


def _check_sqn(sqn, name='SQN'):
    """Raise ValueError unless ``sqn`` is an int that fits 48 bits."""
    if type(sqn) is not int or not 0 <= sqn <= _M48:
        raise ValueError('%s must be an int in [0, 2**48 - 1]' % name)


def _rot32(x):
    return ((x << 32) | (x >> 96)) & _M128


def _rot64(x):
    return ((x << 64) | (x >> 64)) & _M128


def _rot96(x):
    return ((x << 96) | (x >> 32)) & _M128


def _vector(encrypt, opc, rand, sqn, amf):
    """:meth:`Milenage.vector` on a block function and an integer OPc.

    This is the hot path of an HSS, so the formulas of the module docstring
    are inlined (rot64 is ``(x << 64 | x >> 64) & _M128``).
    """
    # Cheap type tests first; _check() builds the error message.
    if type(rand) is not bytes or len(rand) != 16:
        _check(rand, 16, 'RAND')
    if type(amf) is not bytes or len(amf) != 2:
        _check(amf, 2, 'AMF')
        amf = bytes(amf)
    if type(sqn) is not int or not 0 <= sqn <= _M48:
        _check_sqn(sqn)
    temp = int.from_bytes(encrypt(
        (int.from_bytes(rand, 'big') ^ opc).to_bytes(16, 'big')), 'big')
    t = temp ^ opc
    half = (sqn << 16) | int.from_bytes(amf, 'big')
    x = ((half << 64) | half) ^ opc
    blocks = (((temp ^ (((x << 64) | (x >> 64)) & _M128)) << 384)
              | ((t ^ _C2) << 256)
              | (((((t << 32) | (t >> 96)) & _M128) ^ _C3) << 128)
              | ((((t << 64) | (t >> 64)) & _M128) ^ _C4))
    out = int.from_bytes(encrypt(blocks.to_bytes(64, 'big')),
                         'big') ^ opc * _REP4
    raw = out.to_bytes(64, 'big')
    # AK is OUT2[0..47]; MAC-A is OUT1[0..63] = raw[:8].
    autn = (sqn ^ (out >> 336) & _M48).to_bytes(6, 'big') + amf + raw[:8]
    return raw[24:32], raw[32:48], raw[48:64], autn


class Milenage(object):
    """MILENAGE bound to one subscriber key K and operator variant OPc.

    Building the AES key schedule is the most expensive step, so a caller
    that needs several functions of one key (a batch of vectors, a USIM)
    keeps this object instead of calling the module functions.
    """

    __slots__ = ('_encrypt', '_opc')

    def __init__(self, k, opc):
        if type(k) is not bytes or len(k) != 16:
            _check(k, 16, 'K')
            k = bytes(k)
        if type(opc) is not bytes or len(opc) != 16:
            _check(opc, 16, 'OPc')
        # ECB with whole blocks keeps no state between update() calls, so
        # the bound method is reused as a raw block function.
        self._encrypt = Cipher(algorithms.AES(k), _ECB).encryptor().update
        self._opc = int.from_bytes(opc, 'big')

    def __repr__(self):
        return '<Milenage>'

    def _temp(self, rand):
        _check(rand, 16, 'RAND')
        x = int.from_bytes(rand, 'big') ^ self._opc
        return int.from_bytes(self._encrypt(x.to_bytes(16, 'big')), 'big')

    def _out1(self, temp, sqn, amf):
        """OUT1 (f1 || f1*) for integer SQN (48 bits) and AMF (16 bits)."""
        opc = self._opc
        half = (sqn << 16) | amf
        in1 = ((half << 64) | half) ^ opc
        out = self._encrypt((temp ^ _rot64(in1)).to_bytes(16, 'big'))
        return int.from_bytes(out, 'big') ^ opc

    # TS 35.206 functions ---------------------------------------------------

    def f1(self, rand, sqn, amf):
        """Network authentication function f1: MAC-A (8 bytes)."""
        return self._f1_out(rand, sqn, amf)[:8]

    def f1star(self, rand, sqn, amf):
        """Resync message authentication function f1*: MAC-S (8 bytes)."""
        return self._f1_out(rand, sqn, amf)[8:]

    def _f1_out(self, rand, sqn, amf):
        _check(sqn, 6, 'SQN')
        _check(amf, 2, 'AMF')
        out1 = self._out1(self._temp(rand), int.from_bytes(sqn, 'big'),
                          int.from_bytes(amf, 'big'))
        return out1.to_bytes(16, 'big')

    def f2345(self, rand):
        """f2..f5: (RES 8 bytes, CK 16, IK 16, AK 6)."""
        t = self._temp(rand) ^ self._opc
        blocks = ((t ^ _C2) << 256) | ((_rot32(t) ^ _C3) << 128) | (
            _rot64(t) ^ _C4)
        out = self._encrypt(blocks.to_bytes(48, 'big'))
        out = (int.from_bytes(out, 'big')
               ^ self._opc * _REP3).to_bytes(48, 'big')
        return out[8:16], out[16:32], out[32:48], out[:6]

    def f5star(self, rand):
        """Resync anonymity key function f5*: AK* (6 bytes)."""
        t = self._temp(rand) ^ self._opc
        out = self._encrypt((_rot96(t) ^ _C5).to_bytes(16, 'big'))
        return (int.from_bytes(out, 'big') ^ self._opc).to_bytes(16,
                                                                 'big')[:6]

    # TS 33.102 6.3 building blocks -----------------------------------------

    def vector(self, rand, sqn, amf):
        """Network side of TS 33.102 6.3.2 for an integer SQN.

        Returns ``(xres, ck, ik, autn)`` where AUTN = (SQN xor AK) || AMF ||
        MAC-A, from two AES calls: TEMP, then OUT1..OUT4 at once.
        """
        return _vector(self._encrypt, self._opc, rand, sqn, amf)

    def vectors(self, rands, sqns, amf):
        """:meth:`vector` for many (RAND, SQN) pairs in two AES calls.

        Returns a list of ``(xres, ck, ik, autn)``.
        """
        if len(rands) != len(sqns):
            raise ValueError('need as many RANDs as SQNs')
        _check(amf, 2, 'AMF')
        for rand in rands:
            _check(rand, 16, 'RAND')
        for sqn in sqns:
            _check_sqn(sqn)
        n = len(rands)
        if not n:
            return []
        amf = int.from_bytes(amf, 'big')
        opc = self._opc
        # TEMP for every RAND: one XOR over the concatenation, one call.
        rep = int.from_bytes(b'\x00' * 15 + b'\x01', 'big')
        rep = int.from_bytes(rep.to_bytes(16, 'big') * n, 'big')
        temps = self._encrypt(
            (int.from_bytes(b''.join(rands), 'big') ^ opc * rep).to_bytes(
                16 * n, 'big'))
        chunks = []
        for i, sqn in enumerate(sqns):
            temp = int.from_bytes(temps[16 * i:16 * i + 16], 'big')
            t = temp ^ opc
            half = (sqn << 16) | amf
            in1 = ((half << 64) | half) ^ opc
            chunks.append(
                ((((temp ^ _rot64(in1)) << 384) | ((t ^ _C2) << 256)
                  | ((_rot32(t) ^ _C3) << 128) | (_rot64(t) ^ _C4))
                 ).to_bytes(64, 'big'))
        outs = self._encrypt(b''.join(chunks))
        mask = opc * _REP4
        result = []
        for i, sqn in enumerate(sqns):
            out = int.from_bytes(outs[64 * i:64 * i + 64], 'big') ^ mask
            raw = out.to_bytes(64, 'big')
            ak = (out >> 336) & _M48
            autn = (((((sqn ^ ak) << 16) | amf) << 64)
                    | (out >> 448)).to_bytes(16, 'big')
            result.append((raw[24:32], raw[32:48], raw[48:64], autn))
        return result

    def open_autn(self, rand, autn):
        """USIM side of TS 33.102 6.3.3 before any decision.

        Returns ``(sqn, xmac, res, ck, ik)``: the SQN recovered from AUTN
        (an int), the MAC-A this key expects for it, and RES/CK/IK. The
        caller compares ``xmac`` with ``autn[8:]`` in constant time.
        """
        _check(autn, 16, 'AUTN')
        opc = self._opc
        t = self._temp(rand) ^ opc
        temp = t ^ opc
        blocks = ((t ^ _C2) << 256) | ((_rot32(t) ^ _C3) << 128) | (
            _rot64(t) ^ _C4)
        out = int.from_bytes(self._encrypt(blocks.to_bytes(48, 'big')),
                             'big') ^ opc * _REP3
        raw = out.to_bytes(48, 'big')
        head = int.from_bytes(autn[:8], 'big')
        sqn = (head >> 16) ^ (out >> 336)
        xmac = (self._out1(temp, sqn, head & 0xffff) >> 64).to_bytes(8, 'big')
        return sqn, xmac, raw[8:16], raw[16:32], raw[32:48]

    def auts(self, rand, sqn_ms):
        """AUTS = (SQN_MS xor AK*) || MAC-S for an integer SQN_MS.

        TS 33.102 6.3.3: MAC-S = f1*(SQN_MS || RAND || AMF) with the dummy
        AMF 0000, so that AMF is not sent in clear.
        """
        _check_sqn(sqn_ms, 'SQN_MS')
        opc = self._opc
        temp = self._temp(rand)
        t = temp ^ opc
        half = sqn_ms << 16
        in1 = ((half << 64) | half) ^ opc
        blocks = ((temp ^ _rot64(in1)) << 128) | (_rot96(t) ^ _C5)
        out = int.from_bytes(self._encrypt(blocks.to_bytes(32, 'big')),
                             'big') ^ opc * _REP2
        ak_star = out >> 80 & _M48
        mac_s = (out >> 128) & _M64
        return (((sqn_ms ^ ak_star) << 64) | mac_s).to_bytes(14, 'big')

    def open_auts(self, rand, auts):
        """HE side of TS 33.102 6.3.5: ``(sqn_ms, xmac_s)`` from AUTS.

        The caller compares ``xmac_s`` with ``auts[6:]`` in constant time.
        """
        _check(auts, 14, 'AUTS')
        opc = self._opc
        temp = self._temp(rand)
        out5 = int.from_bytes(
            self._encrypt((_rot96(temp ^ opc) ^ _C5).to_bytes(16, 'big')),
            'big') ^ opc
        sqn_ms = int.from_bytes(auts[:6], 'big') ^ (out5 >> 80)
        xmac_s = (self._out1(temp, sqn_ms, 0) & _M64).to_bytes(8, 'big')
        return sqn_ms, xmac_s


def opc(k, op):
    """OPc = OP xor E_K(OP) (TS 35.206 4.1), 16 bytes."""
    _check(k, 16, 'K')
    _check(op, 16, 'OP')
    encrypt = Cipher(algorithms.AES(bytes(k)), _ECB).encryptor().update
    return (int.from_bytes(encrypt(bytes(op)), 'big')
            ^ int.from_bytes(op, 'big')).to_bytes(16, 'big')


def f1(k, opc, rand, sqn, amf):
    """MAC-A (8 bytes) of 6-byte SQN and 2-byte AMF."""
    return Milenage(k, opc).f1(rand, sqn, amf)


def f1star(k, opc, rand, sqn, amf):
    """MAC-S (8 bytes) of 6-byte SQN and 2-byte AMF."""
    return Milenage(k, opc).f1star(rand, sqn, amf)


def f2345(k, opc, rand):
    """(RES 8 bytes, CK 16, IK 16, AK 6)."""
    return Milenage(k, opc).f2345(rand)


def f5star(k, opc, rand):
    """AK* (6 bytes), the anonymity key of AUTS."""
    return Milenage(k, opc).f5star(rand)


def vector(k, opc, rand, sqn, amf):
    """One-shot :meth:`Milenage.vector` (integer SQN, 2-byte AMF).

    For an HSS that serves each subscriber once: it skips building a
    ``Milenage`` object, leaving the AES key schedule as the main cost.
    """
    if type(k) is not bytes or len(k) != 16:
        _check(k, 16, 'K')
        k = bytes(k)
    if type(opc) is not bytes or len(opc) != 16:
        _check(opc, 16, 'OPc')
    return _vector(Cipher(algorithms.AES(k), _ECB).encryptor().update,
                   int.from_bytes(opc, 'big'), rand, sqn, amf)
