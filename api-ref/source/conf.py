"""Sphinx configuration of the desktop service API reference."""

extensions = ['os_api_ref']
templates_path = []
source_suffix = '.rst'
master_doc = 'index'
project = 'vdesk-openstack desktop API'
copyright = '2026, vdesk-openstack developers'
exclude_patterns = ['_build']
pygments_style = 'native'
html_theme = 'alabaster'
html_static_path = []
