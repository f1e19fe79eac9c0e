"""GSUP SendAuthInfo messages, encoded and decoded with pyosmocom.

A request names the IMSI and how many vectors it wants (1 to 5); with
AUTS and the RAND of the rejected challenge it also asks the HLR to
resynchronise the subscriber's SQN first (TS 33.102 6.3.5). A result
carries one auth tuple per vector (RAND, XRES, CK, IK, AUTN); an error
carries a GMM cause.
"""

import dataclasses
import typing

from osmocom.gsup import message as gsup

from vdesk_openstack.aka import vectors as aka_vectors

MsgType = gsup.MsgType

# GMM causes (TS 24.008 10.5.5.14) an HLR answers SendAuthInfo with.
CAUSE_IMSI_UNKNOWN = 2
MAX_VECTORS = 5

_SAI_ANSWERS = (MsgType.SEND_AUTH_INFO_RESULT, MsgType.SEND_AUTH_INFO_ERROR)


class MalformedMessage(Exception):
    """A GSUP message that could not be decoded or lacks mandatory IEs."""


@dataclasses.dataclass(frozen=True)
class SaiAnswer(object):
    """A decoded SendAuthInfo answer: vectors, or an error cause."""

    imsi: str
    vectors: typing.Tuple[aka_vectors.AuthVector, ...] = ()
    cause: typing.Optional[int] = None

    @property
    def ok(self):
        return self.cause is None


def send_auth_info(imsi, num_vectors=1, rand=None, auts=None):
    """Encode a SEND_AUTH_INFO_REQUEST (with AUTS+RAND: a resync)."""
    if not 1 <= num_vectors <= MAX_VECTORS:
        raise ValueError('num_vectors must be in [1, %d]' % MAX_VECTORS)
    if (rand is None) != (auts is None):
        raise ValueError('a resynchronisation needs both RAND and AUTS')
    ies = [{'imsi': imsi}, {'num_vectors_req': num_vectors}]
    if auts is not None:
        if len(rand) != 16 or len(auts) != 14:
            raise ValueError('RAND must be 16 bytes and AUTS 14 bytes')
        ies += [{'auts': bytes(auts)}, {'rand': bytes(rand)}]
    msg = gsup.GsupMessage.from_dict(
        {'msg_type': MsgType.SEND_AUTH_INFO_REQUEST.name, 'ies': ies})
    return msg.to_bytes()


def message_type(data):
    """The message type byte of an encoded GSUP message (an int)."""
    if not data:
        raise MalformedMessage('empty GSUP message')
    return data[0]


def _vector(tuple_ies):
    fields = {}
    for ie in tuple_ies:
        fields.update(ie)
    try:
        rand, autn = fields['rand'], fields['autn']
        xres, ck, ik = fields['res'], fields['ck'], fields['ik']
    except KeyError:
        raise MalformedMessage('auth tuple without UMTS parameters (RAND, '
                               'AUTN, RES, CK, IK): no 3G auth data in the '
                               'HLR?') from None
    if len(rand) != 16 or len(autn) != 16:
        raise MalformedMessage('auth tuple with a bad RAND or AUTN length')
    # SQN is concealed in AUTN (xor AK): the HLR keeps it (sqn None).
    return aka_vectors.AuthVector(
        rand=bytes(rand), xres=bytes(xres), ck=bytes(ck), ik=bytes(ik),
        autn=bytes(autn), sqn=None)


def parse_sai_answer(data):
    """Decode a SEND_AUTH_INFO_RESULT or _ERROR into :class:`SaiAnswer`."""
    kind = message_type(data)
    if kind not in _SAI_ANSWERS:
        raise MalformedMessage('not a SendAuthInfo answer: type 0x%02x'
                               % kind)
    try:
        decoded = gsup.GsupMessage.from_bytes(data).to_dict()
    except Exception as e:  # construct raises many kinds
        raise MalformedMessage('undecodable GSUP message: %s'
                               % type(e).__name__) from None
    imsi, cause, found = None, None, []
    for ie in decoded['ies']:
        if 'imsi' in ie:
            imsi = ie['imsi']
        elif 'cause' in ie:
            cause = ie['cause']
        elif 'auth_tuple' in ie:
            found.append(_vector(ie['auth_tuple']))
    if imsi is None:
        raise MalformedMessage('SendAuthInfo answer without IMSI')
    if kind == MsgType.SEND_AUTH_INFO_ERROR:
        return SaiAnswer(imsi=imsi, cause=cause if cause is not None else 0)
    if not found:
        raise MalformedMessage('SendAuthInfo result without auth tuple')
    return SaiAnswer(imsi=imsi, vectors=tuple(found))
