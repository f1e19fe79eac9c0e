"""The ``gsup`` HSS driver: vectors from the operator's HLR over GSUP.

K, OPc and the SQN never leave the HLR (osmo-hlr, or any HLR speaking
Osmocom's GSUP): for a challenge the driver sends SendAuthInfo for one
vector and hands RAND, AUTN and XRES to the ``aka`` method; for a
resynchronisation it sends SendAuthInfo with the USIM's AUTS and the
rejected RAND, and the HLR checks MAC-S and resets its SQN (TS 33.102
6.3.5). Plans and the IMSI -> plan map stay in the HSS SQL database, in
the embedded driver's tables (a mapped subscriber's row holds no secret).

One vector per request, not the five an HLR may hand out: a spare vector
kept for a later login would have to be stored with its XRES (the
challenge store keeps only a digest bound to a challenge that does not
exist yet), and spares of one connection share its IND slot, so a USIM
answering them out of order would refuse some and force resyncs. A GSUP
round trip costs well under a millisecond on a LAN; a login's Keystone
work costs much more.

Only the IMSIs mapped to a plan here are vdesk's subscribers; the HLR
knows every SIM of the operator. An IMSI without a plan, or one the HLR
does not know (SendAuthInfo error, cause 2 "IMSI unknown"), raises
:class:`SubscriberNotFound`, and the caller answers a decoy challenge
whose AMF is the one the HLR's vectors carry. Either costs what a
subscriber's challenge does: the plan is looked up and the HLR asked for
every IMSI, and an unmapped IMSI's vector is dropped. Its resynchronisation
goes to the HLR too (with the decoy's RAND, which no AUTS verifies) and
fails like a junk AUTS. An HLR that does not answer in time raises
:class:`BackendUnavailable` naming it: the subscriber gets the generic 401.
"""

import threading

from oslo_log import log as logging
import sqlalchemy as sa

from vdesk_openstack.hss import api
from vdesk_openstack.hss import exceptions
from vdesk_openstack.hss.gsup import client as gsup_client
from vdesk_openstack.hss.gsup import protocol
from vdesk_openstack.hss.sql import driver as sql_driver
from vdesk_openstack.hss.sql import migration
from vdesk_openstack.hss.sql import models

LOG = logging.getLogger(__name__)

# AMF of osmo-hlr's vectors (it does not store one per subscriber); the
# AMF of the HLR's latest vector replaces it once one has been seen.
DEFAULT_AMF = b'\x00\x00'
# A mapped subscriber's row: no SIM secret, SQN kept by the HLR.
_NO_SECRETS = b''


class GsupHss(api.HssDriver):
    """HSS driver asking an HLR over GSUP; thread-safe, one per process."""

    keeps_secrets = False
    # osmo-hlr resets its SQN to SQN_MS on every AUTS.
    fresh_challenge_before_resync = True

    def __init__(self, conf):
        super().__init__(conf)
        opts = conf.hss_gsup
        try:
            servers = gsup_client.parse_servers(opts.servers)
        except ValueError as e:
            raise exceptions.InvalidInput('[hss_gsup] servers: %s' % e) \
                from None
        self._client = gsup_client.GsupClient(
            servers, opts.ipa_name, timeout=opts.timeout,
            max_connections=opts.max_connections,
            backoff_max=opts.backoff_max)
        # Plans and the IMSI -> plan map: the embedded driver's tables.
        self._sql = sql_driver.SqlHss(conf)
        self._amf = DEFAULT_AMF
        self._amf_lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------
    @property
    def client(self):
        """The :class:`gsup_client.GsupClient` (tests, benchmarks)."""
        return self._client

    @property
    def database(self):
        return self._sql.database

    @property
    def engine(self):
        return self._sql.engine

    def db_sync(self):
        """Create or upgrade the schema. No key file: no secret here."""
        migration.upgrade(self.engine)
        return False

    def decoy_amf(self):
        return self._amf

    # -- HLR ----------------------------------------------------------------
    def _ask(self, imsi, rand=None, auts=None):
        try:
            return self._client.send_auth_info(imsi, 1, rand=rand, auts=auts)
        except gsup_client.HlrUnavailable as e:
            LOG.error('HLR unavailable for SendAuthInfo of %s: %s', imsi, e)
            raise exceptions.BackendUnavailable(str(e)) from None

    @staticmethod
    def _refused(imsi, answer):
        return exceptions.BackendUnavailable(
            'HLR refused SendAuthInfo for %s with GMM cause %d'
            % (imsi, answer.cause))

    def _mapped(self, imsi):
        """Whether ``imsi`` is a subscriber here: mapped to a plan."""
        return self._sql.get_plan(imsi) is not None

    def authentication_vector(self, imsi):
        # The plan first, then the HLR whatever the plan: an unmapped
        # IMSI costs what a subscriber does.
        mapped = self._mapped(imsi)
        answer = self._ask(imsi)
        if answer.cause == protocol.CAUSE_IMSI_UNKNOWN:
            raise exceptions.SubscriberNotFound(imsi)
        if not answer.ok:
            raise self._refused(imsi, answer)
        vector = answer.vectors[0]
        amf = vector.autn[6:8]
        if amf != self._amf:
            with self._amf_lock:
                self._amf = amf
        if not mapped:
            # A SIM of the operator's that is no subscriber of ours: its
            # vector is dropped, never handed out.
            raise exceptions.SubscriberNotFound(imsi)
        return vector

    def resynchronise(self, imsi, rand, auts):
        # The HLR checks MAC-S, resets its SQN above SQN_MS and answers
        # with a vector, which is dropped: the caller asks for a fresh
        # challenge through authentication_vector like any other.
        mapped = self._mapped(imsi)
        answer = self._ask(imsi, rand=rand, auts=auts)
        if answer.cause == protocol.CAUSE_IMSI_UNKNOWN:
            # osmo-hlr answers a bad AUTS with the cause of an unknown
            # IMSI.
            raise exceptions.ResyncFailed(imsi)
        if not answer.ok:
            raise self._refused(imsi, answer)
        if not mapped:
            raise exceptions.ResyncFailed(imsi)

    # -- subscription -------------------------------------------------------
    def get_plan(self, imsi):
        return self._sql.get_plan(imsi)

    # -- provisioning (vdesk-manage) ----------------------------------------
    def add_plan(self, plan):
        return self._sql.add_plan(plan)

    def list_plans(self):
        return self._sql.list_plans()

    def add_subscriber(self, imsi, k=None, opc=None, sqn=0, amf=None,
                       plan=None):
        """Map ``imsi`` to ``plan``; its secrets stay in the HLR."""
        if k is not None or opc is not None:
            raise exceptions.InvalidInput(
                'the gsup HSS driver keeps no SIM secret: provision K and '
                'OPc in the HLR, and map the IMSI here with --imsi and '
                '--plan only')
        try:
            with self._sql.database.writer() as session:
                plan_id = None
                if plan is not None:
                    plan_id = session.scalar(sa.select(models.Plan.id).where(
                        models.Plan.name == plan))
                    if plan_id is None:
                        raise exceptions.PlanNotFound(plan)
                session.add(models.Subscriber(
                    imsi=imsi, secrets=_NO_SECRETS, sqn=0,
                    amf=DEFAULT_AMF.hex(), plan_id=plan_id,
                    created_at=sql_driver._utcnow()))
        except sql_driver.db_exc.DBDuplicateEntry:
            raise exceptions.SubscriberExists(imsi) from None
        return self.get_subscriber(imsi)

    def get_subscriber(self, imsi):
        return self._sql.get_subscriber(imsi)

    def list_subscribers(self, limit=1000, marker=None):
        return self._sql.list_subscribers(limit=limit, marker=marker)
