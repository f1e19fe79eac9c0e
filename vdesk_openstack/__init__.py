"""vdesk-openstack: persistent subscriber desktops for telecom operators.

SIM (3GPP AKA) login through Keystone, one persistent Nova instance per
subscriber, scheduling by subscription tier and RADIUS charging, delivered
as plugins for an existing OpenStack cloud.
"""
