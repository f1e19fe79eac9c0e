"""Parsing and validation of subscriber identifiers and SIM parameters.

Shared by the provisioning CLI and the Keystone method so that both reject
the same malformed input with the same clear message.
"""

import re

from vdesk_openstack.hss import exceptions

_IMSI_RE = re.compile(r'^[0-9]{6,15}$')
_PLAN_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')
_TIER_RE = re.compile(r'^[a-z0-9][a-z0-9_-]{0,31}$')


def imsi(value):
    """Return ``value`` if it is an IMSI (6 to 15 decimal digits)."""
    if not isinstance(value, str) or not _IMSI_RE.fullmatch(value):
        raise exceptions.InvalidInput(
            'invalid IMSI: expected 6 to 15 decimal digits')
    return value


def hex_bytes(value, length, name):
    """Decode ``value`` (hex text) into exactly ``length`` bytes."""
    if not isinstance(value, str):
        raise exceptions.InvalidInput('%s must be a hex string' % name)
    text = value.strip().lower()
    if text.startswith('0x'):
        text = text[2:]
    if len(text) != 2 * length:
        raise exceptions.InvalidInput(
            '%s must be %d hex digits (%d bytes), got %d digits'
            % (name, 2 * length, length, len(text)))
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise exceptions.InvalidInput('%s is not valid hex' % name) from None


def plan_name(value):
    if not isinstance(value, str) or not _PLAN_RE.fullmatch(value):
        raise exceptions.InvalidInput(
            'invalid plan name: use 1 to 64 letters, digits, "_", "." or '
            '"-", starting with a letter or digit')
    return value


def tier(value):
    if not isinstance(value, str) or not _TIER_RE.fullmatch(value):
        raise exceptions.InvalidInput(
            'invalid priority tier: use 1 to 32 lowercase letters, digits, '
            '"_" or "-"')
    return value


def positive_int(value, name, maximum=2 ** 31 - 1):
    if isinstance(value, bool) or not isinstance(value, int) \
            or not 1 <= value <= maximum:
        raise exceptions.InvalidInput(
            '%s must be an integer between 1 and %d' % (name, maximum))
    return value
