"""The desktop service's logic: login, restore, release (design figs. 6-8).

A subscriber has one desktop -- one Nova instance -- for life:

* first login: the plan is read from the HSS, a desktop record is stored
  (CREATING), the server is created from the plan's flavor (which
  carries the plan's tier in ``vdesk:tier``) and image, and its UUID is
  stored the moment Nova answers; the session is BUILDING;
* later logins: the stored instance is unshelved (or started) -- same
  UUID; the session is RESTORING. An instance deleted outside the
  service is rebuilt, and the session says so (``rebuilt``); one in ERROR
  is recovered, never replaced (:mod:`~vdesk_openstack.desktops.recovery`);
  only :meth:`DesktopManager.replace`, an operator's call, gives a
  subscriber a blank desktop in its place;
* logout: the instance is shelved and offloaded (the host is freed, the
  UUID survives); the session is RELEASING until Nova is done, then ends.

Requests only *start* Nova operations; :meth:`DesktopManager.sync` moves a
session on when Nova is done (BUILDING/RESTORING -> ACTIVE, RELEASING ->
ended), called by the API when the subscriber looks and by the engine's
periodic pass. Every status Nova can report has a defined outcome (see
doc/source/admin/desktop-operations.rst): the service acts on it or fails
the session at once, and waits only for statuses that change by
themselves.

A desktop belongs to the Keystone user of its first SIM login: subscriber
calls pass the token's user id and anything else is refused
(:class:`~exceptions.NotBound`) before anything is touched.

Charging records (built by :mod:`vdesk_openstack.desktops.accounting`)
are written into the charging outbox in the same transaction as the
session change they charge; the engine delivers them
(:mod:`vdesk_openstack.desktops.outbox`).
"""

import datetime
import time

from oslo_log import log as logging

from vdesk_openstack.desktops import accounting
from vdesk_openstack.desktops import capabilities as caps_mod
from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import prewarm as prewarm_mod
from vdesk_openstack.desktops import recovery
from vdesk_openstack.desktops import states
from vdesk_openstack.hss import exceptions as hss_exc

LOG = logging.getLogger(__name__)

# Seconds between two updates of a session's last_seen_at by its polls.
LAST_SEEN_GRANULARITY = 30.0


def _task(server):
    """Nova's task in progress on ``server`` (None when idle)."""
    return getattr(server, 'task_state', None)


_seconds_between = accounting.seconds_between


class DesktopManager(object):

    def __init__(self, conf, store, hss, compute, locks, delivery=None):
        self.conf = conf
        self.store = store
        self.hss = hss
        self.compute = compute
        self.locks = locks
        self.accounting = accounting.Accounting(conf, store, hss, compute,
                                                delivery)

    @property
    def delivery(self):
        """The outbox's delivery, when it runs in this process.

        Told to look at once when a record is queued (else its next poll
        finds it).
        """
        return self.accounting.delivery

    @delivery.setter
    def delivery(self, delivery):
        self.accounting.delivery = delivery

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

    def _open_session(self, subscriber, user_id):
        """The open session of ``subscriber``, used by ``user_id``.

        ``user_id`` None: an operator's call, no binding to check.
        """
        if user_id is None:
            session = self.store.get_open_session(subscriber)
        else:
            desktop, session = self.store.get_desktop_and_session(
                subscriber)
            if desktop is not None and desktop['user_id'] != user_id:
                raise exceptions.NotBound()
        if session is None:
            raise exceptions.NoSession()
        return session

    def get_session(self, subscriber, user_id=None):
        session = self._open_session(subscriber, user_id)
        now = db_api.utcnow()
        # A UE polls every second while its desktop comes up: noting
        # each poll would be a write per poll. The idle release needs
        # the time to within a fraction of [desktops] idle_timeout.
        granularity = min(LAST_SEEN_GRANULARITY,
                          self.conf.desktops.idle_timeout / 10.0)
        if _seconds_between(session['last_seen_at'], now) >= granularity:
            self.store.update_session(session['id'], last_seen_at=now)
        return self.sync(session)

    def console(self, subscriber, console_type=None, user_id=None):
        session = self.get_session(subscriber, user_id)
        if session['status'] != states.ACTIVE:
            raise exceptions.NotActive()
        console_type = console_type or session['console_type']
        if console_type not in caps_mod.CONSOLE_TYPES:
            raise exceptions.Invalid('console type must be one of %s'
                                     % ', '.join(caps_mod.CONSOLE_TYPES))
        desktop = self.store.get_desktop_by_id(session['desktop_id'])
        console = self.compute.console(desktop['instance_id'], console_type)
        if self.store.get_session(session['id'])['status'] != states.ACTIVE:
            # A release began while the console was made, perhaps after
            # it revoked the desktop's consoles: this one goes too.
            self._revoke_consoles(desktop['instance_id'])
            raise exceptions.NotActive()
        return console

    def logout(self, subscriber, cause=states.CAUSE_USER_REQUEST,
               user_id=None):
        with self.locks.subscriber(subscriber):
            session = self._open_session(subscriber, user_id)
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
            except (exceptions.NoPlan, exceptions.NotBound) as e:
                LOG.info('Desktop of %s not pre-warmed: %s', subscriber,
                         type(e).__name__)
                return False
            if session is not None or desktop['status'] in (
                    states.ACTIVE, states.RESTORING, states.BUILDING):
                LOG.info('Desktop of %s not pre-warmed: %s', subscriber,
                         'a session is open' if session is not None
                         else 'it is %s' % desktop['status'])
                return False
            if not prewarm_mod.allowed(desktop, db_api.utcnow(), self.conf):
                LOG.info('Desktop of %s not pre-warmed: %d pre-warms went '
                         'unclaimed within [desktops] prewarm_window',
                         subscriber, desktop['unclaimed_prewarms'])
                return False
            try:
                values = self._bring_up(desktop, plan, caps,
                                        fresh=fresh)[4]
            except exceptions.Unrecoverable:
                return False  # alerted; the login gets the 409
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
        """Delete the subscriber's instance and mapping (admin).

        The mapping goes with a tombstone in one transaction before Nova
        is asked: if the process stops in between, the reconciler finishes
        the deletion from the tombstone (and deletes nothing else).
        """
        with self.locks.subscriber(subscriber):
            desktop = self._retire(subscriber)
            self.store.delete_desktop(desktop['id'], tombstone=(
                desktop, desktop['instance_id'], 'deleted by an operator'))
            if desktop['instance_id']:
                self._delete_tombstoned(desktop['instance_id'])
            LOG.info('Desktop of %s deleted (instance %s)', subscriber,
                     desktop['instance_id'])

    def replace(self, subscriber):
        """Give the subscriber a blank desktop (admin): data is lost.

        The only way to a new blank instance for a subscriber whose
        instance exists: the old one is tombstoned and deleted, and the
        next login creates a new one from the plan (``rebuilt``).
        """
        with self.locks.subscriber(subscriber):
            desktop = self._retire(subscriber)
            old = desktop['instance_id']
            self._drop_instance(desktop, 'replaced by an operator')
            LOG.warning('Desktop of %s replaced by an operator: instance %s '
                        'deleted, the next login creates a blank one',
                        subscriber, old)
            return self.store.get_desktop(subscriber)

    # -- internals ----------------------------------------------------------
    def _retire(self, subscriber):
        """The desktop an operator removes: consoles revoked, session ended.

        Removing the server frees its SPICE port, so no console may
        outlive it: Kerbside unreachable raises (503) with nothing changed.
        Call under the subscriber's lock.
        """
        desktop = self.store.get_desktop(subscriber)
        if desktop is None:
            raise exceptions.DesktopNotFound()
        if desktop['instance_id']:
            self.compute.revoke_consoles(desktop['instance_id'])
        session = self.store.get_open_session(subscriber)
        if session is not None:
            self._end(session, desktop, states.CAUSE_ADMIN_RESET)
        return desktop

    def plan_of(self, subscriber):
        """The subscriber's plan from the HSS.

        :raises NoPlan: the subscriber has none.
        :raises Unavailable: the HSS cannot be reached.
        """
        return self._plan(subscriber)

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
        ``ready`` when the instance is already running (e.g. pre-warmed);
        ``values``: the desktop's new state, for the caller to store at
        once. ``fresh``: the record was created by this very call, so Nova
        cannot have a server for it yet and is not searched; if Nova
        refuses or cannot be reached, the record is removed again.

        :raises Unusable: the instance is held in rescue by an operator.
        :raises Unavailable: Nova cannot reach the instance's host.
        """
        instance_id = desktop['instance_id']
        if instance_id is None and fresh:
            try:
                values = self._create_instance(desktop, plan, caps)
            except Exception:
                # Nothing half-written: the next login starts afresh.
                self._forget(desktop)
                raise
            return states.BUILDING, False, False, False, values
        if instance_id is None:
            # A creation cut short after Nova accepted the server: adopt
            # that server, never a second.
            server = self.compute.find_desktop_server(
                desktop, skip=self.store.tombstoned_instances(desktop['id']))
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
        if server is not None and server.status == states.NOVA_ERROR and \
                not recovery.never_ran(server):
            # The subscriber's disk is there: bring it back, never a blank.
            return (states.RESTORING, True, False, False, recovery.recover(
                self.store, self.compute, desktop, server))
        if server is None or server.status in states.NOVA_LOST:
            # Deleted, or an ERROR server Nova never ran: nothing to lose.
            LOG.warning('Desktop of %s lost its instance %s (%s): '
                        'rebuilding', desktop['subscriber'], instance_id,
                        'never ran, in ERROR' if server else 'deleted')
            self._drop_instance(desktop, 'instance %s was %s' % (
                instance_id, 'in ERROR' if server else 'deleted'),
                tombstone=server is not None)
            return (states.BUILDING, False, True, False,
                    self._create_instance(desktop, plan, caps))
        self._check_held(server)
        ready = False
        if _task(server):
            pass  # already on its way (e.g. pre-warmed): do not ask again
        elif server.status in states.NOVA_RUNNING:
            ready = True
        else:
            self._wake_up(server)
        # Not in ERROR (any more): nothing left to recover.
        return (states.RESTORING, True, False, ready,
                {'status': states.RESTORING, 'recovery': None})

    def _delete_tombstoned(self, instance_id):
        """Ask Nova to delete a server a tombstone names.

        The deletion is on record: if Nova refuses or cannot be reached
        now, the reconciler's next pass asks again.
        """
        try:
            self.compute.delete(instance_id)
        except (exceptions.Busy, exceptions.Unavailable) as e:
            LOG.warning('Server %s not deleted yet (%s): the engine '
                        'deletes it later', instance_id, e)

    def _drop_instance(self, desktop, fault, tombstone=True):
        """Leave ``desktop`` without an instance; the next step creates one.

        The old instance, if Nova still has it, is tombstoned in the same
        transaction and deleted.
        """
        values = {'instance_id': None, 'status': states.CREATING,
                  'generation': desktop['generation'] + 1, 'fault': fault,
                  'recovery': None}
        if desktop['instance_id'] and tombstone:
            self.store.replace_instance(desktop, fault, **values)
            self._delete_tombstoned(desktop['instance_id'])
        else:
            self.store.update_desktop(desktop['id'], **values)
        desktop.update(values)

    def _check_held(self, server):
        if server.status == states.NOVA_RESCUE:
            raise exceptions.Unusable(
                'The desktop is in rescue mode, set by an operator; it '
                'cannot be used until the operator ends the rescue')
        if server.status == states.NOVA_UNKNOWN:
            raise exceptions.Unavailable(
                'The compute host of the desktop is unreachable; retry '
                'later')

    def _wake_up(self, server):
        """Ask Nova to bring a stopped server back (one action)."""
        action = {
            states.NOVA_SHELVED: self.compute.unshelve,
            states.NOVA_SHELVED_OFFLOADED: self.compute.unshelve,
            states.NOVA_SHUTOFF: self.compute.start,
            states.NOVA_PAUSED: self.compute.unpause,
            states.NOVA_SUSPENDED: self.compute.resume,
            states.NOVA_SOFT_DELETED: self.compute.restore,
        }.get(server.status)
        if action is None:  # transitional: it moves on by itself
            return
        try:
            action(server.id)
        except exceptions.Busy:
            pass  # Nova is busy with it: the next look sees the outcome

    def _forget(self, desktop):
        try:
            # Had Nova created a server after all, the tombstone makes it
            # the reconciler's to delete.
            self.store.delete_desktop(desktop['id'], tombstone=(
                desktop, None, 'creation failed'))
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
        gone = self._gone(server)
        if gone is not None:
            self._end(session, desktop, cause, *gone)
            return self.store.get_session(session['id'])
        self.store.update_session(session['id'], status=states.RELEASING,
                                  terminate_cause=cause)
        self.store.update_desktop(desktop['id'], status=states.RELEASING)
        self._put_away(server)
        LOG.info('Session %s of %s releasing (%s)', session['id'],
                 session['subscriber'], cause)
        return self.sync(self.store.get_session(session['id']))

    @staticmethod
    def _gone(server):
        """For a release: (desktop status, fault) if nothing is to shelve.

        None if the server must still be shelved and offloaded.
        """
        if server is None or server.status in (
                states.NOVA_SHELVED_OFFLOADED, states.NOVA_DELETED):
            return states.RELEASED, None
        if server.status in (states.NOVA_ERROR, states.NOVA_RESCUE,
                             states.NOVA_UNKNOWN, states.NOVA_SOFT_DELETED):
            # Nothing the service can shelve now; the session ends so
            # charging stops, and the next login deals with the server.
            return states.ERROR, 'instance %s was %s at release' % (
                server.id, server.status)
        return None

    def _put_away(self, server):
        """Ask Nova for the next step of shelve + offload, if it is idle.

        The server's consoles are revoked first: shelving frees its SPICE
        port for the next desktop on the host. If they cannot be, nothing
        is shelved and False is returned: the engine's next pass (or the
        next look at the session) tries again.
        """
        if _task(server) or server.status in states.NOVA_TRANSITIONAL:
            return True  # the next sync asks once Nova is done with it
        if not self._revoke_consoles(server.id):
            LOG.warning('Desktop instance %s not shelved: its consoles are '
                        'not revoked yet; retrying at the next pass',
                        server.id)
            return False
        try:
            if server.status == states.NOVA_SHELVED:
                # Nova offloads by itself unless shelved_offload_time
                # says otherwise; if it already started, it refuses.
                self.compute.shelve_offload(server.id)
            else:
                self.compute.shelve(server.id)
        except exceptions.Busy:
            pass  # e.g. a resize to confirm: the next sync asks again
        return True

    def _revoke_consoles(self, instance_id):
        """Revoke the instance's consoles; False if that failed."""
        try:
            self.compute.revoke_consoles(instance_id)
        except exceptions.DesktopError as e:
            LOG.warning('Consoles of instance %s not revoked: %s',
                        instance_id, e)
            return False
        return True

    def _end(self, session, desktop, cause, status=states.RELEASED,
             fault=None):
        """End ``session``; its Stop record goes out in the same commit."""
        now = db_api.utcnow()
        charge = None
        if session['charging'] == states.CHARGING_STARTED:
            charge = self.accounting.record(
                charging.END, session, desktop, now,
                duration_s=_seconds_between(session['active_at'], now),
                terminate_cause=cause)
        if self.store.end_session(session['id'], cause, ended_at=now,
                                  charge=charge):
            LOG.info('Session %s of %s ended (%s)', session['id'],
                     session['subscriber'], cause)
            self.accounting.queued(charge)
        if desktop['instance_id']:
            # After the session ended (a console made meanwhile sees it):
            # for the servers not shelved by _put_away, which revoked
            # already. Failing here, the tokens expire by themselves.
            self._revoke_consoles(desktop['instance_id'])
        if desktop['status'] != states.DELETING:
            values = {'status': status}
            if fault:
                values['fault'] = fault[:255]
            self.store.update_desktop(desktop['id'], **values)
        # Charging that started after the session was read: the sweep of
        # ended sessions (periodic) writes its Stop.

    def sync(self, session):
        """Move ``session`` on from what Nova says; return it fresh."""
        status = session['status']
        if status not in (states.BUILDING, states.RESTORING,
                          states.RELEASING, states.ACTIVE):
            return session
        desktop = self.store.get_desktop_by_id(session['desktop_id'])
        server = self.compute.get_server(desktop['instance_id']) \
            if desktop['instance_id'] else None
        if status in (states.BUILDING, states.RESTORING):
            self._sync_coming_up(session, desktop, server)
        elif status == states.RELEASING:
            gone = self._gone(server)
            if gone is not None:
                self._end(session, desktop, session['terminate_cause'] or
                          states.CAUSE_USER_REQUEST, *gone)
            else:
                self._put_away(server)
        else:
            self._sync_active(session, desktop, server)
        session = self.store.get_session(session['id'])
        if session['status'] == states.ACTIVE and \
                session['charging'] == states.CHARGING_NONE and \
                self.accounting.start(session, desktop):
            session = dict(session, charging=states.CHARGING_STARTED)
        return session

    def _sync_coming_up(self, session, desktop, server):
        now = db_api.utcnow()
        status = session['status']
        if server is None:
            if desktop['status'] != states.CREATING:
                self._fail(session, desktop, 'instance %s disappeared'
                           % desktop['instance_id'])
                return
        elif server.status == states.NOVA_ERROR and _task(server):
            pass  # e.g. the hard reboot of a recovery: Nova is on it
        elif server.status in states.NOVA_LOST:
            self._fail(session, desktop, 'instance %s went to %s'
                       % (server.id, server.status))
            return
        elif server.status in states.NOVA_HELD:
            self._fail(session, desktop, 'instance %s is %s' % (
                server.id, server.status))
            return
        elif server.status in states.NOVA_RUNNING and not _task(server):
            # Active and charged in one commit: the Start record exists
            # exactly when the session is active.
            record = self.accounting.record(charging.START, session,
                                            desktop, now)
            if self.store.activate(session['id'], status, desktop['id'],
                                   now, record):
                LOG.info('Session %s of %s active on instance %s',
                         session['id'], session['subscriber'], server.id)
                self.accounting.queued(record)
            return
        elif server.status in states.NOVA_STOPPED and not _task(server):
            # Stopped again (or never restored): ask again, do not wait.
            self._wake_up(server)
        if _seconds_between(session['started_at'], now) > \
                self.conf.desktops.build_timeout:
            self._fail(session, desktop, 'desktop not active after %d s'
                       % self.conf.desktops.build_timeout)

    def _sync_active(self, session, desktop, server):
        if server is None or server.status in states.NOVA_LOST:
            self._fail(session, desktop, 'instance lost while active')
        elif _task(server) or server.status not in (
                states.NOVA_STOPPED + (states.NOVA_RESCUE,)):
            return  # running, moving, or a host Nova cannot reach now
        elif server.status == states.NOVA_SHUTOFF:
            # Shut down from inside: the subscriber left its desktop.
            LOG.info('Desktop of %s shut down from inside: releasing',
                     session['subscriber'])
            self._release(session, states.CAUSE_USER_REQUEST)
        elif server.status in (states.NOVA_SHELVED,
                               states.NOVA_SHELVED_OFFLOADED):
            self._release(session, states.CAUSE_ADMIN_RESET)
        else:
            # Paused, suspended, soft-deleted or rescued by someone else:
            # not usable, so not charged; the next login brings it back
            # (a rescue once the operator has ended it).
            self._end(session, desktop, states.CAUSE_ADMIN_RESET,
                      states.ERROR, 'instance %s was %s outside the '
                      'service' % (server.id, server.status))

    def _fail(self, session, desktop, reason):
        LOG.warning('Session %s of %s failed: %s', session['id'],
                    session['subscriber'], reason)
        self.store.update_session(session['id'], status=states.ERROR,
                                  fault=reason[:255])
        if desktop.get('recovery') == states.RECOVERY_STARTED:
            recovery.failed(self.store, desktop, desktop['instance_id'],
                            reason)
        else:
            self.store.update_desktop(desktop['id'], status=states.ERROR,
                                      fault=reason[:255])
        if session['charging'] == states.CHARGING_STARTED:
            self._end(session, desktop, states.CAUSE_LOST_SERVICE,
                      states.ERROR, reason)

    # -- charging -----------------------------------------------------------
    def interim(self, session):
        """Queue an interim record if the interval has passed."""
        return self.accounting.interim(session)

    # -- engine -------------------------------------------------------------
    def periodic(self):
        """One pass of the engine: sync, interim records, idle release.

        Sessions on their way (building, restoring, releasing) are synced
        with Nova, one request each: Nova must be asked to learn it is
        done. Active sessions only get their interim records here; a
        server of theirs that Nova stops, pauses, loses... is reported by
        Nova's notifications and found by the reconciler's pass, which
        lists Nova a page of 1000 servers at a time -- not one request per
        active session per tick, which a million sessions would turn into
        thousands of requests a second.
        """
        for session in self.store.open_sessions(
                (states.BUILDING, states.RESTORING, states.RELEASING,
                 states.ACTIVE), page_size=self.page_size):
            try:
                if session['status'] != states.ACTIVE:
                    session = self.sync(session)
                elif session['charging'] == states.CHARGING_NONE:
                    session = self.sync(session)  # its Start is due
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
                try:
                    self._release_unclaimed(desktop)
                except exceptions.DesktopError as e:
                    LOG.warning('Release of the unused pre-warmed desktop '
                                'of %s failed: %s', desktop['subscriber'], e)
        for session in self.store.ended_uncharged_sessions():
            desktop = self.store.get_desktop_by_id(session['desktop_id'])
            if desktop is not None:
                self.accounting.end(session, desktop)

    # Open sessions read per database query by the periodic pass.
    page_size = 500

    def _release_unclaimed(self, desktop):
        """Shelve a pre-warmed desktop nobody logged in to.

        Only once Nova is done bringing it up: a desktop marked RELEASED
        while its server still builds would run on, unbilled.
        """
        with self.locks.subscriber(desktop['subscriber']):
            if self.store.get_open_session(desktop['subscriber']):
                return
            # Read again under the lock: another engine may have released
            # it (and counted it) meanwhile.
            desktop = self.store.get_desktop_by_id(desktop['id'])
            if desktop is None or desktop['status'] not in (
                    states.ACTIVE, states.RESTORING, states.BUILDING):
                return
            server = self.compute.get_server(desktop['instance_id'])
            if server is not None and (
                    _task(server) or
                    server.status in states.NOVA_TRANSITIONAL):
                return  # not settled yet: the next pass looks again
            if server is not None and server.status in states.NOVA_HELD:
                # Nothing to do until it changes; look again later.
                self.store.update_desktop(desktop['id'])
                return
            if server is not None and server.status not in (
                    states.NOVA_SHELVED_OFFLOADED,) + states.NOVA_LOST:
                LOG.info('Pre-warmed desktop of %s unused: releasing',
                         desktop['subscriber'])
                if not self._put_away(server):
                    return  # the next pass tries again
            self.store.update_desktop(
                desktop['id'], status=states.RELEASED,
                **prewarm_mod.spent(desktop, db_api.utcnow(), self.conf))

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
