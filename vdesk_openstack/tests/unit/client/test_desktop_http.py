"""The desktop API client's reading of answers (no HTTP: a canned adapter)."""

import testtools

from vdesk_openstack.client.osc import http


class _Response(object):

    def __init__(self, status, body):
        self.status_code, self._body = status, body
        self.text, self.reason = str(body), 'reason'

    def json(self):
        return self._body


class _Adapter(object):

    def __init__(self, *responses):
        self.responses = list(responses)
        self.calls = []

    def request(self, path, method, raise_exc=False, **kwargs):
        self.calls.append((method, path))
        return self.responses.pop(0)


def _client(*responses):
    client = http.DesktopClient.__new__(http.DesktopClient)
    client._api = _Adapter(*responses)
    return client


class HasSessionTest(testtools.TestCase):

    def test_open_session(self):
        client = _client(_Response(200, {'session': {'status': 'ACTIVE'}}))
        self.assertTrue(client.has_session())
        self.assertEqual([('GET', '/v1/desktop/session')], client._api.calls)

    def test_no_session_is_404(self):
        client = _client(_Response(404, {'error': {'message': 'none'}}))
        self.assertFalse(client.has_session())

    def test_other_errors_are_raised_with_their_message(self):
        client = _client(_Response(503, {'error': {'message': 'Nova down'}}))
        e = self.assertRaises(http.DesktopApiError, client.has_session)
        self.assertEqual(503, e.status)
        self.assertIn('Nova down', str(e))
