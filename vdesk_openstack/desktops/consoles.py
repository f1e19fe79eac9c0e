"""Console credentials die with the session: revocation at Kerbside.

A console credential handed out for a desktop names a hypervisor host and
port, not a desktop. Once the desktop is shelved its SPICE port is free,
and the next desktop started on that host gets it: a credential that
outlived the release would open someone else's desktop. So every release
terminates the desktop's console sessions and tokens at Kerbside (its
``POST /console/<source>/<uuid>/terminate``, which deletes the tokens --
no new connection -- and has its proxies drop the live ones) before the
server is shelved (see :meth:`DesktopManager._put_away`).

Kerbside's API authenticates that call with a session token it signs
itself (an HS256 JWT keyed by its ``AUTH_SECRET_SEED``); the service holds
that key (``[desktops] kerbside_auth_secret``) and signs a one-minute
token, without Kerbside's administrator claim, for each call.

Only Kerbside's consoles can be revoked this way. Nova's own console
tokens, which a proxy at ``[desktops] spice_proxy_host`` would take as
SPICE passwords, cannot be deleted through Nova's API and outlive a
shelve; :func:`vdesk_openstack.desktops.compute.warn_about_spice_path`
refuses that configuration at start-up (:class:`NotRevocable`).
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
import uuid

# Seconds a token signed for one terminate call is valid.
TOKEN_LIFETIME = 60
# The subject of those tokens in Kerbside's audit trail.
TOKEN_SUBJECT = 'vdesk-openstack'


class NotRevocable(Exception):
    """The configured console path hands out credentials nobody revokes."""


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def api_token(secret, now=None, lifetime=TOKEN_LIFETIME):
    """A Kerbside API session token (HS256 JWT) signed with ``secret``.

    The claims are those Kerbside's own ``POST /auth`` puts in an access
    token, without ``kerbside_admin`` (no direct console access) and
    without a Keystone token.
    """
    now = int(time.time() if now is None else now)
    header = {'alg': 'HS256', 'typ': 'JWT'}
    claims = {'sub': TOKEN_SUBJECT, 'iat': now, 'nbf': now,
              'exp': now + lifetime, 'jti': str(uuid.uuid4()),
              'type': 'access', 'fresh': False}
    signing_input = '%s.%s' % (
        _b64(json.dumps(header, separators=(',', ':')).encode()),
        _b64(json.dumps(claims, separators=(',', ':')).encode()))
    signature = hmac.new(secret.encode(), signing_input.encode(),
                         hashlib.sha256).digest()
    return '%s.%s' % (signing_input, _b64(signature))


def terminate_url(base, source, server_id):
    """Kerbside's URL terminating every console session of a server."""
    return '%s/console/%s/%s/terminate' % (
        base.rstrip('/'), urllib.parse.quote(source, safe=''),
        urllib.parse.quote(server_id, safe=''))
