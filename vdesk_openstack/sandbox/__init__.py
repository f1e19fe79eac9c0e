"""Run the real components on loopback: the sandbox and functional tests.

Nothing here is imported by the plugins themselves; it drives the real
services (keystone-manage, a WSGI server, ...) as an operator would.
"""
