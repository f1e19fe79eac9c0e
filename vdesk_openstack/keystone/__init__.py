"""Keystone integration: the SIM (3GPP AKA) auth method ``aka``."""
