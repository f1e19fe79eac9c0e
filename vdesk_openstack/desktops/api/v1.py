"""Controllers of API v1.

Subscriber calls (``/v1/desktop/...``) name no subscriber: the caller is
the token's user, so a subscriber can neither see nor touch another
subscriber's desktop -- there is nothing to name it with. Admin calls
(``/v1/desktops/...``) name any subscriber by IMSI. Input is validated
here or by the manager, and every refusal is a 4xx with a message that
says what to change.
"""

import json
import urllib.parse

from vdesk_openstack.desktops.api import console_file
from vdesk_openstack.desktops.api import faults
from vdesk_openstack.desktops.api import views
from vdesk_openstack.desktops import capabilities as caps_mod
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import states
from vdesk_openstack.hss import exceptions as hss_exc
from vdesk_openstack.hss import validation
from vdesk_openstack.policies import desktops as rules

MAX_BODY_BYTES = 64 * 1024
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
CONSOLE_FORMATS = ('json', 'vv')
# Keystone's SIM (3GPP AKA) authentication method.
SIM_METHOD = 'aka'


# -- input ------------------------------------------------------------------
def read_json(request):
    """The request's JSON object ({} when the body is empty)."""
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise faults.RequestTooLarge(
            'The request body exceeds %d bytes' % MAX_BODY_BYTES)
    raw = request.body
    if len(raw) > MAX_BODY_BYTES:
        raise faults.RequestTooLarge(
            'The request body exceeds %d bytes' % MAX_BODY_BYTES)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise exceptions.Invalid('The request body is not valid JSON') \
            from None
    if not isinstance(body, dict):
        raise exceptions.Invalid('The request body must be a JSON object')
    return body


def query(request, allowed):
    """The query parameters in ``allowed``, each given at most once."""
    params = {}
    for name in request.GET:
        if name not in allowed:
            raise exceptions.Invalid(
                'Unknown query parameter "%s" (known: %s)'
                % (name, ', '.join(sorted(allowed))))
        values = request.GET.getall(name)
        if len(values) > 1:
            raise exceptions.Invalid('Query parameter "%s" given more than '
                                     'once' % name)
        params[name] = values[0]
    return params


def imsi_of(text):
    try:
        return validation.imsi(text)
    except hss_exc.InvalidInput:
        raise exceptions.Invalid('Invalid IMSI "%s": expected 6 to 15 '
                                 'decimal digits' % text[:32]) from None


class API(object):
    """The v1 resources, bound to a manager and a policy enforcer."""

    def __init__(self, manager, enforcer):
        self.manager = manager
        self.enforcer = enforcer
        self._domain = enforcer.subscriber_domain
        self._project = enforcer.subscriber_project

    def routes(self):
        return [
            ('GET', '/', self.version),
            ('POST', '/desktop/session', self.login),
            ('GET', '/desktop/session', self.get_session),
            ('DELETE', '/desktop/session', self.logout),
            ('GET', '/desktop/console', self.console),
            ('GET', '/desktops', self.list_desktops),
            ('GET', '/desktops/{imsi}', self.get_desktop),
            ('DELETE', '/desktops/{imsi}', self.delete_desktop),
            ('POST', '/desktops/{imsi}/release', self.release_desktop),
        ]

    # -- helpers --------------------------------------------------------------
    def _subscriber(self, request, rule):
        """Authorize a subscriber call; return (IMSI, Keystone user id).

        The policy rule says who is a subscriber and may be widened by an
        operator; the domain, the project and the SIM login are checked
        here as well, so no policy file can let another domain's user, or
        a credential that outlives the SIM (an application credential, a
        password, a trust), act as a subscriber. The manager then checks
        the desktop's binding to the user id.
        """
        context = request.environ['vdesk.context']
        self.enforcer.authorize(rule, context)
        if SIM_METHOD not in context.auth_methods:
            raise faults.Forbidden(
                'Only a SIM login opens a desktop: the token must come from '
                'the "%s" authentication method' % SIM_METHOD)
        if context.user_domain_name != self._domain or \
                context.project_domain_name != self._domain or \
                context.project_name != self._project or \
                not context.user_id:
            raise faults.Forbidden(
                'Only subscribers have a desktop: the token must belong to '
                'a user of domain "%s" and be scoped to project "%s"'
                % (self._domain, self._project))
        try:
            return validation.imsi(context.subscriber), context.user_id
        except hss_exc.InvalidInput:
            raise faults.Forbidden(
                'Only subscribers have a desktop: the token\'s user is not '
                'named by an IMSI') from None

    def _admin(self, request, rule):
        self.enforcer.authorize(rule, request.environ['vdesk.context'])

    def _session_view(self, session):
        desktop = self.manager.store.get_desktop_by_id(session['desktop_id'])
        return {'session': views.session(session, desktop)}

    # -- version ------------------------------------------------------------
    def version(self, request):
        return 200, {'version': version_document(request.application_url)}

    # -- subscriber ---------------------------------------------------------
    def login(self, request):
        imsi, user_id = self._subscriber(request, rules.LOGIN)
        body = read_json(request)
        unknown = set(body) - {'capabilities'}
        if unknown:
            raise exceptions.Invalid(
                'Unknown key(s) in the request body: %s (known: '
                'capabilities)' % ', '.join(sorted(unknown)))
        session = self.manager.login(imsi, user_id,
                                     body.get('capabilities'))
        return 202, self._session_view(session)

    def get_session(self, request):
        imsi, user_id = self._subscriber(request, rules.GET_SESSION)
        return 200, self._session_view(self.manager.get_session(imsi,
                                                                user_id))

    def logout(self, request):
        imsi, user_id = self._subscriber(request, rules.LOGOUT)
        return 202, self._session_view(self.manager.logout(
            imsi, user_id=user_id))

    def console(self, request):
        imsi, user_id = self._subscriber(request, rules.CONSOLE)
        params = query(request, ('type', 'format'))
        console_type = params.get('type')
        if console_type is not None and \
                console_type not in caps_mod.CONSOLE_TYPES:
            raise exceptions.Invalid('Console type must be one of %s'
                                     % ', '.join(caps_mod.CONSOLE_TYPES))
        fmt = params.get('format', 'json')
        if fmt not in CONSOLE_FORMATS:
            raise exceptions.Invalid('Console format must be one of %s'
                                     % ', '.join(CONSOLE_FORMATS))
        if fmt == 'vv':
            if console_type not in (None, 'spice-direct'):
                raise exceptions.Invalid(
                    'format=vv (a remote-viewer file) needs a '
                    'spice-direct console')
            console_type = 'spice-direct'
        console = self.manager.console(imsi, console_type, user_id)
        if fmt == 'vv':
            text = console_file.render(console, title='Desktop %s' % imsi)
            return 200, console_file.CONTENT_TYPE, text, {
                'Content-Disposition':
                    'attachment; filename="%s"' % console_file.FILENAME,
                'Cache-Control': 'no-store'}
        # A proxy's own .vv is for format=vv; JSON gives its fields.
        console = {k: v for k, v in console.items() if k != 'vv'}
        return 200, {'console': console}, {'Cache-Control': 'no-store'}

    # -- admin ----------------------------------------------------------------
    def list_desktops(self, request):
        self._admin(request, rules.LIST)
        params = query(request, ('limit', 'marker', 'status'))
        try:
            limit = int(params.get('limit', DEFAULT_LIMIT))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise exceptions.Invalid('"limit" must be an integer from 1 to '
                                     '%d' % MAX_LIMIT)
        marker = params.get('marker')
        if marker is not None:
            marker = imsi_of(marker)
        status = params.get('status')
        if status is not None and status not in states.DESKTOP_STATES:
            raise exceptions.Invalid('"status" must be one of %s'
                                     % ', '.join(states.DESKTOP_STATES))
        records = self.manager.store.list_desktops(limit=limit,
                                                   marker=marker,
                                                   status=status)
        body = {'desktops': [views.desktop(r, open_session=False)
                             for r in records]}
        if len(records) == limit:
            next_query = {'limit': limit,
                          'marker': records[-1]['subscriber']}
            if status:
                next_query['status'] = status
            body['desktops_links'] = [{
                'rel': 'next',
                'href': '%s/desktops?%s' % (
                    request.application_url,
                    urllib.parse.urlencode(next_query))}]
        return 200, body

    def _desktop(self, imsi):
        desktop = self.manager.store.get_desktop(imsi_of(imsi))
        if desktop is None:
            raise exceptions.DesktopNotFound()
        return desktop

    def get_desktop(self, request, imsi):
        self._admin(request, rules.GET)
        desktop, session = self.manager.store.get_desktop_and_session(
            imsi_of(imsi))
        if desktop is None:
            raise exceptions.DesktopNotFound()
        return 200, {'desktop': views.desktop(desktop, session)}

    def release_desktop(self, request, imsi):
        self._admin(request, rules.RELEASE)
        session = self.manager.release(imsi_of(imsi))
        if session is None:
            return 202, {'session': None}
        return 202, self._session_view(session)

    def delete_desktop(self, request, imsi):
        self._admin(request, rules.DELETE)
        self.manager.delete(imsi_of(imsi))
        return 204, None


def version_document(v1_url):
    return {'id': 'v1', 'status': 'CURRENT',
            'links': [{'rel': 'self', 'href': v1_url.rstrip('/') + '/'}]}
