"""Keystone auth method ``aka``: SIM login with 3GPP AKA against the HSS.

AKA is a challenge/response: the network sends RAND and AUTN (which proves
the network knows the subscriber's K), the SIM answers RES. Keystone speaks
it in two round trips on ``POST /v3/auth/tokens``:

1. ``{"aka": {"user": {"name": IMSI}}}`` -> 401 carrying
   ``{"rand", "autn", "context"}`` (Keystone's AdditionalAuthRequired);
2. the same with ``"context"`` and ``"res"`` -> a token for the user named
   IMSI, created on first success; or with ``"auts"`` when the SIM found the
   SQN stale -> the HSS resynchronises and a new challenge comes back.

The challenge state lives in the HSS database, so any Keystone worker or
node can take the second step, and each challenge is consumed exactly once.
Unknown IMSIs get decoy challenges that look like real ones and that no
answer satisfies; a locked-out subscriber's answers all fail. Every failure
is the same generic 401 (400 for a malformed request). RES, AUTS, K, OPc,
CK and IK never reach a log line.
"""

import hmac
import json
import secrets
import threading
import time

from keystone.auth.plugins import base
from keystone.common import provider_api
import keystone.conf
from keystone import exception
from oslo_log import log as logging

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.conf import aka as aka_conf
from vdesk_openstack import hss
from vdesk_openstack.hss import api as hss_api
from vdesk_openstack.hss import exceptions as hss_exc
from vdesk_openstack.hss.sql import driver as sql_driver
from vdesk_openstack.hss import validation
from vdesk_openstack.keystone import announce

CONF = keystone.conf.CONF
aka_conf.register_opts(CONF)

LOG = logging.getLogger(__name__)
PROVIDERS = provider_api.ProviderAPIs

METHOD_NAME = 'aka'
DEFAULT_AMF = b'\x80\x00'
_FAILED = 'SIM authentication failed'
_MALFORMED = 'Invalid SIM authentication request'
# Largest capabilities object (JSON) a UE may attach to its answer.
_MAX_CAPABILITIES = 2048
# Users whose role assignment this process has checked: bounded, because a
# node may see millions of subscribers.
_GRANT_CACHE_SIZE = 100000


def _decoy_autn(amf):
    # A real AUTN is (SQN xor AK) || AMF || MAC-A: only the AMF is in clear,
    # so a decoy carries the same AMF and random bytes elsewhere.
    return secrets.token_bytes(6) + amf + secrets.token_bytes(8)


def parse_payload(payload):
    """Validate the ``aka`` payload; return (imsi, context, res, auts)."""
    if not isinstance(payload, dict):
        raise exception.ValidationError(message=_MALFORMED)
    user = payload.get('user')
    if not isinstance(user, dict):
        raise exception.ValidationError(message=_MALFORMED)
    try:
        imsi = validation.imsi(user.get('name'))
        context = payload.get('context')
        res = payload.get('res')
        auts = payload.get('auts')
        if context is None:
            if res is not None or auts is not None:
                raise hss_exc.InvalidInput('answer without context')
            return imsi, None, None, None
        if not isinstance(context, str) or not 16 <= len(context) <= 128:
            raise hss_exc.InvalidInput('bad context')
        if (res is None) == (auts is None):
            raise hss_exc.InvalidInput('need exactly one of res, auts')
        if res is not None:
            # RES is 4 to 16 bytes (TS 33.102 6.3.2); MILENAGE gives 8.
            if not isinstance(res, str) or not 8 <= len(res) <= 32:
                raise hss_exc.InvalidInput('bad res')
            res = validation.hex_bytes(res, len(res) // 2, 'res')
        else:
            auts = validation.hex_bytes(auts, 14, 'auts')
    except hss_exc.InvalidInput:
        raise exception.ValidationError(message=_MALFORMED) from None
    return imsi, context, res, auts


def parse_capabilities(payload):
    """The UE's capabilities sent with the answer (opaque here), or None.

    The desktop service validates them; Keystone only bounds their size.
    """
    caps = payload.get('capabilities') if isinstance(payload, dict) \
        else None
    if caps is None:
        return None
    if not isinstance(caps, dict) or len(
            json.dumps(caps)) > _MAX_CAPABILITIES:
        raise exception.ValidationError(message=_MALFORMED)
    return caps


class Aka(base.AuthMethodHandler):
    """The ``aka`` method: a thin adapter between Keystone and the HSS."""

    def __init__(self):
        super().__init__()
        self._hss = None
        self._lock = threading.Lock()
        self._granted = set()
        self._announcer = announce.Announcer(CONF)

    @property
    def hss(self):
        if self._hss is None:
            with self._lock:
                if self._hss is None:
                    conf = vdesk_conf.make_vdesk_conf(
                        [CONF.vdesk_aka.vdesk_config_file])
                    self._hss = hss.get_driver(conf)
        return self._hss

    def authenticate(self, auth_payload):
        imsi, context, res, auts = parse_payload(auth_payload)
        capabilities = parse_capabilities(auth_payload)
        try:
            if context is None:
                return self._challenge(imsi)
            return self._answer(imsi, context, res, auts, capabilities)
        except (exception.Unauthorized, exception.ValidationError):
            raise
        except hss_exc.HssError as e:
            LOG.error('AKA login of %s failed in the HSS: %s', imsi, e)
        except Exception:
            # A database outage or a bug must not become a 500 that tells
            # a prober something; the operator gets the traceback.
            LOG.exception('AKA login of %s failed unexpectedly', imsi)
        raise exception.Unauthorized(_FAILED)

    # -- step 1 -----------------------------------------------------------
    def _challenge(self, imsi):
        # A locked-out subscriber still gets a real challenge (its SIM can
        # tell a decoy, and would blame the network); the answer is what
        # fails, exactly as for a wrong RES.
        try:
            vector = self.hss.authentication_vector(imsi)
        except hss_exc.SubscriberNotFound:
            LOG.info('AKA challenge requested for unknown IMSI %s', imsi)
            vector = None
        context = secrets.token_urlsafe(32)
        if vector is not None:
            rand, autn = vector.rand, vector.autn
            digest = sql_driver.xres_digest(context, vector.xres)
        else:
            rand = secrets.token_bytes(16)
            autn = _decoy_autn(DEFAULT_AMF)
            digest = None
        self.hss.store_challenge(context, hss_api.Challenge(
            imsi=imsi, rand=rand, xres_digest=digest,
            expires_at=time.time() + CONF.vdesk_aka.challenge_ttl))
        return base.AuthHandlerResponse(
            status=False, response_data=None,
            response_body={'rand': rand.hex(), 'autn': autn.hex(),
                           'context': context})

    # -- step 2 -----------------------------------------------------------
    def _fail(self, imsi, reason, count=False):
        """Refuse the login; ``count`` it towards the lockout.

        Only answers to a genuine challenge of this IMSI count: a wrong RES
        or a forged AUTS. Made-up, reused or expired contexts cost an
        attacker nothing and must not let one lock a subscriber out.
        """
        LOG.info('AKA login of %s refused: %s', imsi, reason)
        if count:
            self.hss.record_failure(imsi, CONF.vdesk_aka.max_failures,
                                    CONF.vdesk_aka.lockout_duration)
        raise exception.Unauthorized(_FAILED)

    def _answer(self, imsi, context, res, auts, capabilities=None):
        challenge = self.hss.consume_challenge(context)
        if challenge is None:
            self._fail(imsi, 'unknown or already used challenge')
        if not hmac.compare_digest(challenge.imsi, imsi):
            self._fail(imsi, 'challenge issued to another IMSI')
        if challenge.expires_at < time.time():
            self._fail(imsi, 'challenge expired')
        if challenge.xres_digest is None:
            self._fail(imsi, 'unknown subscriber')
        if self.hss.is_locked_out(imsi):
            self._fail(imsi, 'locked out')
        if auts is not None:
            try:
                self.hss.resynchronise(imsi, challenge.rand, auts)
            except hss_exc.ResyncFailed:
                self._fail(imsi, 'invalid AUTS', count=True)
            LOG.info('SQN of %s resynchronised from AUTS', imsi)
            return self._challenge(imsi)
        expected = sql_driver.xres_digest(context, res)
        if not hmac.compare_digest(expected, challenge.xres_digest):
            self._fail(imsi, 'wrong RES', count=True)
        self.hss.clear_failures(imsi)
        user_id = self._ensure_user(imsi)
        LOG.info('AKA login of %s succeeded', imsi)
        self._announcer.announce(imsi, user_id, capabilities)
        return base.AuthHandlerResponse(
            status=True, response_body=None,
            response_data={'user_id': user_id})

    # -- Keystone identity ------------------------------------------------
    def _ensure_user(self, imsi):
        opts = CONF.vdesk_aka
        domain = PROVIDERS.resource_api.get_domain_by_name(
            opts.subscriber_domain)
        try:
            user = PROVIDERS.identity_api.get_user_by_name(imsi, domain['id'])
        except exception.UserNotFound:
            try:
                user = PROVIDERS.identity_api.create_user(
                    {'name': imsi, 'domain_id': domain['id'],
                     'enabled': True})
                LOG.info('Created the Keystone user of subscriber %s', imsi)
            except exception.Conflict:
                # Another worker created it at the same moment.
                user = PROVIDERS.identity_api.get_user_by_name(
                    imsi, domain['id'])
        if user['id'] not in self._granted:
            self._ensure_grant(user['id'], domain['id'])
            if len(self._granted) >= _GRANT_CACHE_SIZE:
                self._granted.clear()
            self._granted.add(user['id'])
        return user['id']

    def _ensure_grant(self, user_id, domain_id):
        opts = CONF.vdesk_aka
        project = PROVIDERS.resource_api.get_project_by_name(
            opts.subscriber_project, domain_id)
        role = PROVIDERS.role_api.get_unique_role_by_name(
            opts.subscriber_role)
        roles = PROVIDERS.assignment_api.get_roles_for_user_and_project(
            user_id, project['id'])
        if role['id'] not in roles:
            try:
                PROVIDERS.assignment_api.create_grant(
                    role['id'], user_id=user_id, project_id=project['id'])
            except exception.Conflict:
                pass
