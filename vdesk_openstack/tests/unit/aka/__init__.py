"""Unit tests of the pure AKA package (vdesk_openstack.aka)."""
