"""Keystone auth method ``aka``: SIM login with 3GPP AKA against the HSS.

AKA is a challenge/response: the network sends RAND and AUTN (which proves
the network knows the subscriber's K), the SIM answers RES. Keystone speaks
it in two round trips on ``POST /v3/auth/tokens``:

1. ``{"aka": {"user": {"name": IMSI}}}`` -> 401 carrying
   ``{"rand", "autn", "context"}`` (Keystone's AdditionalAuthRequired);
2. the same with ``"context"`` and ``"res"`` -> a token for the user named
   IMSI, created on first success; or with ``"auts"`` when the SIM found the
   SQN stale -> the HSS resynchronises and a new challenge comes back.
   With an HSS that resynchronises by resetting its SQN (an HLR), the
   first AUTS of a login gets a fresh challenge, and only a second one a
   resynchronisation (:attr:`HssDriver.fresh_challenge_before_resync`).

The challenge state lives in the HSS database
(:mod:`vdesk_openstack.hss.challenges`), so any Keystone worker or node can
take the second step, and each challenge is consumed exactly once.

Nothing here gives a stranger a lever on a subscriber:

* wrong answers lock nobody out -- a single-use 64-bit RES cannot be
  guessed, and a lockout would let anyone who knows an IMSI lock its SIM
  out;
* nothing refuses an IMSI a challenge: the challenges kept per IMSI are
  bounded instead (a new one drops the oldest of the address holding the
  most), so asking for an IMSI's challenges cannot lock its SIM out;
* challenges are rate-bounded per client address and in total, before the
  HSS is asked, so a flood burns no SQN and grows no table; the client
  address is the peer's, or the one trusted proxies name in
  ``X-Forwarded-For`` (:mod:`vdesk_openstack.common.forwarded`), never one
  a client wrote;
* unknown IMSIs get decoy challenges built like real ones (same statements
  in the HSS, a MILENAGE vector, the operator's AMF), that no answer
  satisfies, and an AUTS answering one takes the path of any other AUTS.

Every refusal is the same generic 401 (400 for a malformed request). RES,
AUTS, K, OPc, CK and IK never reach a log line.
"""

import hmac
import json
import secrets
import threading
import time

import flask
from keystone.auth.plugins import base
from keystone.common import provider_api
import keystone.conf
from keystone import exception
from oslo_log import log as logging

from vdesk_openstack.aka import vectors
from vdesk_openstack.common import db
from vdesk_openstack.common import forwarded
from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.conf import aka as aka_conf
from vdesk_openstack import hss
from vdesk_openstack.hss import challenges
from vdesk_openstack.hss import exceptions as hss_exc
from vdesk_openstack.hss import validation
from vdesk_openstack.keystone import announce

CONF = keystone.conf.CONF
aka_conf.register_opts(CONF)

LOG = logging.getLogger(__name__)
PROVIDERS = provider_api.ProviderAPIs

METHOD_NAME = 'aka'
_FAILED = 'SIM authentication failed'
_MALFORMED = 'Invalid SIM authentication request'
# Largest capabilities object (JSON) a UE may attach to its answer.
_MAX_CAPABILITIES = 2048
# Suffix of the context of a challenge sent in answer to an AUTS: an AUTS
# answering it goes to the HSS. Outside the token's alphabet, so no other
# context ends with it; stored (as a digest) like any context, so it cannot
# be forged.
_AFTER_AUTS = '.'
# Users whose role assignment this process has checked: bounded, because a
# node may see millions of subscribers.
_GRANT_CACHE_SIZE = 100000


# Where werkzeug's ProxyFix, which Keystone puts in front of everything,
# keeps the WSGI server's REMOTE_ADDR: the connection's peer. By the time
# a request reaches the method, REMOTE_ADDR is the last X-Forwarded-For
# entry (ProxyFix) or the whole header (oslo.middleware's
# HTTPProxyToWSGI): text the client chose.
_ORIGINAL_ENVIRON = 'werkzeug.proxy_fix.orig'


def client_address(trusted_proxies):
    """The client address of the request Keystone serves, None outside one.

    The connection's peer, or the client that ``trusted_proxies`` name in
    ``X-Forwarded-For`` when the peer is one of them.
    """
    if not flask.has_request_context():
        return None
    environ = flask.request.environ
    peer = environ.get(_ORIGINAL_ENVIRON, environ).get('REMOTE_ADDR')
    return forwarded.client_address(
        peer, environ.get('HTTP_X_FORWARDED_FOR'), trusted_proxies)


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
        self._store = None
        self._lock = threading.Lock()
        self._granted = set()
        self._announcer = announce.Announcer(CONF)
        # Read at start-up: a malformed entry stops Keystone with a message
        # naming the option, not every SIM login later.
        self._trusted_proxies = tuple(CONF.vdesk_aka.trusted_proxies)

    def _connect(self):
        with self._lock:
            if self._hss is not None:
                return
            conf = vdesk_conf.make_vdesk_conf(
                [CONF.vdesk_aka.vdesk_config_file])
            driver = hss.get_driver(conf)
            # The challenges live in the HSS database, on the driver's
            # engine when it has one (one connection pool, not two).
            database = getattr(driver, 'database', None) or db.Database(
                conf, 'hss')
            self._store = challenges.ChallengeStore(
                database, retries=conf.hss.sqn_retries)
            self._hss = driver

    @property
    def hss(self):
        if self._hss is None:
            self._connect()
        return self._hss

    @property
    def store(self):
        if self._hss is None:
            self._connect()
        return self._store

    @staticmethod
    def _bounds():
        opts = CONF.vdesk_aka
        return challenges.RateBounds(
            window=opts.challenge_rate_window,
            per_address=opts.challenges_per_address,
            total=opts.challenges_total)

    def _source(self):
        """The client address key the rate bounds count, or None."""
        return forwarded.key(client_address(self._trusted_proxies),
                             CONF.vdesk_aka.ipv6_prefix_length)

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
    def _challenge(self, imsi, after_auts=False):
        # Counted before the HSS is asked: a refused request advances no
        # SQN and stores no challenge. Unknown IMSIs are counted alike.
        source = self._source()
        if not self.store.admit(source, self._bounds()):
            LOG.info('AKA challenge for %s from %s refused: rate bound '
                     'reached', imsi, source)
            raise exception.Unauthorized(_FAILED)
        try:
            vector = self.hss.authentication_vector(imsi)
            known = True
        except hss_exc.SubscriberNotFound:
            LOG.info('AKA challenge requested for unknown IMSI %s', imsi)
            # What a real vector costs, and the AMF real vectors carry
            # (the operator's, or the HLR's) in clear.
            vector = vectors.decoy_vector(self.hss.decoy_amf())
            known = False
        context = secrets.token_urlsafe(32)
        if after_auts:
            context += _AFTER_AUTS
        self.store.store(context, challenges.Challenge(
            imsi=imsi, rand=vector.rand,
            xres_digest=(challenges.xres_digest(context, vector.xres)
                         if known else None),
            expires_at=time.time() + CONF.vdesk_aka.challenge_ttl),
            source=source,
            keep=CONF.vdesk_aka.outstanding_challenges_per_imsi)
        return base.AuthHandlerResponse(
            status=False, response_data=None,
            response_body={'rand': vector.rand.hex(),
                           'autn': vector.autn.hex(), 'context': context})

    # -- step 2 -----------------------------------------------------------
    @staticmethod
    def _fail(imsi, reason):
        """Refuse the login: the generic 401, the reason in the log only.

        Nothing is counted against the subscriber: a wrong answer to a
        single-use challenge gives an attacker one 2**-64 guess, and a
        counter would give strangers a way to lock a SIM out.
        """
        LOG.info('AKA login of %s refused: %s', imsi, reason)
        raise exception.Unauthorized(_FAILED)

    def _answer(self, imsi, context, res, auts, capabilities=None):
        challenge = self.store.consume(context)
        if challenge is None:
            self._fail(imsi, 'unknown or already used challenge')
        if not hmac.compare_digest(challenge.imsi, imsi):
            self._fail(imsi, 'challenge issued to another IMSI')
        if challenge.expires_at < time.time():
            self._fail(imsi, 'challenge expired')
        if auts is not None:
            # A decoy's AUTS takes the same path as a real one's: the
            # answer, and the HSS's work, must not tell them apart.
            return self._resynchronise(imsi, context, challenge, auts)
        if challenge.xres_digest is None:
            self._fail(imsi, 'unknown subscriber')
        expected = challenges.xres_digest(context, res)
        if not hmac.compare_digest(expected, challenge.xres_digest):
            self._fail(imsi, 'wrong RES')
        user_id = self._ensure_user(imsi)
        LOG.info('AKA login of %s succeeded', imsi)
        self._announcer.announce(imsi, user_id, capabilities)
        return base.AuthHandlerResponse(
            status=True, response_body=None,
            response_data={'user_id': user_id})

    def _resynchronise(self, imsi, context, challenge, auts):
        if (getattr(self.hss, 'fresh_challenge_before_resync', False)
                and not context.endswith(_AFTER_AUTS)):
            # Likely a vector used after a later one of its IND slot
            # (concurrent logins): the next vector is above both.
            LOG.info('USIM of %s refused the SQN; sending a fresh '
                     'challenge before resynchronising', imsi)
            return self._challenge(imsi, after_auts=True)
        try:
            # For a decoy, the driver does the work of a known IMSI and
            # refuses (ResyncFailed, or SubscriberNotFound).
            self.hss.resynchronise(imsi, challenge.rand, auts)
        except (hss_exc.ResyncFailed, hss_exc.SubscriberNotFound):
            self._fail(imsi, 'invalid AUTS')
        if challenge.xres_digest is None:
            # No AUTS verifies for a decoy's RAND; should a driver say
            # otherwise, the IMSI still gets no real challenge this way.
            self._fail(imsi, 'invalid AUTS')
        LOG.info('SQN of %s resynchronised from AUTS', imsi)
        return self._challenge(imsi, after_auts=True)

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
        """Give the user subscriber_role on subscriber_project.

        Checked at the first login a process sees, so users created under
        another role (``member``, before vdesk_subscriber) get the
        configured one at their next login; removing the old role is the
        operator's step (see the upgrade notes).
        """
        opts = CONF.vdesk_aka
        project = PROVIDERS.resource_api.get_project_by_name(
            opts.subscriber_project, domain_id)
        try:
            role = PROVIDERS.role_api.get_unique_role_by_name(
                opts.subscriber_role)
        except exception.RoleNotFound:
            LOG.error('The subscriber role "%s" ([vdesk_aka] '
                      'subscriber_role) does not exist: create it, e.g. '
                      '"openstack role create %s"', opts.subscriber_role,
                      opts.subscriber_role)
            raise
        roles = PROVIDERS.assignment_api.get_roles_for_user_and_project(
            user_id, project['id'])
        if role['id'] not in roles:
            try:
                PROVIDERS.assignment_api.create_grant(
                    role['id'], user_id=user_id, project_id=project['id'])
            except exception.Conflict:
                pass
