"""A plain-text SPICE client's first step: the link handshake, by hand.

A SPICE client opens a channel with a ``SpiceLinkHeader`` + ``SpiceLinkMess``
(spice-protocol's ``protocol.h``); the server answers a ``SpiceLinkReply``
whose ``error`` says whether the channel may go on. A SPICE server that
requires TLS for the main channel answers ``SPICE_LINK_ERR_NEED_SECURED`` on
its plain port: a plain-text client gets no screen there.
"""

import socket
import struct

MAGIC = b'REDQ'
VERSION = (2, 2)
CHANNEL_MAIN = 1
# Common capabilities: auth selection, SPICE auth, mini header.
COMMON_CAPS = (1 << 0) | (1 << 1) | (1 << 3)
LINK_MESS = struct.Struct('<IBBIII')
HEADER = struct.Struct('<4sIII')
ERRORS = {0: 'OK', 1: 'ERROR', 2: 'INVALID_MAGIC', 3: 'INVALID_DATA',
          4: 'VERSION_MISMATCH', 5: 'NEED_SECURED', 6: 'NEED_UNSECURED',
          7: 'PERMISSION_DENIED', 8: 'BAD_CONNECTION_ID',
          9: 'CHANNEL_NOT_AVAILABLE'}
OK = 'OK'
NEED_SECURED = 'NEED_SECURED'


def link_message(channel_type=CHANNEL_MAIN):
    """The bytes a client sends first to open ``channel_type``."""
    caps = struct.pack('<I', COMMON_CAPS)
    mess = LINK_MESS.pack(0, channel_type, 0, 1, 0, LINK_MESS.size) + caps
    return HEADER.pack(MAGIC, VERSION[0], VERSION[1], len(mess)) + mess


def parse_link_reply(data):
    """The name of the server's link answer (``OK``, ``NEED_SECURED``...).

    :raises ValueError: not a SPICE link reply.
    """
    if len(data) < HEADER.size + 4:
        raise ValueError('a SPICE link reply has at least %d bytes, not %d'
                         % (HEADER.size + 4, len(data)))
    magic, _major, _minor, _size = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ValueError('not a SPICE link reply (magic %r)' % magic)
    error, = struct.unpack_from('<I', data, HEADER.size)
    return ERRORS.get(error, 'ERROR_%d' % error)


def link(host, port, timeout=10.0):
    """Open the main channel in plain text; the server's answer's name.

    ``'CLOSED'`` when the server closes the connection without an answer,
    ``'REFUSED'`` when nothing listens.
    """
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        return 'REFUSED'
    with sock:
        sock.sendall(link_message())
        data = b''
        while len(data) < HEADER.size + 4:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                chunk = b''
            if not chunk:
                return 'CLOSED' if not data else 'TRUNCATED'
            data += chunk
    return parse_link_reply(data)
