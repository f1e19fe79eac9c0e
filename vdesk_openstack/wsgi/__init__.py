"""WSGI applications of vdesk-openstack, for uwsgi, gunicorn or mod_wsgi."""
