"""Encryption at rest of the subscribers' K and OPc (AES-256-GCM).

Each subscriber's K||OPc is sealed with a fresh 96-bit nonce and the IMSI as
associated data, so a ciphertext copied onto another subscriber's row does
not decrypt. The key lives in ``[hss] key_file`` (base64 of 32 random bytes),
created with mode 0600 by ``vdesk-manage db sync``.
"""

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import aead

from vdesk_openstack.hss import exceptions

KEY_BYTES = 32
NONCE_BYTES = 12


def create_key_file(path):
    """Create ``path`` with a new random key unless it exists.

    Returns True if a key was created. The file is created atomically with
    O_EXCL and mode 0600, so two nodes racing cannot both write a key.
    """
    if os.path.exists(path):
        return False
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    key = base64.b64encode(os.urandom(KEY_BYTES)) + b'\n'
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, 'wb') as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return True


def load_key(path):
    try:
        with open(path, 'rb') as f:
            data = f.read().strip()
    except OSError as e:
        raise exceptions.KeyFileError(
            'cannot read the HSS key file %s: %s (run "vdesk-manage db sync" '
            'to create it)' % (path, e.strerror)) from None
    try:
        key = base64.b64decode(data, validate=True)
    except ValueError:
        key = b''
    if len(key) != KEY_BYTES:
        raise exceptions.KeyFileError(
            'the HSS key file %s does not hold a base64-encoded %d-byte key'
            % (path, KEY_BYTES))
    return key


class SecretBox(object):
    """Seal and open subscriber secrets bound to their IMSI."""

    def __init__(self, key):
        self._aead = aead.AESGCM(key)

    def seal(self, imsi, plaintext):
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext,
                                          imsi.encode('ascii'))

    def open(self, imsi, blob):
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                      imsi.encode('ascii'))
        except (InvalidTag, ValueError):
            raise exceptions.KeyFileError(
                'the stored secrets of subscriber %s do not decrypt with the '
                'configured key file' % imsi) from None
