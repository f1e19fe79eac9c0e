"""IPA framing and the CCM identity exchange, as GSUP uses them.

An IPA frame is a 3-byte header -- payload length (16 bits, big endian)
and a protocol byte -- and the payload. GSUP travels as protocol
``0xEE`` (Osmocom extension) whose payload starts with the extension byte
``0x05``; the connection's management (CCM) is protocol ``0xFE``.

On connect the server sends CCM ID_GET listing the identity tags it wants;
the client answers ID_RESP with, for each tag, ``len16 || tag || value``
(value NUL-terminated, len16 counting tag and value). The HLR names the
connection by the serial number tag and routes its answers by that name.
PING is answered with PONG. There is no ID_ACK to wait for.

Pure functions and a stream parser: no sockets here.
"""

import struct

PROTO_CCM = 0xFE
PROTO_OSMO = 0xEE
EXT_GSUP = 0x05

CCM_PING = 0x00
CCM_PONG = 0x01
CCM_ID_GET = 0x04
CCM_ID_RESP = 0x05
CCM_ID_ACK = 0x06

# Identity tags (the unit tag carries "site/bts/trx" numbers).
TAG_SERNR = 0x00
TAG_UNITNAME = 0x01
TAG_UNIT = 0x08

_HEADER = struct.Struct('>HB')
HEADER_SIZE = _HEADER.size
MAX_PAYLOAD = 0xFFFF


class ProtocolError(Exception):
    """A frame or CCM message that does not follow the protocol."""


def frame(proto, payload):
    """One IPA frame: header and ``payload``."""
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError('IPA payload of %d bytes is too long'
                            % len(payload))
    return _HEADER.pack(len(payload), proto) + payload


def gsup_frame(message):
    """The IPA frame carrying the encoded GSUP ``message``."""
    return frame(PROTO_OSMO, bytes([EXT_GSUP]) + message)


def ccm_frame(msg_type, body=b''):
    return frame(PROTO_CCM, bytes([msg_type]) + body)


def parse_id_get(body):
    """The tags an ID_GET ``body`` (after the message type) asks for.

    The body is a list of ``(length, tag)`` pairs, the length always 1.
    """
    tags = []
    i = 0
    while i < len(body):
        if i + 1 >= len(body):
            raise ProtocolError('truncated CCM ID_GET')
        length, tag = body[i], body[i + 1]
        if length < 1 or i + 1 + length > len(body):
            raise ProtocolError('malformed CCM ID_GET')
        tags.append(tag)
        i += 1 + length
    return tags


def _value(tag, name):
    if tag == TAG_UNIT:
        return b'0/0/0'
    return name


def id_resp(tags, name):
    """The CCM ID_RESP frame answering ``tags`` for unit ``name`` (str)."""
    raw = name.encode('ascii')
    parts = [bytes([CCM_ID_RESP])]
    for tag in tags:
        value = _value(tag, raw) + b'\0'
        parts.append(struct.pack('>HB', len(value) + 1, tag) + value)
    return frame(PROTO_CCM, b''.join(parts))


def parse_id_resp(body):
    """``{tag: value}`` of an ID_RESP body (after the message type)."""
    values = {}
    i = 0
    while i < len(body):
        if i + 3 > len(body):
            raise ProtocolError('truncated CCM ID_RESP')
        length, tag = struct.unpack_from('>HB', body, i)
        end = i + 2 + length
        if length < 1 or end > len(body):
            raise ProtocolError('malformed CCM ID_RESP')
        values[tag] = bytes(body[i + 3:end]).rstrip(b'\0').decode(
            'ascii', 'replace')
        i = end
    return values


def ccm_reply(body):
    """The frame answering a CCM message ``body``, or None.

    ``body`` starts with the CCM message type. ID_GET needs the unit name
    and is answered by the caller (:func:`id_resp`).
    """
    if not body:
        raise ProtocolError('empty CCM message')
    if body[0] == CCM_PING:
        return ccm_frame(CCM_PONG)
    return None


class FrameReader(object):
    """Split a byte stream into ``(proto, payload)`` frames."""

    def __init__(self):
        self._buf = bytearray()

    def feed(self, data):
        """Add received bytes; return the complete frames now available."""
        self._buf += data
        frames = []
        while len(self._buf) >= HEADER_SIZE:
            length, proto = _HEADER.unpack_from(self._buf)
            end = HEADER_SIZE + length
            if len(self._buf) < end:
                break
            frames.append((proto, bytes(self._buf[HEADER_SIZE:end])))
            del self._buf[:end]
        return frames

    @property
    def pending(self):
        """Bytes of an incomplete frame held back."""
        return len(self._buf)
