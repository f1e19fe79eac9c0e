"""Tests of vdesk-openstack: unit/ (pure logic), functional/ (real services), bench/."""
