"""Time to an active desktop after a SIM login, with and without pre-warm.

Everything is real but Nova's hypervisor: a Keystone with the ``aka``
method announcing SIM logins on RabbitMQ, Nova's services from its
functional harness (API, conductor, scheduler with our filter and
weigher, Placement, fake computes), the desktop manager over openstacksdk,
and -- for pre-warm -- the engine's login listener. Each round starts from
a released desktop (SHELVED_OFFLOADED) and times what the UE sees: from
the start of its AKA login until its desktop session is ACTIVE, asking
for the desktop ``gap`` seconds after the token arrived (0 s: at once; 2 s:
a UE that shows its home screen first) and polling every 0.1 s.

Without pre-warm, the restore starts when the UE asks; with it, when
Keystone announces the login, so the gap is no longer dead time. The
saving is bounded by the restore time, which in Nova's harness (fake
computes spawn at once) is far shorter than in a real cloud, where
unshelving an offloaded instance copies its image back to a host; a last
round models that with fake computes whose spawn takes
``VDESK_BENCH_SPAWN_S`` seconds (default 5).
"""

import os
import socket
import statistics
import tempfile
import textwrap
import time
import uuid

# First: Nova's harness must be imported before anything imports eventlet.
from vdesk_openstack.sandbox import nova as nova_sandbox  # noqa: I100

from keystoneauth1 import session as ks_session
from nova.virt import fake as fake_virt
import oslo_messaging

from vdesk_openstack.client import v3aka
from vdesk_openstack import conf as vdesk_conf
from vdesk_openstack.desktops import compute
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import listener as listener_mod
from vdesk_openstack.desktops import locks
from vdesk_openstack.desktops import manager as manager_mod
from vdesk_openstack.desktops import states
from vdesk_openstack.sandbox import aio

RABBIT = 'rabbit://guest:guest@127.0.0.1:5672/'
SUBSCRIBERS = 3
GAPS = (0.0, 2.0)
POLL = 0.1


class _Bench(object):

    def __init__(self):
        self.identity = aio.AllInOne(notification_url=RABBIT)
        self.nova = nova_sandbox.NovaSandbox(hosts=2)
        self.workdir = tempfile.mkdtemp(prefix='bench-prewarm-')
        self.listener = None

    def start(self):
        self.identity.start()
        self.nova.start()
        conf_file = os.path.join(self.workdir, 'vdesk.conf')
        with open(conf_file, 'w') as f:
            f.write(textwrap.dedent('''\
                [oslo_messaging_notifications]
                driver = noop
                [hss]
                connection = sqlite:///{hss}/hss.sqlite
                key_file = {hss}/hss.key
                [database]
                connection = sqlite:///{w}/desktops.sqlite
                [coordination]
                backend_url = file://{w}/locks
                [desktops]
                default_image = {image}
                network = none
                ''').format(hss=self.identity.workdir, w=self.workdir,
                            image=self.nova.image_id))
        self.conf = vdesk_conf.make_vdesk_conf([conf_file])
        store = db_api.DesktopStore(self.conf)
        store.db_sync()
        self.manager = manager_mod.DesktopManager(
            self.conf, store, self.identity.hss,
            compute.Compute(self.nova.connection(), self.conf),
            locks.SubscriberLocks(self.conf))
        # Pre-warms that set Nova to work: a figure "with pre-warm" means
        # nothing if the listener's pre-warms were all refused.
        self.prewarmed = 0
        prewarm = self.manager.prewarm

        def counting_prewarm(*args, **kwargs):
            done = prewarm(*args, **kwargs)
            self.prewarmed += bool(done)
            return done
        self.manager.prewarm = counting_prewarm
        self.transport = oslo_messaging.get_notification_transport(
            self.conf, url=RABBIT)
        return self

    def stop(self):
        self.prewarm(False)
        self.transport.cleanup()
        self.manager.locks.stop()
        self.nova.stop()
        self.identity.stop()

    def prewarm(self, on):
        if on and self.listener is None:
            self.listener = listener_mod.start_logins(
                self.conf, self.manager, self.transport,
                pool='vdesk-bench-%s' % uuid.uuid4().hex)
        elif not on and self.listener is not None:
            listener_mod.stop(self.listener)
            self.listener = None

    def released_desktop(self):
        sim = self.identity.provision(plan='bronze')
        # The desktop is bound to the Keystone user of the first SIM login:
        # Keystone's announcements name that user, and pre-warm refuses
        # any other.
        sim.user_id = self.sim_login(sim)
        self.manager.login(sim.imsi, sim.user_id, {})
        self.manager.wait_for(sim.imsi, states.ACTIVE)
        self.release(sim)
        return sim

    def release(self, sim):
        self.manager.logout(sim.imsi)
        self.manager.wait_for(sim.imsi, states.ENDED)
        instance = self.manager.store.get_desktop(sim.imsi)['instance_id']
        deadline = time.monotonic() + 60
        while self.nova.server(instance)['status'] != 'SHELVED_OFFLOADED':
            if time.monotonic() > deadline:
                raise RuntimeError('desktop of %s not offloaded' % sim.imsi)
            time.sleep(0.2)

    def sim_login(self, sim):
        auth = v3aka.V3Aka(
            self.identity.url, imsi=sim.imsi, k=sim.k, opc=sim.opc,
            project_name='subscribers', project_domain_name='vdesk',
            usim_state_file=os.path.join(self.workdir,
                                         'usim-%s.json' % sim.imsi),
            capabilities={'client': 'browser'})
        session = ks_session.Session(auth=auth)
        session.get_token()
        return session.get_user_id()

    def time_to_active(self, sim, gap):
        started = time.monotonic()
        self.sim_login(sim)
        if gap:
            time.sleep(gap)
        session = self.manager.login(sim.imsi, sim.user_id,
                                     {'client': 'browser'})
        while session['status'] != states.ACTIVE:
            if session['status'] == states.ERROR or \
                    time.monotonic() - started > 120:
                raise RuntimeError('session of %s is %s' % (
                    sim.imsi, session['status']))
            time.sleep(POLL)
            session = self.manager.get_session(sim.imsi)
        elapsed = time.monotonic() - started
        if not session['restored']:
            raise RuntimeError('desktop of %s was not restored' % sim.imsi)
        self.release(sim)
        return elapsed


def main():
    try:
        socket.create_connection(('127.0.0.1', 5672), 1).close()
    except OSError:
        print('RabbitMQ is not running on 127.0.0.1:5672; skipped')
        return
    spawn_s = float(os.environ.get('VDESK_BENCH_SPAWN_S', 5))
    scenarios = [(gap, 0.0) for gap in GAPS] + [(GAPS[-1], spawn_s)]
    bench = _Bench().start()
    real_spawn = fake_virt.FakeDriver.spawn
    try:
        sims = [bench.released_desktop() for _ in range(SUBSCRIBERS)]
        figures = {}
        for gap, spawn in scenarios:
            fake_virt.FakeDriver.spawn = _slow(real_spawn, spawn)
            # Interleaved, so machine noise hits both modes alike.
            for prewarm in (False, True, False, True):
                bench.prewarm(prewarm)
                before = bench.prewarmed
                figures.setdefault((gap, spawn, prewarm), []).extend(
                    bench.time_to_active(sim, gap) for sim in sims)
                if prewarm and bench.prewarmed - before != len(sims):
                    raise RuntimeError(
                        'only %d of %d SIM logins were pre-warmed'
                        % (bench.prewarmed - before, len(sims)))
        bench.prewarm(False)
    finally:
        fake_virt.FakeDriver.spawn = real_spawn
        bench.stop()
    for gap, spawn in scenarios:
        cold = statistics.median(figures[(gap, spawn, False)])
        warm = statistics.median(figures[(gap, spawn, True)])
        print('UE asks %.0f s after its token, %s: time to active '
              'desktop median %.2f s without pre-warm, %.2f s with (%d '
              'runs each): saves %.2f s (%.0f %%)' % (
                  gap, 'spawn modelled at %.0f s' % spawn if spawn
                  else 'harness spawn', cold, warm,
                  len(figures[(gap, spawn, False)]), cold - warm,
                  100.0 * (cold - warm) / cold), flush=True)


def _slow(spawn, seconds):
    """FakeDriver.spawn that takes ``seconds`` (an image copy, say)."""
    if not seconds:
        return spawn

    def slow_spawn(self, *args, **kwargs):
        time.sleep(seconds)
        return spawn(self, *args, **kwargs)
    return slow_spawn
