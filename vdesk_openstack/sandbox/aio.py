"""The all-in-one sandbox: embedded HSS + a real Keystone with ``aka``.

:class:`AllInOne` is what ``vdesk-sandbox`` runs and what the functional
tests share: a sqlite HSS provisioned through the same driver
``vdesk-manage`` uses, and Keystone deployed with ``keystone-manage`` and
served over HTTP by gunicorn worker processes, everything in one temporary
directory that :meth:`AllInOne.stop` removes.
"""

import os
import shutil
import tempfile
import textwrap

from vdesk_openstack.aka import milenage
from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack import hss
from vdesk_openstack.hss import api as hss_api
from vdesk_openstack.sandbox import keystone
from vdesk_openstack.sandbox import net
from vdesk_openstack.sandbox import private

PLANS = (
    hss_api.Plan(name='gold', vcpus=2, ram_mb=4096, disk_gb=20,
                 priority='gold'),
    hss_api.Plan(name='silver', vcpus=2, ram_mb=2048, disk_gb=10,
                 priority='silver'),
    hss_api.Plan(name='bronze', vcpus=1, ram_mb=1024, disk_gb=10,
                 priority='bronze'),
)
PLAN = PLANS[0]


class Subscriber(object):
    """Test SIM: IMSI, K, OPc (hex)."""

    def __init__(self, imsi, k, opc, plan=None):
        self.imsi, self.k, self.opc, self.plan = imsi, k, opc, plan


def make_subscriber(index):
    """A demo SIM with fresh random K and OP; IMSIs 001010000000001, ..."""
    k = os.urandom(16)
    op = os.urandom(16)
    return Subscriber('0010100%08d' % index, k.hex(),
                      milenage.opc(k, op).hex())


class AllInOne(object):

    def __init__(self, challenge_ttl=60, notification_url=None,
                 aka_options=None):
        self.workdir = tempfile.mkdtemp(prefix='vdesk-ks-')
        self.vdesk_conf_file = os.path.join(self.workdir, 'vdesk.conf')
        with os.fdopen(private.open_fd(self.vdesk_conf_file), 'w') as f:
            f.write(textwrap.dedent('''\
                [hss]
                connection = sqlite:///{w}/hss.sqlite
                key_file = {w}/hss.key
                ''').format(w=self.workdir))
        self.hss = hss.get_driver(
            vdesk_conf.make_vdesk_conf([self.vdesk_conf_file]))
        self.hss.db_sync()
        for plan in PLANS:
            self.hss.add_plan(plan)
        self.deployment = keystone.KeystoneDeployment(
            os.path.join(self.workdir, 'keystone'), self.vdesk_conf_file,
            challenge_ttl=challenge_ttl, notification_url=notification_url,
            aka_options=aka_options)
        self._count = 0

    def start(self):
        try:
            # The catalog must hold Keystone's real URL: services behind
            # keystonemiddleware find Keystone through it.
            port = net.free_port()
            self.deployment.setup(
                public_url='http://127.0.0.1:%d/v3' % port)
            self.server = self.deployment.start(port=port)
            self.url = self.server.url
            self.deployment.create_subscriber_project(self.url)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        self.deployment.stop()
        self.hss.engine.dispose()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def provision(self, sqn=0, plan=None):
        """Add a demo subscriber; plans rotate gold, silver, bronze."""
        self._count += 1
        sub = make_subscriber(self._count)
        plan = plan or PLANS[(self._count - 1) % len(PLANS)].name
        self.hss.add_subscriber(sub.imsi, bytes.fromhex(sub.k),
                                bytes.fromhex(sub.opc), sqn=sqn, plan=plan)
        sub.plan = plan
        return sub

    def log_text(self):
        parts = []
        for name in sorted(os.listdir(self.deployment.workdir)):
            if name.endswith('.log'):
                with open(os.path.join(self.deployment.workdir, name),
                          errors='replace') as f:
                    parts.append(f.read())
        return '\n'.join(parts)
