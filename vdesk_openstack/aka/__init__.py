"""3GPP AKA: MILENAGE, authentication vectors, SQN freshness, software USIM.

Pure functions and small value classes only: no I/O, no imports of the rest
of vdesk_openstack. The HSS, the Keystone method and the client build on it.
"""
