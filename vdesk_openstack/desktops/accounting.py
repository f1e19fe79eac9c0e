"""Charging of desktop sessions: which record, when, with which figures.

The desktop manager decides when a session starts, lives and ends; this
module builds the charging record of each step (Start, Interim-Update,
Stop) and has the store write it into the charging outbox in the same
transaction as the session change it charges
(:mod:`vdesk_openstack.desktops.outbox` delivers it). The interim records'
CPU utilisation comes from Nova's server diagnostics within a rate budget
(``[charging] cpu_util_rate``).
"""

import threading
import time

from oslo_log import log as logging

from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import states
from vdesk_openstack.hss import exceptions as hss_exc

LOG = logging.getLogger(__name__)


def seconds_between(start, end):
    if start is None or end is None:
        return 0
    return max(0.0, (end - start).total_seconds())


class RateBudget(object):
    """A token bucket: at most ``rate`` takes per second, never waiting.

    Holds up to one second's worth of tokens, so a pass that finds many
    sessions due at once spends at most that burst. Thread-safe.
    """

    def __init__(self, rate, clock=time.monotonic):
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate)
        self._clock = clock
        self._tokens = self.capacity
        self._last = clock()
        self._lock = threading.Lock()

    def take(self):
        """True if a token was left (and is now spent)."""
        if self.rate <= 0:
            return False
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens
                               + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True


class Accounting(object):
    """The charging records of the sessions of one desktop service."""

    def __init__(self, conf, store, hss, compute, delivery=None):
        self.conf = conf
        self.store = store
        self.hss = hss
        self.compute = compute
        # The outbox's delivery, when it runs in this process.
        self.delivery = delivery
        # Nova diagnostics requests for interim records' cpu_util.
        self.diagnostics = RateBudget(conf.charging.cpu_util_rate)

    def plan_or_none(self, subscriber):
        """The subscriber's plan, or None when the HSS cannot say."""
        try:
            return self.hss.get_plan(subscriber)
        except hss_exc.HssError:
            return None

    def record(self, event_type, session, desktop, now, plan=None,
               **kwargs):
        """The outbox row of ``event_type`` for ``session`` at ``now``."""
        if plan is None:
            plan = self.plan_or_none(session['subscriber'])
        desktop = dict(desktop, project_id=self.compute.project_id)
        return charging.record(event_type, session, desktop, plan, now,
                               **kwargs)

    def queued(self, record):
        """Note that ``record`` (if any) was committed; wake delivery."""
        if record is not None:
            LOG.info('Charging %s of session %s queued (record %s)',
                     record['event_type'], record['session_id'],
                     record['id'])
            if self.delivery is not None:
                self.delivery.wake()

    def start(self, session, desktop):
        """The Start of an active session not charged yet; True if queued."""
        now = db_api.utcnow()
        record = self.record(charging.START, session, desktop, now)
        if self.store.charge(session['id'], states.CHARGING_NONE,
                             states.CHARGING_STARTED, record,
                             last_interim_at=now):
            self.queued(record)
            return True
        return False

    def end(self, session, desktop):
        """The Stop of an ended session whose Stop is not queued yet."""
        record = self.record(
            charging.END, session, desktop, session['ended_at'],
            duration_s=seconds_between(session['active_at'],
                                       session['ended_at']),
            terminate_cause=session['terminate_cause'])
        if self.store.charge(session['id'], states.CHARGING_STARTED,
                             states.CHARGING_ENDED, record):
            self.queued(record)

    def interim(self, session):
        """Queue an interim record if the interval has passed."""
        now = db_api.utcnow()
        interval = self.conf.charging.interim_interval
        last = session['last_interim_at'] or session['active_at']
        if session['charging'] != states.CHARGING_STARTED or \
                seconds_between(last, now) < interval:
            return False
        desktop = self.store.get_desktop_by_id(session['desktop_id'])
        duration = seconds_between(session['active_at'], now)
        plan = self.plan_or_none(session['subscriber'])
        record = self.record(charging.UPDATE, session, desktop, now,
                             plan=plan, duration_s=duration,
                             cpu_util=self._cpu_util(desktop, plan,
                                                     duration))
        # One worker wins the interval (last_interim_at moves from what
        # was read); its record is written in the same transaction.
        if not self.store.charge_interim(session['id'],
                                         session['last_interim_at'], now,
                                         record):
            return False
        self.queued(record)
        return True

    def _cpu_util(self, desktop, plan, duration):
        """Percent of the plan's vCPUs used, or None.

        None without a plan or a duration, when Nova has no diagnostics,
        and when this second's budget of diagnostics requests
        (``[charging] cpu_util_rate``) is spent.
        """
        if not duration or plan is None or not self.diagnostics.take():
            return None
        cpu_s = self.compute.cpu_seconds(desktop['instance_id'])
        if cpu_s is None:
            return None
        return round(min(100.0, 100.0 * cpu_s / (duration * plan.vcpus)), 2)
