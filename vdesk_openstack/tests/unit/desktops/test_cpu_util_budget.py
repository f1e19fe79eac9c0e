"""Interim records' cpu_util: Nova diagnostics within a rate budget."""

import datetime
import json
import threading
import types
from unittest import mock

from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from vdesk_openstack.conf import desktops as desktops_conf
from vdesk_openstack.desktops import accounting
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import manager as manager_mod
from vdesk_openstack.desktops import states

PLAN = types.SimpleNamespace(vcpus=2, ram_mb=2048, disk_gb=10,
                             priority='silver')


class FakeClock(object):

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class RateBudgetTest(testtools.TestCase):

    def test_a_second_of_burst_then_the_rate(self):
        clock = FakeClock()
        budget = accounting.RateBudget(5, clock=clock)
        self.assertEqual([True] * 5 + [False],
                         [budget.take() for _ in range(6)])
        clock.now += 0.2            # one token back at 5/s
        self.assertEqual([True, False], [budget.take(), budget.take()])
        clock.now += 3600           # never more than a second's worth
        self.assertEqual(5, sum(budget.take() for _ in range(20)))

    def test_a_slow_rate_still_allows_one(self):
        clock = FakeClock()
        budget = accounting.RateBudget(0.5, clock=clock)
        self.assertEqual([True, False], [budget.take(), budget.take()])
        clock.now += 1.0
        self.assertFalse(budget.take())
        clock.now += 1.0
        self.assertTrue(budget.take())

    def test_zero_never_gives(self):
        budget = accounting.RateBudget(0)
        self.assertFalse(any(budget.take() for _ in range(10)))

    def test_threads_never_overspend(self):
        clock = FakeClock()         # frozen: no refill during the race
        budget = accounting.RateBudget(100, clock=clock)
        taken = []
        barrier = threading.Barrier(8)

        def worker():
            barrier.wait()
            taken.append(sum(budget.take() for _ in range(50)))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(100, sum(taken))


class InterimCpuUtilTest(testtools.TestCase):

    def manager(self, rate):
        conf = cfg.ConfigOpts()
        desktops_conf.register_opts(conf)
        conf([], project='vdesk-unit')
        self.useFixture(config_fixture.Config(conf))
        conf.set_override('cpu_util_rate', rate, group='charging')
        self.store = mock.Mock()
        self.store.get_desktop_by_id.return_value = {
            'id': 'd1', 'subscriber': '001010000000001',
            'instance_id': 'i1'}
        self.store.charge_interim.return_value = True
        self.compute = mock.Mock(project_id='p1')
        self.compute.cpu_seconds.return_value = 60.0
        self.hss = mock.Mock()
        self.hss.get_plan.return_value = PLAN
        return manager_mod.DesktopManager(conf, self.store, self.hss,
                                          self.compute, mock.Mock())

    def session(self, active_for=600):
        active_at = db_api.utcnow() - datetime.timedelta(
            seconds=active_for)
        return {'id': 's%d' % active_for, 'subscriber': '001010000000001',
                'desktop_id': 'd1', 'charging': states.CHARGING_STARTED,
                'active_at': active_at, 'last_interim_at': None}

    def interim_cpu_utils(self, manager, count):
        for _ in range(count):
            self.assertTrue(manager.interim(self.session()))
        return [json.loads(c.args[3]['payload'])['cpu_util']
                for c in self.store.charge_interim.call_args_list]

    def test_cpu_util_is_the_share_of_the_plans_vcpus(self):
        manager = self.manager(rate=10)
        [util] = self.interim_cpu_utils(manager, 1)
        # 60 CPU seconds over ~600 s on 2 vCPUs.
        self.assertAlmostEqual(5.0, util, delta=0.1)
        self.compute.cpu_seconds.assert_called_once_with('i1')
        # One plan lookup per record, not one per figure.
        self.assertEqual(1, self.hss.get_plan.call_count)

    def test_records_beyond_the_budget_go_without_cpu_util(self):
        manager = self.manager(rate=3)
        utils = self.interim_cpu_utils(manager, 10)
        self.assertEqual(3, self.compute.cpu_seconds.call_count)
        self.assertEqual(3, len([u for u in utils if u is not None]))
        self.assertEqual([None] * 7, utils[3:])

    def test_zero_rate_asks_nova_nothing(self):
        manager = self.manager(rate=0)
        self.assertEqual([None] * 4, self.interim_cpu_utils(manager, 4))
        self.compute.cpu_seconds.assert_not_called()
