"""``vdesk-manage desktop ...``: an operator's say over desktop servers.

    vdesk-manage --config-file vdesk.conf desktop orphans [--delete UUID]
    vdesk-manage --config-file vdesk.conf desktop adopt --imsi IMSI \\
        --server UUID
    vdesk-manage --config-file vdesk.conf desktop replace --imsi IMSI

They reach Nova through the ``[nova]`` service user, exactly as vdesk-api
and vdesk-engine do (:func:`vdesk_openstack.desktops.service.
build_manager`), and take the subscriber's lock like them. See
doc/source/admin/desktop-operations.rst, "Orphans, adoption and blank
desktops".
"""

from vdesk_openstack.hss import validation


def add_parsers(commands):
    desktop = commands.add_parser(
        'desktop', help='servers of the desktop service: orphans, adoption, '
        'blank desktops')
    cmds = desktop.add_subparsers(dest='action', required=True)
    orphans = cmds.add_parser(
        'orphans', help='list the servers tagged as desktops that no '
        'mapping names (quarantined by the reconciler, never deleted by '
        'it)')
    orphans.add_argument('--delete', metavar='UUID',
                         help='delete this orphan server (and its disk)')
    adopt = cmds.add_parser(
        'adopt', help='map an orphan server to its subscriber again; the '
        'next SIM login binds it and restores that server')
    adopt.add_argument('--imsi', required=True)
    adopt.add_argument('--server', required=True, metavar='UUID')
    replace = cmds.add_parser(
        'replace', help='give a subscriber a blank desktop: delete its '
        'server (and its data); the next login creates a new one')
    replace.add_argument('--imsi', required=True)


def run(conf, args):
    # Imported here: the desktop service's wiring (openstacksdk, tooz and
    # the eventlet tooz imports, which warns on import) is for these
    # commands only; the other commands of vdesk-manage stay quiet.
    from vdesk_openstack.desktops import custody
    from vdesk_openstack.desktops import service

    manager = service.build_manager(conf, consoles=False)
    try:
        if args.action == 'orphans':
            if args.delete:
                return custody.delete_orphan(manager, args.delete)
            return custody.orphans(manager)
        imsi = validation.imsi(args.imsi)
        if args.action == 'adopt':
            return _mapping(custody.adopt(manager, imsi, args.server))
        return _mapping(manager.replace(imsi))
    finally:
        manager.locks.stop()
        manager.store.engine.dispose()


def _mapping(desktop):
    return {'subscriber': desktop['subscriber'],
            'desktop_id': desktop['instance_id'],
            'status': desktop['status'], 'plan': desktop['plan'],
            'user_id': desktop['user_id'],
            'generation': desktop['generation']}
