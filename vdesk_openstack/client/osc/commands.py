"""``openstack desktop login|show|console|logout`` and ``desktop mapping``.

``login`` sends the device's capabilities, waits (with a progress line on
stderr) until the desktop is ACTIVE, then prints the console to use -- or,
with ``--open``, starts remote-viewer on a ``.vv`` file.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

from osc_lib.command import command
from osc_lib import exceptions

from vdesk_openstack.client.osc import http

SESSION_FIELDS = ('id', 'desktop_id', 'status', 'restored', 'rebuilt',
                  'console_type')
MAPPING_FIELDS = ('subscriber', 'desktop_id', 'status', 'plan',
                  'generation', 'session_status', 'updated_at')


def capabilities_from(args):
    """The login body's capabilities from the command-line flags."""
    return {'client': 'native' if args.native else 'browser',
            'display': {'protocol': args.protocol,
                        'monitors': args.monitors},
            'audio_out': args.audio, 'audio_in': args.microphone,
            'usb': args.usb, 'smartcard': args.smartcard}


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except http.DesktopApiError as e:
        raise exceptions.CommandError(str(e)) from None


def _row(record, fields):
    return fields, tuple(_field(record, f) for f in fields)


def _field(record, name):
    if name == 'session_status':
        # Mappings carry their open session (or null) as an object.
        return (record.get('session') or {}).get('status')
    return record.get(name)


def wait_active(client, timeout, out=sys.stderr, interval=1.0):
    """Poll the session until ACTIVE; a progress line on ``out``."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    while True:
        session = _call(client.session)
        status = session['status']
        if out is not None:
            out.write('\rdesktop %s: %s (%ds)   ' % (
                session.get('desktop_id') or '-', status,
                time.monotonic() - started))
            out.flush()
        if status == 'ACTIVE':
            if out is not None:
                out.write('\n')
            return session
        if status == 'ERROR':
            raise exceptions.CommandError('the desktop failed to start: %s'
                                          % session.get('fault', 'ERROR'))
        if time.monotonic() > deadline:
            raise exceptions.CommandError(
                'the desktop is still %s after %d s' % (status, timeout))
        time.sleep(interval)


class Login(command.ShowOne):
    """Log in to your desktop: create it the first time, restore it later."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument('--native', action='store_true', default=True,
                          help='a native SPICE client (remote-viewer): '
                               'spice-direct console with USB, audio and '
                               'smart-card redirection (default)')
        kind.add_argument('--browser', dest='native', action='store_false',
                          help='a web browser: spice-html5 or novnc')
        parser.add_argument('--protocol', choices=('spice', 'vnc'),
                            default='spice')
        parser.add_argument('--monitors', type=int, default=1,
                            choices=range(1, 5), metavar='1-4')
        parser.add_argument('--no-audio', dest='audio', action='store_false',
                            default=True, help='no sound output')
        parser.add_argument('--microphone', action='store_true',
                            help='redirect the microphone')
        parser.add_argument('--usb', action='store_true',
                            help='redirect USB devices')
        parser.add_argument('--smartcard', action='store_true',
                            help='redirect the smart card / SIM reader')
        parser.add_argument('--no-wait', dest='wait', action='store_false',
                            default=True,
                            help='return at once instead of waiting until '
                                 'the desktop is active')
        parser.add_argument('--timeout', type=int, default=600,
                            help='seconds to wait (default 600)')
        parser.add_argument('--open', action='store_true',
                            help='start remote-viewer on the desktop '
                                 '(spice-direct)')
        return parser

    def take_action(self, args):
        client = self.app.client_manager.desktop
        session = _call(client.login, capabilities_from(args))
        if args.wait or args.open:
            session = wait_active(client, args.timeout, out=self.app.stderr)
            if args.open:
                open_viewer(client)
        return _row(session, SESSION_FIELDS)


class Show(command.ShowOne):
    """Show your open desktop session."""

    def take_action(self, args):
        return _row(_call(self.app.client_manager.desktop.session),
                    SESSION_FIELDS)


class Console(command.ShowOne):
    """Show how to connect to your active desktop."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--type', choices=('spice-direct', 'spice-html5',
                                               'novnc'),
                            help='console type (default: the one your '
                                 'device announced at login)')
        parser.add_argument('--vv-file', metavar='PATH',
                            help='write a remote-viewer .vv file '
                                 '(spice-direct) to PATH')
        return parser

    def take_action(self, args):
        client = self.app.client_manager.desktop
        if args.vv_file:
            text = _call(client.console, 'spice-direct', vv=True)
            fd = os.open(args.vv_file, os.O_WRONLY | os.O_CREAT |
                         os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'w') as f:
                f.write(text)
        console = _call(client.console, args.type)
        fields = tuple(sorted(k for k in console if k != 'password'))
        return fields, tuple(console[f] for f in fields)


class Logout(command.Command):
    """Log out: your desktop is released (shelved); it keeps its ID."""

    def take_action(self, args):
        _call(self.app.client_manager.desktop.logout)


def open_viewer(client):
    viewer = shutil.which('remote-viewer')
    if viewer is None:
        raise exceptions.CommandError(
            'remote-viewer is not installed (virt-viewer package)')
    text = _call(client.console, 'spice-direct', vv=True)
    fd, path = tempfile.mkstemp(suffix='.vv')
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    # The .vv file says delete-this-file=1: remote-viewer removes it.
    subprocess.Popen([viewer, path])  # nosec: fixed binary, own temp file


class MappingList(command.Lister):
    """List subscriber -> desktop mappings (admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--limit', type=int)
        parser.add_argument('--marker', metavar='IMSI')
        parser.add_argument('--status')
        return parser

    def take_action(self, args):
        rows = _call(self.app.client_manager.desktop.mappings, args.limit,
                     args.marker, args.status)
        return MAPPING_FIELDS, [tuple(_field(r, f) for f in MAPPING_FIELDS)
                                for r in rows]


class MappingShow(command.ShowOne):
    """Show a subscriber's desktop mapping (admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('imsi')
        return parser

    def take_action(self, args):
        return _row(_call(self.app.client_manager.desktop.mapping,
                          args.imsi), MAPPING_FIELDS)


class MappingRelease(command.Command):
    """Force-release a subscriber's desktop (admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('imsi')
        return parser

    def take_action(self, args):
        _call(self.app.client_manager.desktop.release, args.imsi)


class MappingDelete(command.Command):
    """Delete a subscriber's desktop and its mapping (admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('imsi')
        return parser

    def take_action(self, args):
        _call(self.app.client_manager.desktop.delete, args.imsi)
