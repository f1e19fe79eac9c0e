"""3GPP AKA: MILENAGE, authentication vectors, SQN freshness, software USIM.

Pure functions and small value classes only: no I/O, no imports of the rest
of vdesk_openstack. The HSS, the Keystone method and the client build on it.

- ``milenage``: f1, f1*, f2..f5, f5* and OPc (TS 35.206), AES-128 from
  ``cryptography``; ``Milenage`` keeps one AES context per key.
- ``vectors``: ``AuthVector``, AUTN and AUTS on the network side
  (TS 33.102 6.3.2, 6.3.3, 6.3.5).
- ``sqn``: SQN = SEQ || IND, ``next_sqn`` for the HSS and ``SqnArray`` for
  the USIM (TS 33.102 Annex C).
- ``usim``: a thread-safe software USIM (TS 33.102 6.3.3).
- ``exceptions``: ``MacFailure``, ``SyncFailure`` (with ``auts``),
  ``InvalidAuts``, all ``AkaError``.

Secrets (K, OPc, RES, CK, IK) never appear in a repr or an error message.
See doc/source/reference/aka.rst.
"""
