"""Keystone with the ``aka`` method for tests and benchmarks.

:func:`start_keystone` serves another Keystone of a sandbox deployment
with [vdesk_aka] options of its own (rate bounds, vdesk.conf);
:func:`all_in_one` builds the sandbox on sqlite or on MariaDB (Keystone's
database and the HSS both), as an operator would run it.
"""

import os
import uuid

import sqlalchemy as sa

from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack import deploy
from vdesk_openstack import hss
from vdesk_openstack.sandbox import aio
from vdesk_openstack.sandbox import keystone

MARIADB = 'mysql+pymysql://openstack_citest:openstack_citest@127.0.0.1'


def start_keystone(deployment, workers=1, vdesk_config_file=None,
                   **aka_options):
    """Another Keystone server of ``deployment`` with its own [vdesk_aka].

    It shares the Keystone database and keys, and the HSS database, with
    the deployment's other servers (nodes behind one load balancer).
    """
    path = os.path.join(deployment.workdir,
                        'keystone-%s.conf' % uuid.uuid4().hex[:8])
    deployment.write_config(path)
    if vdesk_config_file:
        aka_options['vdesk_config_file'] = vdesk_config_file
    with open(path, 'a') as f:
        # A second [vdesk_aka] section: oslo.config merges it, later
        # values win.
        f.write('[vdesk_aka]\n')
        for name, value in aka_options.items():
            f.write('%s = %s\n' % (name, value))
    original, deployment.config_file = deployment.config_file, path
    try:
        return deployment.start(workers=workers)
    finally:
        deployment.config_file = original


def start_keystone_with_policy(deployment, policy, workers=1):
    """Another Keystone server of ``deployment`` with its own policy.

    ``policy`` (rule -> check string) replaces the deployment's Keystone
    policy file on this server: ``{}`` gives Keystone's defaults, as a
    deployment that installs no policy file runs.
    """
    name = 'keystone-%s' % uuid.uuid4().hex[:8]
    policy_file = os.path.join(deployment.workdir, name + '-policy.yaml')
    with open(policy_file, 'w') as f:
        f.write(deploy.dump_yaml(policy))
    path = os.path.join(deployment.workdir, name + '.conf')
    deployment.write_config(path)
    with open(path, 'a') as f:
        # A second [oslo_policy] section: later values win.
        f.write('[oslo_policy]\npolicy_file = %s\n' % policy_file)
    original, deployment.config_file = deployment.config_file, path
    try:
        return deployment.start(workers=workers)
    finally:
        deployment.config_file = original


class _MariaDbDeployment(keystone.KeystoneDeployment):
    """The sandbox's Keystone, its database on MariaDB."""

    database_url = None

    def write_config(self, path=None, **aka_overrides):
        super().write_config(path, **aka_overrides)
        path = path or self.config_file
        with open(path) as f:
            text = f.read()
        text = text.replace(
            'connection = sqlite:///%s/keystone.sqlite' % self.workdir,
            'connection = %s' % self.database_url)
        with open(path, 'w') as f:
            f.write(text)


def _fresh_database(name):
    engine = sa.create_engine(MARIADB)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql('DROP DATABASE IF EXISTS %s' % name)
            conn.exec_driver_sql('CREATE DATABASE %s CHARACTER SET utf8mb4'
                                 % name)
    finally:
        engine.dispose()
    return '%s/%s?charset=utf8mb4' % (MARIADB, name)


def drop_databases(system):
    engine = sa.create_engine(MARIADB)
    try:
        with engine.begin() as conn:
            for name in getattr(system, 'mariadb_names', ()):
                conn.exec_driver_sql('DROP DATABASE IF EXISTS %s' % name)
    finally:
        engine.dispose()


def all_in_one(backend='sqlite'):
    """An unstarted :class:`aio.AllInOne` on ``backend`` (sqlite, mariadb).

    On MariaDB, Keystone and the HSS get fresh databases of their own;
    :func:`drop_databases` removes them.
    """
    system = aio.AllInOne()
    if backend == 'sqlite':
        return system
    if backend != 'mariadb':
        raise ValueError('unknown backend %r' % backend)
    suffix = uuid.uuid4().hex[:8]
    system.mariadb_names = ('vdesk_bench_ks_' + suffix,
                            'vdesk_bench_hss_' + suffix)
    ks_url = _fresh_database(system.mariadb_names[0])
    hss_url = _fresh_database(system.mariadb_names[1])
    with open(system.vdesk_conf_file) as f:
        text = f.read()
    text = '\n'.join(
        'connection = %s' % hss_url if line.startswith('connection =')
        else line for line in text.splitlines()) + '\n'
    with open(system.vdesk_conf_file, 'w') as f:
        f.write(text)
    system.hss.engine.dispose()
    system.hss = hss.get_driver(
        vdesk_conf.make_vdesk_conf([system.vdesk_conf_file]))
    system.hss.db_sync()
    for plan in aio.PLANS:
        system.hss.add_plan(plan)
    deployment = _MariaDbDeployment(
        system.deployment.workdir, system.vdesk_conf_file)
    deployment.database_url = ks_url
    system.deployment = deployment
    return system
