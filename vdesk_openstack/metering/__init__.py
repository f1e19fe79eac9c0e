"""Charging: Ceilometer publishers for the vdesk session records.

``radius`` (:mod:`.radius`) sends RFC 2866 accounting records to the
operator's charging server through a durable spool (:mod:`.spool`) and a
pipelined client (:mod:`.client`); :mod:`.records` maps session events to
RADIUS attributes, ``dictionary.vdesk`` defines the vendor attributes.
"""
