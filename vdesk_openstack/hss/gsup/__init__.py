"""The ``gsup`` HSS driver: SIM secrets stay in the operator's HLR.

Authentication vectors come from an osmo-hlr compatible HLR over GSUP
(Osmocom's MAP-like protocol, carried in IPA frames over TCP); plans and
the IMSI -> plan map stay in the HSS SQL database. See
:mod:`vdesk_openstack.hss.gsup.driver`.
"""
