"""The UE's I/O capabilities: what console and virtual devices it gets.

The login body carries what the subscriber's device can do::

    {"client": "native" | "browser",
     "display": {"protocol": "spice" | "vnc", "monitors": 1..4},
     "audio_out": bool, "audio_in": bool,
     "usb": bool, "smartcard": bool}

Every key is optional. A native SPICE client (remote-viewer) gets a
``spice-direct`` console, with USB, audio and smart-card redirection; a
browser gets ``spice-html5`` (SPICE) or ``novnc`` (VNC). The devices of a
*new* desktop follow from them: a sound card when there is audio, a USB
controller with redirected ports when there is USB or a smart-card reader.
They become flavor extra specs, so flavors are per (plan, device profile).
The video model (QXL) and the absolute pointer come from the desktop
image's ``hw_video_model`` / ``hw_pointer_model`` properties or nova.conf
``pointer_model = usbtablet`` (its default): Nova has no flavor extra spec
for them.
"""

import hashlib

from vdesk_openstack.desktops import exceptions

CONSOLE_TYPES = ('spice-direct', 'spice-html5', 'novnc')
_KEYS = {'client', 'display', 'audio_out', 'audio_in', 'usb', 'smartcard'}
_BOOL_KEYS = ('audio_out', 'audio_in', 'usb', 'smartcard')


def parse(body):
    """Validate a capabilities object; return it normalised."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise exceptions.Invalid('"capabilities" must be an object')
    unknown = set(body) - _KEYS
    if unknown:
        raise exceptions.Invalid('unknown capabilities: %s (known: %s)' % (
            ', '.join(sorted(unknown)), ', '.join(sorted(_KEYS))))
    caps = {'client': body.get('client', 'browser')}
    if caps['client'] not in ('native', 'browser'):
        raise exceptions.Invalid('"client" must be "native" or "browser"')
    display = body.get('display', {})
    if not isinstance(display, dict) or set(display) - {'protocol',
                                                        'monitors'}:
        raise exceptions.Invalid(
            '"display" must be an object with "protocol" and "monitors"')
    protocol = display.get('protocol', 'spice')
    if protocol not in ('spice', 'vnc'):
        raise exceptions.Invalid('"display.protocol" must be "spice" or '
                                 '"vnc"')
    monitors = display.get('monitors', 1)
    if isinstance(monitors, bool) or not isinstance(monitors, int) \
            or not 1 <= monitors <= 4:
        raise exceptions.Invalid('"display.monitors" must be 1 to 4')
    caps['display'] = {'protocol': protocol, 'monitors': monitors}
    for key in _BOOL_KEYS:
        value = body.get(key, False)
        if not isinstance(value, bool):
            raise exceptions.Invalid('"%s" must be true or false' % key)
        caps[key] = value
    return caps


def console_type(caps):
    if caps['display']['protocol'] == 'vnc':
        return 'novnc'
    return 'spice-direct' if caps['client'] == 'native' else 'spice-html5'


def device_extra_specs(caps, conf):
    """Flavor extra specs of the virtual devices a new desktop gets."""
    specs = {}
    if caps['audio_out'] or caps['audio_in']:
        specs['hw:sound_model'] = conf.desktops.sound_model
    ports = 0
    if caps['usb']:
        ports = conf.desktops.max_redirected_usb_ports
    if caps['smartcard']:
        ports = max(ports, 1)
    if ports:
        specs['hw:usb_model'] = conf.desktops.usb_model
        specs['hw:redirected_usb_ports'] = str(ports)
    return specs


def profile_name(specs):
    """A short stable name of a set of extra specs (part of flavor names)."""
    text = ','.join('%s=%s' % kv for kv in sorted(specs.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:8]
