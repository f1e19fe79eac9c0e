"""The budget of unclaimed pre-warms (pure arithmetic)."""

import datetime

from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from vdesk_openstack.conf import desktops as desktops_conf
from vdesk_openstack.desktops import prewarm

NOW = datetime.datetime(2026, 12, 8, 12, 0, 0)
HOUR = datetime.timedelta(hours=1)


class BudgetTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        desktops_conf.register_opts(self.conf)
        self.conf([], project='vdesk-unit')
        self.fixture = self.useFixture(config_fixture.Config(self.conf))
        self.fixture.config(group='desktops', prewarm_max_unclaimed=2,
                            prewarm_window=86400)

    def spend(self, desktop, now):
        return dict(desktop, **prewarm.spent(desktop, now, self.conf))

    def test_defaults_bound_free_time(self):
        conf = cfg.ConfigOpts()
        desktops_conf.register_opts(conf)
        conf([], project='vdesk-unit')
        self.assertEqual((60, 3, 86400), (
            conf.desktops.prewarm_timeout,
            conf.desktops.prewarm_max_unclaimed,
            conf.desktops.prewarm_window))

    def test_budget_spent_within_the_window(self):
        desktop = {'unclaimed_prewarms': 0, 'unclaimed_since': None}
        self.assertTrue(prewarm.allowed(desktop, NOW, self.conf))
        desktop = self.spend(desktop, NOW)
        self.assertEqual((1, NOW), (desktop['unclaimed_prewarms'],
                                    desktop['unclaimed_since']))
        self.assertTrue(prewarm.allowed(desktop, NOW + HOUR, self.conf))
        desktop = self.spend(desktop, NOW + HOUR)
        self.assertEqual((2, NOW), (desktop['unclaimed_prewarms'],
                                    desktop['unclaimed_since']))
        self.assertFalse(prewarm.allowed(desktop, NOW + 23 * HOUR,
                                         self.conf))
        # A new window starts with the next unclaimed pre-warm.
        later = NOW + 24 * HOUR
        self.assertTrue(prewarm.allowed(desktop, later, self.conf))
        desktop = self.spend(desktop, later)
        self.assertEqual((1, later), (desktop['unclaimed_prewarms'],
                                      desktop['unclaimed_since']))

    def test_zero_disables_prewarm(self):
        self.fixture.config(group='desktops', prewarm_max_unclaimed=0)
        self.assertFalse(prewarm.allowed(
            {'unclaimed_prewarms': 0, 'unclaimed_since': None}, NOW,
            self.conf))
