"""Functional tests of the RADIUS accounting publisher against FreeRADIUS."""
