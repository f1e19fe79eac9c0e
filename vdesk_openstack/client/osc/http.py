"""A small REST client of the desktop service API."""

from keystoneauth1 import adapter
from keystoneauth1 import exceptions as ks_exc


class DesktopApiError(Exception):
    """An error answer of the desktop API, with its message."""

    def __init__(self, status, message):
        super().__init__('%s (HTTP %s)' % (message, status))
        self.status = status


class DesktopClient(object):

    def __init__(self, session, endpoint_override=None, interface=None,
                 region_name=None):
        self._api = adapter.Adapter(
            session, service_type='desktop', interface=interface,
            region_name=region_name, endpoint_override=endpoint_override)

    def _call(self, method, path, **kwargs):
        try:
            resp = self._api.request(path, method, raise_exc=False,
                                     **kwargs)
        except ks_exc.EndpointNotFound:
            raise DesktopApiError(
                '-', 'no desktop endpoint in the catalog; give '
                '--os-desktop-url') from None
        if resp.status_code >= 400:
            try:
                message = resp.json()['error']['message']
            except (ValueError, KeyError, TypeError):
                message = resp.text.strip() or resp.reason
            raise DesktopApiError(resp.status_code, message)
        return resp

    # subscriber
    def login(self, capabilities):
        return self._call('POST', '/v1/desktop/session',
                          json={'capabilities': capabilities}
                          ).json()['session']

    def session(self):
        return self._call('GET', '/v1/desktop/session').json()['session']

    def has_session(self):
        """Whether the subscriber has an open session (404: none)."""
        try:
            self.session()
        except DesktopApiError as e:
            if e.status == 404:
                return False
            raise
        return True

    def console(self, console_type=None, vv=False):
        params = {}
        if console_type:
            params['type'] = console_type
        if vv:
            params['format'] = 'vv'
            return self._call('GET', '/v1/desktop/console',
                              params=params).text
        return self._call('GET', '/v1/desktop/console',
                          params=params).json()['console']

    def logout(self):
        self._call('DELETE', '/v1/desktop/session')

    # admin
    def mappings(self, limit=None, marker=None, status=None):
        params = {k: v for k, v in (('limit', limit), ('marker', marker),
                                    ('status', status)) if v}
        return self._call('GET', '/v1/desktops',
                          params=params).json()['desktops']

    def mapping(self, imsi):
        return self._call('GET', '/v1/desktops/%s' % imsi).json()['desktop']

    def release(self, imsi):
        self._call('POST', '/v1/desktops/%s/release' % imsi)

    def delete(self, imsi):
        self._call('DELETE', '/v1/desktops/%s' % imsi)
