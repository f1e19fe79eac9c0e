"""Sequence numbers for AKA freshness, TS 33.102 Annex C.

SQN (48 bits) = SEQ (43 bits) || IND (5 bits, the least significant). The
HE (our HSS) issues every new vector with SEQ one higher than the last and
IND moving to the next of the 32 slots (:func:`next_sqn`), so that vectors
handed out at the same time land in different slots.

The USIM (:class:`SqnArray`, Annex C.2) keeps the highest SEQ it accepted in
each slot, SEQ_MS(0..31), and accepts SQN = SEQ || IND when

* C.2.2 freshness: SEQ > SEQ_MS(IND), so a vector may be used once, and
  vectors of different slots may be used out of order;
* C.2.1 wrap-around protection: SEQ - SEQ_MS <= DELTA, where SEQ_MS is the
  highest SEQ accepted in any slot, so a forged or runaway SQN cannot push
  the counter close to its end.

The optional C.2.3 ageing check (SEQ_MS - SEQ < L, refusing very old vectors
of another slot) is not implemented: our vectors live for one challenge
(seconds), not in a serving network's cache, so there are no old vectors to
age out.
"""

IND_BITS = 5
IND_COUNT = 1 << IND_BITS  # 32 slots
SEQ_BITS = 48 - IND_BITS  # 43
SQN_MAX = (1 << 48) - 1
SEQ_MAX = (1 << SEQ_BITS) - 1
# Annex C.2.1 recommends DELTA = 2**28.
DELTA = 1 << 28

_IND_MASK = IND_COUNT - 1


def _check_sqn(sqn):
    if type(sqn) is not int or not 0 <= sqn <= SQN_MAX:
        raise ValueError('SQN must be an int in [0, 2**48 - 1]')


def split(sqn):
    """``(seq, ind)`` of a 48-bit SQN."""
    _check_sqn(sqn)
    return sqn >> IND_BITS, sqn & _IND_MASK


def join(seq, ind):
    """SQN = SEQ || IND."""
    if type(seq) is not int or not 0 <= seq <= SEQ_MAX:
        raise ValueError('SEQ must be an int in [0, 2**43 - 1]')
    if type(ind) is not int or not 0 <= ind < IND_COUNT:
        raise ValueError('IND must be an int in [0, %d]' % (IND_COUNT - 1))
    return (seq << IND_BITS) | ind


def to_bytes(sqn):
    """The 6-byte big-endian encoding used in AUTN and AUTS."""
    _check_sqn(sqn)
    return sqn.to_bytes(6, 'big')


def from_bytes(b6):
    """Inverse of :func:`to_bytes`."""
    if not isinstance(b6, (bytes, bytearray)) or len(b6) != 6:
        raise ValueError('SQN must be 6 bytes')
    return int.from_bytes(b6, 'big')


def next_sqn(last_sqn):
    """The SQN the HE issues after ``last_sqn`` (Annex C.1.2 / C.3.2).

    SEQ is incremented and IND moves to the next slot, so the result is
    always greater than ``last_sqn`` and successive vectors use different
    slots. Raises ValueError when SEQ would not fit its 43 bits: the
    subscriber then needs a new K (Annex C.2.1 makes that practically
    unreachable).
    """
    seq, ind = split(last_sqn)
    if seq >= SEQ_MAX:
        raise ValueError('SEQ exhausted: no SQN left after this one')
    return ((seq + 1) << IND_BITS) | ((ind + 1) & _IND_MASK)


def would_accept(sqn, sqn_ms):
    """Whether a USIM whose highest accepted SQN is ``sqn_ms`` takes ``sqn``.

    The HE's view of Annex C.2: it knows only SQN_MS (from AUTS), the
    highest SEQ_MS, not the USIM's whole array. SEQ > SEQ_MS (C.2.2, made
    conservative: greater than the highest slot is greater than every slot)
    and SEQ - SEQ_MS <= DELTA (C.2.1).
    """
    seq, seq_ms = split(sqn)[0], split(sqn_ms)[0]
    return seq_ms < seq and seq - seq_ms <= DELTA


def resync_sqn(sqn_he, sqn_ms):
    """SQN_HE after a resynchronisation request (TS 33.102 6.3.5).

    The HE checks whether the next SQN it would generate from ``sqn_he``
    would be accepted by the USIM, judged from ``sqn_ms`` with the Annex C.2
    rules (:func:`would_accept`). If so, SQN_HE is kept (the SIM's refusal
    was for an old challenge, say one answered late): returns ``sqn_he``.
    Otherwise SQN_HE is reset to SQN_MS: returns ``sqn_ms``. That lowers
    SQN_HE when it ran more than DELTA ahead of the SIM (a HSS restored
    from a newer backup, or a flood of vectors), which the SIM would
    otherwise refuse for ever.

    MAC-S is the caller's business: only an authentic AUTS may come here.
    """
    _check_sqn(sqn_he)
    _check_sqn(sqn_ms)
    try:
        upcoming = next_sqn(sqn_he)
    except ValueError:
        # SEQ_HE exhausted: only the SIM's own counter can be a way out.
        return sqn_ms
    return sqn_he if would_accept(upcoming, sqn_ms) else sqn_ms


class SqnArray(object):
    """The USIM's SEQ_MS(0..31) array of Annex C.2 (initially all zero).

    Not thread-safe by itself: the caller locks around ``is_fresh`` +
    ``accept`` (see :class:`vdesk_openstack.aka.usim.Usim`).
    """

    __slots__ = ('_seq_ms',)

    def __init__(self):
        self._seq_ms = [0] * IND_COUNT

    def __repr__(self):
        return '<SqnArray highest=%012x>' % self.highest()

    def __eq__(self, other):
        if not isinstance(other, SqnArray):
            return NotImplemented
        return self._seq_ms == other._seq_ms

    def is_fresh(self, sqn):
        """Whether the USIM may accept ``sqn`` (C.2.2 and C.2.1)."""
        seq, ind = split(sqn)
        return seq > self._seq_ms[ind] and seq - max(self._seq_ms) <= DELTA

    def accept(self, sqn):
        """Record ``sqn`` as used: SEQ_MS(IND) = SEQ.

        Call only after :meth:`is_fresh` returned True.
        """
        seq, ind = split(sqn)
        self._seq_ms[ind] = seq

    def highest(self):
        """SQN_MS for AUTS: the highest accepted SEQ with its own IND.

        TS 33.102 6.3.3 has AUTS conceal SQN_MS, the highest previously
        accepted sequence number; with the Annex C.2 array that is the
        highest SEQ_MS(i) joined with the slot i it was accepted in (not
        the IND of the rejected SQN). The HE restarts above it (6.3.5).
        Before any acceptance it is 0.
        """
        seq = max(self._seq_ms)
        return (seq << IND_BITS) | self._seq_ms.index(seq)

    def to_dict(self):
        """JSON-safe state: ``{"seq_ms": [32 ints]}``."""
        return {'seq_ms': list(self._seq_ms)}

    @classmethod
    def from_dict(cls, d):
        """Restore what :meth:`to_dict` produced; ValueError if malformed."""
        try:
            seq_ms = d['seq_ms']
        except (TypeError, KeyError):
            raise ValueError('SQN state must be a dict with "seq_ms"')
        if not isinstance(seq_ms, list) or len(seq_ms) != IND_COUNT:
            raise ValueError('SQN state needs %d SEQ_MS values' % IND_COUNT)
        for seq in seq_ms:
            if type(seq) is not int or not 0 <= seq <= SEQ_MAX:
                raise ValueError('SEQ_MS values must be ints in '
                                 '[0, 2**43 - 1]')
        array = cls()
        array._seq_ms = list(seq_ms)
        return array
