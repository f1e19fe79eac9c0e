"""Sphinx configuration of the vdesk-openstack documentation."""

extensions = [
    'sphinx.ext.autodoc',
    'oslo_config.sphinxext',
    'oslo_policy.sphinxext',
]
templates_path = []
source_suffix = '.rst'
master_doc = 'index'
project = 'vdesk-openstack'
copyright = '2026, vdesk-openstack developers'
exclude_patterns = ['_build']
pygments_style = 'native'
html_theme = 'alabaster'
html_static_path = []
