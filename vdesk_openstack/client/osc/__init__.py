"""OpenStack client plugin: ``openstack desktop ...``."""
