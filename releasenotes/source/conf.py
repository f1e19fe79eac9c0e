"""Sphinx configuration of the vdesk-openstack release notes."""

extensions = ['reno.sphinxext']
templates_path = []
source_suffix = '.rst'
master_doc = 'index'
project = 'vdesk-openstack Release Notes'
copyright = '2026, vdesk-openstack developers'
exclude_patterns = []
html_theme = 'alabaster'
html_static_path = []
