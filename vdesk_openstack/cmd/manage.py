"""``vdesk-manage``: database schemas, HSS provisioning, deployment config.

    vdesk-manage --config-file vdesk.conf db sync [--schema all|hss|desktops]
    vdesk-manage --config-file vdesk.conf subscriber add --imsi IMSI \\
        --k HEX32 (--opc HEX32 | --op HEX32) [--sqn HEX12] [--amf HEX4] \\
        [--plan NAME]
    vdesk-manage --config-file vdesk.conf subscriber add --imsi IMSI \\
        --plan NAME            # [hss] driver = gsup: secrets in the HLR
    vdesk-manage --config-file vdesk.conf plan add NAME --vcpus N \\
        --ram-mb N --disk-gb N --priority TIER [--image REF]
    vdesk-manage --config-file vdesk.conf desktop orphans [--delete UUID]
    vdesk-manage --config-file vdesk.conf desktop adopt --imsi IMSI \\
        --server UUID
    vdesk-manage --config-file vdesk.conf desktop replace --imsi IMSI
    vdesk-manage config render --target TARGET [--current FILE] \\
        [--keystone-url URL --database-connection URL ...]
    vdesk-manage config kerbside-certificates --kerbside-dir DIR \\
        --kerbside-public-host HOST [--host NAME ...]
    vdesk-manage [--config-file ceilometer.conf] charging parked list \\
        [--spool DIR]
    vdesk-manage [--config-file ceilometer.conf] charging parked replay \\
        [--spool DIR] (--all | ID [ID ...])
    vdesk-manage config spice-certificates --kerbside-dir DIR \\
        [--spice-tls-dir DIR] --host ADDRESS [--host NAME ...]

``db sync`` creates or upgrades both schemas: the HSS's (``[hss]``) and
the desktop service's (``[database]``); ``--schema hss`` is for nodes that
run only Keystone's ``aka`` method. ``config render`` prints what a
deployment sets in a service's configuration (see
:mod:`vdesk_openstack.deploy`), reads no vdesk.conf and touches no
database. ``charging parked`` lists and replays the charging records a
publisher parked (:mod:`vdesk_openstack.metering.parked`); its
``--config-file`` is Ceilometer's, where ``[vdesk_diameter] spool_dir`` is.

Every user error (malformed IMSI or hex, wrong length, duplicate, unknown
plan, unreachable database) is one line on stderr and exit code 2. Secrets
are never printed.
"""

import argparse
import dataclasses
import json
import os
import sys

from oslo_config import cfg
from oslo_db import exception as db_exc

from vdesk_openstack.aka import milenage
from vdesk_openstack.cmd import desktop_commands
from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack import deploy
from vdesk_openstack.desktops.db import api as desktops_db
from vdesk_openstack.desktops import exceptions as desktop_exc
from vdesk_openstack import hss
from vdesk_openstack.hss import api
from vdesk_openstack.hss import exceptions
from vdesk_openstack.hss import validation
from vdesk_openstack.metering import parked
from vdesk_openstack import subscriber_rights

EXIT_USAGE = 2
SCHEMAS = ('all', 'hss', 'desktops')
YAML_TARGETS = ('event-pipeline', 'event-definitions', 'keystone-policy')
# qemu.conf lines ("option = value") of a hypervisor serving SPICE over TLS.
QEMU_TARGET = 'qemu-spice-tls'
# Secrets may come from the environment rather than the command line,
# where other users of the host could read them.
SECRET_ENV = {'service_password': 'VDESK_SERVICE_PASSWORD',
              'radius_secret': 'VDESK_RADIUS_SECRET',
              'kerbside_password': 'VDESK_KERBSIDE_PASSWORD',
              'kerbside_auth_secret': 'VDESK_KERBSIDE_AUTH_SECRET'}


class CliError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(EXIT_USAGE, '%s: error: %s\n' % (self.prog, message))


def _positive(name):
    def parse(text):
        try:
            return validation.positive_int(int(text), name)
        except (ValueError, exceptions.InvalidInput):
            raise argparse.ArgumentTypeError(
                '%s must be a positive integer' % name)
    return parse


def build_parser():
    parser = _Parser(prog='vdesk-manage',
                     description='Database schema and HSS provisioning.')
    parser.add_argument('--config-file', action='append', default=[],
                        metavar='PATH', help='vdesk.conf (repeatable)')
    commands = parser.add_subparsers(dest='category', required=True,
                                     parser_class=_Parser)

    db = commands.add_parser('db', help='database schema')
    db_cmds = db.add_subparsers(dest='action', required=True)
    sync = db_cmds.add_parser(
        'sync', help='create or upgrade the schemas of the HSS and of the '
        'desktop service; create the K/OPc key file if it is missing')
    version = db_cmds.add_parser('version',
                                 help='print the schema revisions')
    for cmd in (sync, version):
        cmd.add_argument('--schema', choices=SCHEMAS, default='all',
                         help='the HSS\'s ([hss] connection), the desktop '
                              'service\'s ([database] connection) or both '
                              '(default)')

    sub = commands.add_parser('subscriber', help='subscribers of the HSS')
    sub_cmds = sub.add_subparsers(dest='action', required=True)
    add = sub_cmds.add_parser('add', help='provision a subscriber')
    add.add_argument('--imsi', required=True)
    add.add_argument('--k', metavar='HEX32',
                     help='subscriber key K (128 bits); required by the '
                          'embedded HSS, refused by a driver whose secrets '
                          'stay in the operator\'s HLR ([hss] driver = '
                          'gsup), which only maps the IMSI to --plan')
    secret = add.add_mutually_exclusive_group()
    secret.add_argument('--opc', metavar='HEX32', help='OPc (128 bits)')
    secret.add_argument('--op', metavar='HEX32',
                        help='operator variant OP; OPc is derived and only '
                             'OPc is stored')
    add.add_argument('--sqn', metavar='HEX12',
                     help='last SQN issued (default 0); the next challenge '
                          'uses a higher one')
    add.add_argument('--amf', metavar='HEX4',
                     help='authentication management field (default: '
                          '[hss] amf of vdesk.conf, itself 8000 by default)')
    add.add_argument('--plan', metavar='NAME', help='subscription plan')
    show = sub_cmds.add_parser('show', help='show a subscriber (no secrets)')
    show.add_argument('imsi')
    listing = sub_cmds.add_parser('list',
                                  help='list subscribers (no secrets)')
    listing.add_argument('--limit', type=_positive('--limit'), default=1000,
                         help='at most this many (default 1000)')
    listing.add_argument('--marker', metavar='IMSI',
                         help='list IMSIs after this one (paging)')

    plan = commands.add_parser('plan', help='subscription plans')
    plan_cmds = plan.add_subparsers(dest='action', required=True)
    padd = plan_cmds.add_parser('add', help='define a plan')
    padd.add_argument('name')
    padd.add_argument('--vcpus', required=True, type=_positive('--vcpus'))
    padd.add_argument('--ram-mb', required=True, type=_positive('--ram-mb'))
    padd.add_argument('--disk-gb', required=True,
                      type=_positive('--disk-gb'))
    padd.add_argument('--priority', required=True, metavar='TIER')
    padd.add_argument('--image', metavar='REF',
                      help='Glance image name or ID of the desktop')
    plan_cmds.add_parser('list', help='list plans')

    desktop_commands.add_parsers(commands)

    config = commands.add_parser(
        'config', help='what a deployment sets in each service\'s '
        'configuration')
    config_cmds = config.add_subparsers(dest='action', required=True)
    render = config_cmds.add_parser(
        'render', help='print "section option value" lines (ini targets), '
        'a YAML document (Ceilometer\'s event pipeline and definitions, '
        'Keystone\'s policy, Kerbside\'s sources, Nova\'s policy) or '
        'NAME=value lines (Kerbside\'s settings)')
    render.add_argument('--target', required=True,
                        choices=(deploy.TARGETS + YAML_TARGETS +
                                 deploy.KERBSIDE_TARGETS + (QEMU_TARGET,)))
    render.add_argument('--current', metavar='FILE',
                        help='the target file as it is now: its lists '
                             '(auth methods, filters, pipeline sinks...) '
                             'are extended, not replaced')
    _deployment_arguments(render)
    certs = config_cmds.add_parser(
        'kerbside-certificates', help='make a CA and the certificate of '
        'Kerbside\'s SPICE proxy (for --kerbside-public-host and every '
        '--host) in --kerbside-dir')
    certs.add_argument('--host', action='append', default=[],
                       help='another name or address of the proxy')
    _deployment_arguments(certs)
    _charging_arguments(commands)
    spice = config_cmds.add_parser(
        'spice-certificates', help='make a hypervisor\'s SPICE TLS '
        'certificate (for every --host: the addresses Nova gives for it), '
        'signed by the CA in --kerbside-dir, into --spice-tls-dir')
    spice.add_argument('--host', action='append', default=[],
                       help='a name or address of the hypervisor')
    spice.add_argument('--owner', help='USER owning the key (QEMU\'s)')
    _deployment_arguments(spice)
    return parser


def _charging_arguments(commands):
    charging = commands.add_parser('charging', help='charging records')
    charging_cmds = charging.add_subparsers(dest='action', required=True)
    parked_cmd = charging_cmds.add_parser(
        'parked', help='records the charging server refused for good')
    parked_cmds = parked_cmd.add_subparsers(dest='parked_action',
                                            required=True)
    listing = parked_cmds.add_parser('list', help='list parked records')
    again = parked_cmds.add_parser(
        'replay', help='send parked records again (run it as the '
        'notification agent\'s user once the cause is fixed)')
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument('--all', action='store_true',
                       help='every parked record that can be replayed')
    which.add_argument('ids', nargs='*', default=[], metavar='ID',
                       help='record ids, as "list" shows them')
    for cmd in (listing, again):
        cmd.add_argument('--spool', metavar='DIR',
                         help='the publisher\'s spool directory (default: '
                              '[vdesk_diameter] spool_dir of the '
                              '--config-file, or of Ceilometer\'s '
                              'ceilometer.conf)')


def _deployment_arguments(parser):
    for field in dataclasses.fields(deploy.Deployment):
        env = SECRET_ENV.get(field.name)
        parser.add_argument(
            '--' + field.name.replace('_', '-'), dest=field.name,
            type=int if field.type is int else str,
            default=os.environ.get(env) if env else field.default,
            help='default: %s' % ('$' + env if env else field.default))
    return parser


def _subscriber_map(driver, args):
    # The secrets stay in the operator's HLR: only the IMSI -> plan map.
    given = [name for name in ('k', 'opc', 'op', 'sqn', 'amf')
             if getattr(args, name) is not None]
    if given:
        raise CliError(
            'the %s HSS driver keeps K, OPc and the SQN in the operator\'s '
            'HLR: provision them there, and map the subscriber here with '
            '--imsi and --plan only (not %s)'
            % (driver.conf.hss.driver,
               ', '.join('--' + name for name in given)))
    if not args.plan:
        # The map is what makes a SIM of the HLR a subscriber here: an
        # IMSI without a plan would only ever get decoy challenges.
        raise CliError('the %s HSS driver needs --plan: only IMSIs mapped '
                       'to a plan can log in' % driver.conf.hss.driver)
    imsi = validation.imsi(args.imsi)
    plan = validation.plan_name(args.plan)
    return driver.add_subscriber(imsi, plan=plan).to_dict()


def _subscriber_add(driver, args):
    if not getattr(driver, 'keeps_secrets', True):
        return _subscriber_map(driver, args)
    if args.k is None:
        raise CliError('the arguments --k and one of --opc --op are '
                       'required by the %s HSS driver'
                       % driver.conf.hss.driver)
    if args.opc is None and args.op is None:
        raise CliError('one of the arguments --opc --op is required')
    imsi = validation.imsi(args.imsi)
    k = validation.hex_bytes(args.k, 16, '--k')
    if args.opc is not None:
        opc = validation.hex_bytes(args.opc, 16, '--opc')
    else:
        opc = milenage.opc(k, validation.hex_bytes(args.op, 16, '--op'))
    sqn = int.from_bytes(validation.hex_bytes(args.sqn or '000000000000', 6,
                                              '--sqn'), 'big')
    amf = validation.hex_bytes(args.amf or driver.conf.hss.amf, 2, '--amf')
    plan = validation.plan_name(args.plan) if args.plan else None
    return driver.add_subscriber(imsi, k, opc, sqn=sqn, amf=amf,
                                 plan=plan).to_dict()


def _plan_add(driver, args):
    plan = api.Plan(name=validation.plan_name(args.name), vcpus=args.vcpus,
                    ram_mb=args.ram_mb, disk_gb=args.disk_gb,
                    priority=validation.tier(args.priority),
                    image=args.image or None)
    return driver.add_plan(plan).to_dict()


def _config_render(args):
    values = {field.name: getattr(args, field.name)
              for field in dataclasses.fields(deploy.Deployment)}
    deployment = deploy.Deployment(**values)
    try:
        if args.action == 'kerbside-certificates':
            if not deployment.kerbside_public_host:
                raise ValueError('give --kerbside-public-host')
            os.makedirs(deployment.kerbside_dir, exist_ok=True)
            print(deploy.kerbside_certificates(
                deployment.kerbside_dir,
                [deployment.kerbside_public_host] + args.host))
        elif args.action == 'spice-certificates':
            print(_spice_certificates(deployment, args))
        elif args.target == QEMU_TARGET:
            for option, value in deploy.qemu_spice_tls(deployment):
                print('%s = %s' % (option, value))
        elif args.target == 'event-pipeline':
            print(deploy.dump_yaml(deploy.event_pipeline(
                deployment, deploy.read_yaml(args.current))), end='')
        elif args.target == 'keystone-policy':
            print(deploy.dump_yaml(subscriber_rights.keystone_policy(
                deployment.subscriber_role,
                deploy.read_yaml(args.current))), end='')
        elif args.target == 'event-definitions':
            print(deploy.dump_yaml(deploy.event_definitions(
                deploy.read_yaml(args.current))), end='')
        elif args.target == 'kerbside-sources':
            # Quoted: Kerbside reads every value as a string (a password
            # such as 123 or yes must stay one).
            print(deploy.dump_yaml(deploy.kerbside_sources(deployment),
                                   quoted=True), end='')
        elif args.target == 'nova-policy':
            print(deploy.dump_yaml(deploy.nova_policy(
                deploy.read_yaml(args.current))), end='')
        elif args.target == 'kerbside-env':
            for line in deploy.render_env(deploy.kerbside_environment(
                    deployment, deploy.read_env(args.current))):
                print(line)
        else:
            settings = deploy.settings_for(args.target, deployment,
                                           deploy.read_ini(args.current))
            for line in deploy.render_lines(settings):
                print(line)
    except (ValueError, OSError) as e:
        raise CliError(str(e)) from None


def _require_desktops_database(conf, args):
    """Refuse to touch the desktop schema on a built-in default database.

    Without ``[database] connection`` the desktop service would fall back on
    a sqlite file an operator never chose (and that two hosts cannot share);
    say so plainly instead of failing inside sqlite.
    """
    if args.schema not in ('all', 'desktops'):
        return
    where = conf.get_location('connection', group='database')
    if where is None or where.location == cfg.Locations.opt_default:
        files = ', '.join(args.config_file) or 'no configuration file given'
        raise CliError(
            'the desktop service\'s database is not configured: set '
            '[database] connection in vdesk.conf (read: %s), or run '
            '"db %s --schema hss" for the HSS alone' % (files, args.action))


def _spice_certificates(deployment, args):
    if not args.host:
        raise ValueError('give --host (the hypervisor\'s SPICE address)')
    owner = None
    if args.owner:
        import pwd
        try:
            user = pwd.getpwnam(args.owner)
        except KeyError:
            raise ValueError('no user %s' % args.owner) from None
        owner = (user.pw_uid, user.pw_gid)
    return deploy.spice_certificates(deployment.kerbside_dir,
                                     deployment.spice_tls_dir, args.host,
                                     owner=owner)


def _db(conf, driver, args):
    _require_desktops_database(conf, args)
    result = {}
    if args.action == 'sync':
        if args.schema in ('all', 'hss'):
            created = driver.db_sync()
            result.update(schema='up to date', key_file=conf.hss.key_file,
                          key_created=created)
        if args.schema in ('all', 'desktops'):
            store = desktops_db.DesktopStore(conf)
            store.db_sync()
            store.engine.dispose()
            result['desktops_schema'] = 'up to date'
        return result
    from vdesk_openstack.hss.sql import migration
    if args.schema in ('all', 'hss'):
        result['revision'] = migration.current_revision(driver.engine)
    if args.schema in ('all', 'desktops'):
        store = desktops_db.DesktopStore(conf)
        result['desktops_revision'] = store.current_revision()
        store.engine.dispose()
    return result


def _charging(args):
    try:
        spool = args.spool or parked.spool_dir_from_config(args.config_file)
        if args.parked_action == 'list':
            return parked.list_parked(spool)
        return parked.replay(spool, None if args.all else args.ids)
    except (parked.ParkedError, OSError) as e:
        raise CliError(str(e)) from None


def run(args):
    if args.category == 'config':
        return _config_render(args)
    if args.category == 'charging':
        print(json.dumps(_charging(args), indent=2, sort_keys=True))
        return
    conf = vdesk_conf.make_vdesk_conf(args.config_file)
    # A command-line tool should say at once that the database is down,
    # not retry for minutes like a service; a value set in the file wins.
    conf.set_default('max_retries', 0, group='hss')
    conf.set_default('max_retries', 0, group='database')
    driver = hss.get_driver(conf)
    action = (args.category, args.action)
    if args.category == 'db':
        result = _db(conf, driver, args)
    elif args.category == 'desktop':
        result = desktop_commands.run(conf, args)
    elif action == ('subscriber', 'add'):
        result = _subscriber_add(driver, args)
    elif action == ('subscriber', 'show'):
        result = driver.get_subscriber(validation.imsi(args.imsi)).to_dict()
    elif action == ('subscriber', 'list'):
        marker = validation.imsi(args.marker) if args.marker else None
        result = [s.to_dict() for s in driver.list_subscribers(
            limit=args.limit, marker=marker)]
    elif action == ('plan', 'add'):
        result = _plan_add(driver, args)
    elif action == ('plan', 'list'):
        result = [p.to_dict() for p in driver.list_plans()]
    else:  # pragma: no cover - argparse only accepts the above
        raise CliError('unknown command')
    print(json.dumps(result, indent=2, sort_keys=True))


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        run(args)
    except (exceptions.HssError, desktop_exc.DesktopError, CliError) as e:
        print('vdesk-manage: error: %s' % e, file=sys.stderr)
        return EXIT_USAGE
    except cfg.Error as e:
        print('vdesk-manage: configuration error: %s' % e, file=sys.stderr)
        return EXIT_USAGE
    except db_exc.DBError as e:
        print('vdesk-manage: database error: %s' % _first_line(e),
              file=sys.stderr)
        return EXIT_USAGE
    return 0


def _first_line(error):
    inner = getattr(error, 'inner_exception', None) or error
    return (str(inner).strip().splitlines() or ['unknown'])[0]


if __name__ == '__main__':
    sys.exit(main())
