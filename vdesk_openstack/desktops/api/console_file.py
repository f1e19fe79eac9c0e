"""remote-viewer connection files (``.vv``) of ``spice-direct`` consoles.

virt-viewer's ``remote-viewer desktop.vv`` reads an INI file whose
``[virt-viewer]`` section names the SPICE endpoint and the one-time
password (Nova's console token, the second legitimacy check after the
Keystone token). ``delete-this-file=1`` makes the viewer remove it once
read, so the password does not linger on the device; USB redirection and
the smart card (the SIM as a reader) are switched on because those are
the devices a subscriber's desktop redirects.
"""

from vdesk_openstack.desktops import exceptions

CONTENT_TYPE = 'text/plain'
FILENAME = 'desktop.vv'


def _clean(value, name):
    text = str(value)
    # One value per line: a CR, LF or other control character inside a
    # value would let it write further keys.
    if not text or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise exceptions.Unavailable(
            'The compute service gave an unusable console %s' % name)
    return text


def _port(value, name):
    if value is None:
        return None
    if isinstance(value, bool):
        value = None
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise exceptions.Unavailable(
            'The compute service gave an unusable console %s' % name)
    return port


def render(console, title='Desktop'):
    """The .vv text of a spice-direct ``console`` (Compute.console()).

    A console that came through Kerbside carries Kerbside's own ``.vv``
    (its proxy, its password, its CA): that file is given unchanged.
    """
    if console.get('vv') is not None:
        return console['vv']
    host = console.get('host')
    port = _port(console.get('port'), 'port')
    tls_port = _port(console.get('tls_port'), 'TLS port')
    if host is None or (port is None and tls_port is None):
        raise exceptions.Unavailable(
            'The compute service gave no SPICE endpoint for the desktop')
    lines = ['[virt-viewer]', 'type=spice',
             'host=%s' % _clean(host, 'host')]
    if port is not None:
        lines.append('port=%d' % port)
    if tls_port is not None:
        lines.append('tls-port=%d' % tls_port)
    if console.get('password'):
        password = _clean(console['password'], 'password')
        lines.append('password=%s' % password)
    lines.extend([
        'title=%s' % _clean(title, 'title'),
        'delete-this-file=1',
        'enable-usbredir=1',
        'enable-usb-autoshare=1',
        'enable-smartcard=1',
        'toggle-fullscreen=shift+f11',
        'release-cursor=shift+f12',
        'secure-attention=ctrl+alt+end',
    ])
    return '\n'.join(lines) + '\n'
