"""The desktop service's logic: login, restore, release (design figs. 6-8).

A subscriber has one desktop -- one Nova instance -- for life:

* first login: the plan is read from the HSS, a desktop record is stored
  (CREATING), the server is created from the plan's flavor and image with
  the ``vdesk_priority`` hint, and its UUID is stored the moment Nova
  answers; the session is BUILDING;
* later logins: the stored instance is unshelved (or started) -- same
  UUID; the session is RESTORING. An instance deleted or broken outside
  the service is rebuilt, and the session says so (``rebuilt``);
* logout: the instance is shelved and offloaded (the host is freed, the
  UUID survives); the session is RELEASING until Nova is done, then ends.

Requests only *start* Nova operations; :meth:`DesktopManager.sync` moves a
session on when Nova is done (BUILDING/RESTORING -> ACTIVE, RELEASING ->
ended), called by the API when the subscriber looks and by the engine's
periodic pass, and emits the charging events exactly once.
"""

import datetime
import time

from oslo_log import log as logging

from vdesk_openstack.desktops import capabilities as caps_mod
from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import states
from vdesk_openstack.hss import exceptions as hss_exc

LOG = logging.getLogger(__name__)

_RESTORABLE = (states.NOVA_SHELVED, states.NOVA_SHELVED_OFFLOADED)


def _seconds_between(start, end):
    if start is None or end is None:
        return 0
    return max(0.0, (end - start).total_seconds())


class DesktopManager(object):

    def __init__(self, conf, store, hss, compute, locks, charger):
        self.conf = conf
        self.store = store
        self.hss = hss
        self.compute = compute
        self.locks = locks
        self.charging = charger

    # -- subscriber calls ---------------------------------------------------
    def login(self, subscriber, user_id, capabilities):
        """Open (or return the open) session of ``subscriber``."""
        caps = caps_mod.parse(capabilities)
        with self.locks.subscriber(subscriber):
            desktop, session, plan, fresh = self.store.begin_login(
                subscriber, user_id, lambda: self._plan(subscriber))
            if plan is None:  # a session is open: that is the answer
                self.store.update_session(session['id'],
                                          last_seen_at=db_api.utcnow())
                return self.sync(session)
            if session is not None:
                # A failed session is not kept: logging in again retries.
                self.store.end_session(session['id'],
                                       states.CAUSE_LOST_SERVICE)
            status, restored, rebuilt, ready, values = self._bring_up(
                desktop, plan, caps, fresh=fresh)
            # The desktop's new state (e.g. the instance UUID Nova just
            # returned) and the session: one transaction.
            session = self.store.open_session(
                desktop, status, caps, caps_mod.console_type(caps),
                restored=restored, rebuilt=rebuilt, desktop_values=values)
            if session is None:  # only if the lock was lost
                raise exceptions.Busy()
            LOG.info('Session %s of %s opened (%s)', session['id'],
                     subscriber, status)
            # Nova was just asked to work: asking it again at once would
            # only cost time. A desktop already up (pre-warmed) is made
            # ACTIVE -- and charged -- right away.
            return self.sync(session) if ready else session

    def get_session(self, subscriber):
        session = self.store.get_open_session(subscriber)
        if session is None:
            raise exceptions.NoSession()
        self.store.update_session(session['id'],
                                  last_seen_at=db_api.utcnow())
        return self.sync(session)

    def console(self, subscriber, console_type=None):
        session = self.get_session(subscriber)
        if session['status'] != states.ACTIVE:
            raise exceptions.NotActive()
        console_type = console_type or session['console_type']
        if console_type not in caps_mod.CONSOLE_TYPES:
            raise exceptions.Invalid('console type must be one of %s'
                                     % ', '.join(caps_mod.CONSOLE_TYPES))
        desktop = self.store.get_desktop_by_id(session['desktop_id'])
        return self.compute.console(desktop['instance_id'], console_type)

    def logout(self, subscriber, cause=states.CAUSE_USER_REQUEST):
        with self.locks.subscriber(subscriber):
            session = self.store.get_open_session(subscriber)
            if session is None:
                raise exceptions.NoSession()
            return self._release(session, cause)

    def prewarm(self, subscriber, user_id=None, capabilities=None):
        """Start bringing the desktop up before the subscriber asks.

        Called when Keystone announces a successful SIM login. Returns True
        if Nova was set to work; a later login finds the desktop restoring
        or already active. A pre-warmed desktop nobody logs in to is
        released after ``[desktops] prewarm_timeout``.
        """
        try:
            caps = caps_mod.parse(capabilities)
        except exceptions.Invalid:
            caps = caps_mod.parse({})
        with self.locks.subscriber(subscriber):
            try:
                desktop, session, plan, fresh = self.store.begin_login(
                    subscriber, user_id, lambda: self._plan(subscriber))
            except exceptions.NoPlan:
                return False
            if session is not None or desktop['status'] in (
                    states.ACTIVE, states.RESTORING, states.BUILDING):
                return False
            values = self._bring_up(desktop, plan, caps, fresh=fresh)[4]
            self.store.update_desktop(desktop['id'], **values)
            LOG.info('Desktop of %s pre-warmed', subscriber)
            return True

    # -- admin calls --------------------------------------------------------
    def release(self, subscriber):
        """Force release (admin): like a logout, cause Admin-Reset."""
        if self.store.get_desktop(subscriber) is None:
            raise exceptions.DesktopNotFound()
        try:
            return self.logout(subscriber, states.CAUSE_ADMIN_RESET)
        except exceptions.NoSession:
            return None

    def delete(self, subscriber):
        """Delete the subscriber's instance and mapping (admin)."""
        with self.locks.subscriber(subscriber):
            desktop = self.store.get_desktop(subscriber)
            if desktop is None:
                raise exceptions.DesktopNotFound()
            session = self.store.get_open_session(subscriber)
            if session is not None:
                self._end(session, desktop, states.CAUSE_ADMIN_RESET)
            self.store.update_desktop(desktop['id'], status=states.DELETING)
            if desktop['instance_id']:
                self.compute.delete(desktop['instance_id'])
            self.store.delete_desktop(desktop['id'])
            LOG.info('Desktop of %s deleted (instance %s)', subscriber,
                     desktop['instance_id'])

    # -- internals ----------------------------------------------------------
    def _plan(self, subscriber):
        try:
            plan = self.hss.get_plan(subscriber)
        except hss_exc.HssError as e:
            LOG.error('HSS lookup of %s failed: %s', subscriber, e)
            raise exceptions.Unavailable() from None
        if plan is None:
            raise exceptions.NoPlan()
        return plan

    def _bring_up(self, desktop, plan, caps, fresh=False):
        """Start Nova on the desktop.

        Returns (session status, restored, rebuilt, ready, values):
        ``ready`` when the instance is already ACTIVE (e.g. pre-warmed);
        ``values``: the desktop's new state, for the caller to store at
        once. ``fresh``: the record was created by this very call, so Nova
        cannot have a server for it yet and is not searched; if Nova
        refuses or cannot be reached, the record is removed again.
        """
        instance_id = desktop['instance_id']
        if instance_id is None and fresh:
            try:
                values = self._create_instance(desktop, plan, caps)
            except Exception:
                # Nothing half-written: the next login starts afresh. Had
                # Nova created a server after all, it carries this record's
                # id and the reconciler deletes it as an orphan.
                self._forget(desktop)
                raise
            return states.BUILDING, False, False, False, values
        if instance_id is None:
            # A creation cut short after Nova accepted the server: adopt
            # that server, never a second.
            server = self.compute.find_desktop_server(desktop)
            if server is None:
                return (states.BUILDING, False, desktop['generation'] > 0,
                        False, self._create_instance(desktop, plan, caps))
            LOG.warning('Desktop of %s: adopting instance %s created before '
                        'an interruption', desktop['subscriber'], server.id)
            self.store.update_desktop(desktop['id'], instance_id=server.id,
                                      status=states.BUILDING)
            instance_id = server.id
        server = self.compute.get_server(instance_id) if instance_id \
            else None
        if server is None or server.status == states.NOVA_ERROR:
            LOG.warning('Desktop of %s lost its instance %s (%s): '
                        'rebuilding', desktop['subscriber'], instance_id,
                        server.status if server else 'deleted')
            if server is not None:
                self.compute.delete(instance_id)
            self.store.update_desktop(
                desktop['id'], instance_id=None, status=states.CREATING,
                generation=desktop['generation'] + 1,
                fault='instance %s was %s' % (
                    instance_id, 'in ERROR' if server else 'deleted'))
            return (states.BUILDING, False, True, False,
                    self._create_instance(desktop, plan, caps))
        if getattr(server, 'task_state', None):
            # Already on its way (e.g. pre-warmed): do not ask again.
            pass
        elif server.status in _RESTORABLE:
            self.compute.unshelve(server.id)
        elif server.status == states.NOVA_SHUTOFF:
            self.compute.start(server.id)
        return (states.RESTORING, True, False,
                server.status == states.NOVA_ACTIVE and
                not getattr(server, 'task_state', None),
                {'status': states.RESTORING})

    def _forget(self, desktop):
        try:
            self.store.delete_desktop(desktop['id'])
        except Exception:
            LOG.exception('Desktop record of %s not removed after a failed '
                          'creation; its next login reuses it',
                          desktop['subscriber'])

    def _create_instance(self, desktop, plan, caps):
        """Ask Nova for the server; return the desktop's new values."""
        specs = caps_mod.device_extra_specs(caps, self.conf)
        flavor_id = self.compute.ensure_flavor(
            plan, specs, caps_mod.profile_name(specs))
        image = plan.image or self.conf.desktops.default_image
        if not image:
            raise exceptions.Conflict(
                'The subscriber\'s plan names no image and no '
                '[desktops] default_image is configured')
        instance_id = self.compute.create_server(desktop, flavor_id, image,
                                                 plan.priority)
        # The caller stores these the moment Nova answers; a crash before
        # leaves a CREATING record and a tagged server, which the
        # reconciler pairs.
        LOG.info('Desktop of %s: instance %s created (plan %s)',
                 desktop['subscriber'], instance_id, plan.name)
        return {'instance_id': instance_id, 'flavor_id': flavor_id,
                'status': states.BUILDING, 'fault': None}

    def _release(self, session, cause):
        desktop = self.store.get_desktop_by_id(session['desktop_id'])
        server = self.compute.get_server(desktop['instance_id']) \
            if desktop['instance_id'] else None
        if server is None or server.status == states.NOVA_SHELVED_OFFLOADED:
            self._end(session, desktop, cause)
            return self.store.get_session(session['id'])
        self.store.update_session(session['id'], status=states.RELEASING,
                                  terminate_cause=cause)
        self.store.update_desktop(desktop['id'], status=states.RELEASING)
        if server.status == states.NOVA_SHELVED:
            self.compute.shelve_offload(server.id)
        else:
            self.compute.shelve(server.id)
        LOG.info('Session %s of %s releasing (%s)', session['id'],
                 session['subscriber'], cause)
        return self.sync(self.store.get_session(session['id']))

    def _end(self, session, desktop, cause):
        if self.store.end_session(session['id'], cause):
            LOG.info('Session %s of %s ended (%s)', session['id'],
                     session['subscriber'], cause)
        if desktop['status'] != states.DELETING:
            self.store.update_desktop(desktop['id'], status=states.RELEASED)
        self._charge_end(self.store.get_session(session['id']), desktop)

    def sync(self, session):
        """Move ``session`` on from what Nova says; return it fresh."""
        status = session['status']
        if status not in (states.BUILDING, states.RESTORING,
                          states.RELEASING, states.ACTIVE):
            return session
        desktop = self.store.get_desktop_by_id(session['desktop_id'])
        server = self.compute.get_server(desktop['instance_id']) \
            if desktop['instance_id'] else None
        now = db_api.utcnow()
        if status in (states.BUILDING, states.RESTORING):
            if server is not None and server.status == states.NOVA_ACTIVE:
                if self.store.update_session(
                        session['id'], expected_status=status,
                        status=states.ACTIVE, active_at=now):
                    self.store.update_desktop(desktop['id'],
                                              status=states.ACTIVE)
                    LOG.info('Session %s of %s active on instance %s',
                             session['id'], session['subscriber'],
                             server.id)
            elif server is not None and server.status == states.NOVA_ERROR:
                self._fail(session, desktop, 'instance %s went to ERROR'
                           % server.id)
            elif server is None and desktop['status'] != states.CREATING:
                self._fail(session, desktop, 'instance %s disappeared'
                           % desktop['instance_id'])
            elif _seconds_between(session['started_at'], now) > \
                    self.conf.desktops.build_timeout:
                self._fail(session, desktop, 'desktop not active after %d s'
                           % self.conf.desktops.build_timeout)
        elif status == states.RELEASING:
            if server is None or server.status == \
                    states.NOVA_SHELVED_OFFLOADED:
                self._end(session, desktop, session['terminate_cause'] or
                          states.CAUSE_USER_REQUEST)
            elif server.status == states.NOVA_SHELVED and \
                    getattr(server, 'task_state', None) is None:
                # Nova offloads by itself unless shelved_offload_time says
                # otherwise; if it already started, it refuses (409).
                try:
                    self.compute.shelve_offload(server.id)
                except exceptions.Busy:
                    pass
        elif status == states.ACTIVE and (
                server is None or server.status in (states.NOVA_ERROR,
                                                    states.NOVA_DELETED)):
            self._fail(session, desktop, 'instance lost while active')
        session = self.store.get_session(session['id'])
        if session['status'] == states.ACTIVE:
            self._charge_start(session, desktop)
        return session

    def _fail(self, session, desktop, reason):
        LOG.warning('Session %s of %s failed: %s', session['id'],
                    session['subscriber'], reason)
        self.store.update_session(session['id'], status=states.ERROR,
                                  fault=reason[:255])
        self.store.update_desktop(desktop['id'], status=states.ERROR,
                                  fault=reason[:255])
        if session['charging'] == states.CHARGING_STARTED:
            self.store.end_session(session['id'], states.CAUSE_LOST_SERVICE)
            self._charge_end(self.store.get_session(session['id']), desktop)

    # -- charging -----------------------------------------------------------
    def _plan_or_none(self, subscriber):
        try:
            return self.hss.get_plan(subscriber)
        except hss_exc.HssError:
            return None

    def _emit(self, event_type, session, desktop, **kwargs):
        plan = self._plan_or_none(session['subscriber'])
        desktop = dict(desktop, project_id=self.compute.project_id)
        self.charging.emit(event_type, session, desktop, plan, **kwargs)

    def _charge_start(self, session, desktop):
        if not self.store.claim_charging(
                session['id'], states.CHARGING_NONE,
                states.CHARGING_STARTED, last_interim_at=db_api.utcnow()):
            return
        try:
            self._emit(charging.START, session, desktop)
        except Exception:
            # Undo the claim: the engine's next pass emits it again.
            LOG.exception('Charging start of session %s not sent; will '
                          'retry', session['id'])
            self.store.claim_charging(session['id'],
                                      states.CHARGING_STARTED,
                                      states.CHARGING_NONE)

    def _charge_end(self, session, desktop):
        if session is None or not self.store.claim_charging(
                session['id'], states.CHARGING_STARTED,
                states.CHARGING_ENDED):
            return
        duration = _seconds_between(session['active_at'],
                                    session['ended_at'])
        try:
            self._emit(charging.END, session, desktop, duration_s=duration,
                       terminate_cause=session['terminate_cause'])
        except Exception:
            LOG.exception('Charging end of session %s not sent; will retry',
                          session['id'])
            self.store.claim_charging(session['id'], states.CHARGING_ENDED,
                                      states.CHARGING_STARTED)

    def interim(self, session):
        """Emit an interim record if the interval has passed."""
        now = db_api.utcnow()
        interval = self.conf.charging.interim_interval
        last = session['last_interim_at'] or session['active_at']
        if session['charging'] != states.CHARGING_STARTED or \
                _seconds_between(last, now) < interval:
            return False
        # Claim this interim by moving last_interim_at: one worker wins.
        if not self.store.update_session(
                session['id'], expected_status=states.ACTIVE,
                last_interim_at=now):
            return False
        desktop = self.store.get_desktop_by_id(session['desktop_id'])
        duration = _seconds_between(session['active_at'], now)
        cpu_util = self._cpu_util(desktop, duration)
        self._emit(charging.UPDATE, session, desktop, duration_s=duration,
                   cpu_util=cpu_util)
        return True

    def _cpu_util(self, desktop, duration):
        cpu_s = self.compute.cpu_seconds(desktop['instance_id'])
        plan = self._plan_or_none(desktop['subscriber'])
        if cpu_s is None or not duration or plan is None:
            return None
        return round(min(100.0, 100.0 * cpu_s / (duration * plan.vcpus)), 2)

    # -- engine -------------------------------------------------------------
    def periodic(self):
        """One pass of the engine: sync, interim records, idle release."""
        for session in self.store.sessions_in(
                (states.BUILDING, states.RESTORING, states.RELEASING,
                 states.ACTIVE)):
            try:
                session = self.sync(session)
                if session['status'] == states.ACTIVE:
                    self.interim(session)
            except exceptions.DesktopError as e:
                LOG.warning('Engine could not sync session %s: %s',
                            session['id'], e)
        idle = self.conf.desktops.idle_timeout
        if idle:
            cutoff = db_api.utcnow() - datetime.timedelta(seconds=idle)
            for session in self.store.idle_sessions(cutoff):
                LOG.info('Session %s of %s idle since %s: releasing',
                         session['id'], session['subscriber'],
                         session['last_seen_at'])
                try:
                    self.logout(session['subscriber'],
                                states.CAUSE_IDLE_TIMEOUT)
                except exceptions.DesktopError as e:
                    LOG.warning('Idle release of %s failed: %s',
                                session['subscriber'], e)
        prewarm = self.conf.desktops.prewarm_timeout
        if prewarm:
            cutoff = db_api.utcnow() - datetime.timedelta(seconds=prewarm)
            for desktop in self.store.unclaimed_desktops(cutoff):
                self._release_unclaimed(desktop)
        for session in self.store.ended_uncharged_sessions():
            desktop = self.store.get_desktop_by_id(session['desktop_id'])
            if desktop is not None:
                self._charge_end(session, desktop)

    def _release_unclaimed(self, desktop):
        """Shelve a pre-warmed desktop nobody logged in to."""
        with self.locks.subscriber(desktop['subscriber']):
            if self.store.get_open_session(desktop['subscriber']):
                return
            server = self.compute.get_server(desktop['instance_id'])
            if server is not None and server.status == states.NOVA_ACTIVE:
                LOG.info('Pre-warmed desktop of %s unused: releasing',
                         desktop['subscriber'])
                self.compute.shelve(server.id)
            self.store.update_desktop(desktop['id'],
                                      status=states.RELEASED)

    def wait_for(self, subscriber, status, timeout=120.0, interval=0.2):
        """Poll until the open session has ``status`` (sandbox, tests).

        Waiting for ENDED returns None once no session is open.
        """
        deadline = time.monotonic() + timeout
        while True:
            session = self.store.get_open_session(subscriber)
            if session is None:
                if status == states.ENDED:
                    return None
                raise exceptions.NoSession()
            session = self.sync(session)
            if session['status'] == states.ENDED == status:
                return None
            if session['status'] == status:
                return session
            if session['status'] == states.ERROR or \
                    time.monotonic() > deadline:
                raise exceptions.DesktopError(
                    'session of %s is %s, not %s' % (
                        subscriber, session['status'], status))
            time.sleep(interval)
