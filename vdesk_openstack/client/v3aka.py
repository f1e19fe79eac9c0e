"""keystoneauth1 identity plugin ``v3aka``: log in to Keystone with a SIM.

The plugin plays the UE of 3GPP AKA against Keystone's ``aka`` method:
it asks for a challenge, lets the (software) USIM check AUTN and compute
RES, and answers. When the USIM finds the SQN stale it answers with AUTS
instead; Keystone resynchronises the HSS and sends a new challenge, which
the plugin answers transparently. A challenge whose AUTN does not verify
(a network that does not know K) is refused: the plugin never answers it.
"""

import logging

from keystoneauth1 import exceptions
from keystoneauth1.identity.v3 import base

from vdesk_openstack.aka import exceptions as aka_exc
from vdesk_openstack.aka import milenage
from vdesk_openstack.client import usim_store

LOG = logging.getLogger(__name__)

METHOD = 'aka'
# One resync is always enough for an honest network; allow one spare.
MAX_RESYNCS = 2


class AkaMethod(base.AuthMethod):
    """The ``aka`` identity payload; it changes between round trips."""

    imsi: str

    def __init__(self, *, imsi):
        super().__init__()
        self.imsi = imsi
        self.answer = None

    def get_auth_data(self, session, auth, headers, **kwargs):
        data = {'user': {'name': self.imsi}}
        if self.answer:
            data.update(self.answer)
        return METHOD, data


class V3Aka(base.Auth):
    """Authenticate with IMSI + K + OPc (or OP) through 3GPP AKA.

    :param auth_url: Keystone's identity endpoint.
    :param imsi: the subscriber's IMSI (Keystone user name).
    :param k: K, 32 hex digits.
    :param opc: OPc, 32 hex digits (or give ``op``).
    :param op: OP, 32 hex digits; OPc is derived from it.
    :param usim_state_file: file keeping the USIM's SQN state between runs
        (recommended: without it, replayed challenges cannot be detected
        across runs).
    :param capabilities: the device's I/O capabilities (the desktop
        login's ``capabilities`` object), sent with the answer so that the
        network can prepare the desktop before it is asked for.
    """

    def __init__(self, auth_url, imsi, k, opc=None, op=None,
                 usim_state_file=None, capabilities=None, **kwargs):
        self._method = AkaMethod(imsi=imsi)
        super().__init__(auth_url, [self._method], **kwargs)
        k_bytes = _hex(k, 'k')
        if (opc is None) == (op is None):
            raise exceptions.OptionError('v3aka needs exactly one of opc, op')
        if opc is not None:
            opc_bytes = _hex(opc, 'opc')
        else:
            opc_bytes = milenage.opc(k_bytes, _hex(op, 'op'))
        self.imsi = imsi
        self.capabilities = capabilities
        self._usim = usim_store.UsimStore(k_bytes, opc_bytes,
                                          usim_state_file)

    def get_auth_ref(self, session, **kwargs):
        self._method.answer = None
        resyncs = 0
        while True:
            try:
                return super().get_auth_ref(session, **kwargs)
            except exceptions.Unauthorized as e:
                challenge = _challenge_of(e)
                if challenge is None:
                    raise
            try:
                rand = bytes.fromhex(challenge['rand'])
                autn = bytes.fromhex(challenge['autn'])
                context = challenge['context']
            except (KeyError, TypeError, ValueError):
                raise exceptions.InvalidResponse(
                    'malformed AKA challenge from Keystone') from None
            try:
                answer = self._usim.authenticate(rand, autn)
            except aka_exc.MacFailure:
                raise exceptions.AuthorizationFailure(
                    'AKA: the network failed to authenticate (AUTN MAC '
                    'mismatch): wrong K/OPc, or not your operator') from None
            except aka_exc.SyncFailure as sync:
                resyncs += 1
                if resyncs > MAX_RESYNCS:
                    raise exceptions.AuthorizationFailure(
                        'AKA: SQN resynchronisation did not converge') \
                        from None
                LOG.debug('AKA: SQN out of range, asking for resync')
                self._method.answer = {'context': context,
                                       'auts': sync.auts.hex()}
                continue
            self._method.answer = {'context': context, 'res': answer.res.hex()}
            if self.capabilities is not None:
                self._method.answer['capabilities'] = self.capabilities


def _hex(value, name):
    try:
        data = bytes.fromhex(value)
    except (TypeError, ValueError):
        data = b''
    if len(data) != 16:
        raise exceptions.OptionError(
            'v3aka option %s must be 32 hex digits' % name)
    return data


def _challenge_of(error):
    """The AKA challenge inside a 401, or None if it is a plain refusal."""
    response = getattr(error, 'response', None)
    if response is None:
        return None
    try:
        identity = response.json()['error']['identity']
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(identity, dict) or METHOD not in identity.get(
            'methods', []):
        return None
    return identity.get(METHOD)
