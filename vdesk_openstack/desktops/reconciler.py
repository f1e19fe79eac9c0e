"""The reconciler: the database and Nova brought back into agreement.

Several things can leave them apart; each pass repairs what is safe to
repair and reports the rest:

* a crash between "Nova created the server" and "the mapping stored its
  UUID" leaves a desktop record in CREATING with no instance and a server
  tagged with that record's id (metadata ``vdesk_desktop_id``). Once the
  record is older than ``[desktops] orphan_grace`` -- so a login still in
  flight is never disturbed -- the server is adopted; without a server the
  record stays CREATING and the subscriber's next login creates one;
* a server the service deleted (the admin API, a replacement, a failed
  creation) is named by a tombstone written before Nova was asked; it is
  deleted again until Nova no longer has it, then the tombstone goes --
  so a crash in the middle of a deletion is finished here;
* a tagged server that no mapping names and no tombstone covers is
  *quarantined*, never deleted: it may hold a subscriber's disk (a
  database restored from a backup, or an empty one, maps nothing). It is
  logged and counted on every pass, listed by ``vdesk-manage desktop
  orphans``, and an operator adopts or deletes it
  (:mod:`vdesk_openstack.desktops.custody`);
* an instance deleted or put in ERROR outside the service: the desktop is
  marked ERROR with a fault, an open session is synced (it fails and its
  charging ends); the next login recovers an ERROR instance
  (:mod:`vdesk_openstack.desktops.recovery`) and rebuilds a deleted one;
* an active desktop whose server was stopped, paused, suspended, shelved,
  soft-deleted or rescued outside the service: its session is synced and
  gets its defined outcome (see the manager).

Servers without our metadata are never touched. Every repair happens under
the subscriber's lock, re-checked there, so a concurrent login wins and
the repair is skipped until the next pass. The notification listener
calls :meth:`Reconciler.instance_lost` for one instance as soon as Nova
reports it.
"""

import datetime

from oslo_log import log as logging

from vdesk_openstack.desktops import compute as compute_mod
from vdesk_openstack.desktops.db import api as db_api
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import states

LOG = logging.getLogger(__name__)

# Desktops whose instance the service itself is changing: not "lost".
_IN_HAND = (states.CREATING, states.DELETING)
# Counts of run_once that are repairs (the others wait for an operator).
_REPAIRS = ('adopted', 'awaiting_login', 'deleted', 'lost', 'stopped')


def _stopped(server):
    """Whether a server is stopped or held, with no task running."""
    return not getattr(server, 'task_state', None) and server.status in (
        states.NOVA_STOPPED + (states.NOVA_RESCUE,))


def _task(server):
    return getattr(server, 'task_state', None)


def _present(server):
    """``server`` unless Nova has deleted it (or is about to reclaim it)."""
    if server is None or server.status in (states.NOVA_DELETED,
                                           states.NOVA_SOFT_DELETED):
        return None
    return server


def _created_at(server):
    """The server's creation time as naive UTC, or None if unknown."""
    value = getattr(server, 'created_at', None)
    if not value:
        return None
    try:
        stamp = datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
    except (TypeError, ValueError):
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return stamp


class Reconciler(object):
    """Repairs between the desktop database and Nova; see the module."""

    page_size = 1000  # Nova's default [api] max_limit

    def __init__(self, manager, conf=None):
        self.manager = manager
        self.store = manager.store
        self.compute = manager.compute
        self.locks = manager.locks
        self.conf = conf or manager.conf

    def run_once(self):
        """One pass; returns the counts of repairs and findings by kind.

        ``quarantined`` (tagged servers without a mapping) and
        ``unrecovered`` (desktops whose recovery from ERROR failed) wait
        for an operator: they are counted, and reported at ERROR, on every
        pass until one acts.
        """
        counts = {'adopted': 0, 'awaiting_login': 0, 'deleted': 0,
                  'quarantined': 0, 'lost': 0, 'stopped': 0,
                  'unrecovered': 0}
        now = db_api.utcnow()
        grace = datetime.timedelta(seconds=self.conf.desktops.orphan_grace)
        for desktop in self.store.creating_desktops(now - grace):
            outcome = self._settle_creating(desktop)
            if outcome:
                counts[outcome] += 1
        self._bury(now - grace, counts)
        scanned = self._merge(now - grace, counts)
        counts['unrecovered'] = self.store.count_unrecovered()
        if any(counts[k] for k in _REPAIRS):
            LOG.warning('Reconciler repaired: %(adopted)d adopted, '
                        '%(awaiting_login)d left for the next login, '
                        '%(deleted)d deleted servers deleted again, '
                        '%(lost)d desktops lost outside the service, '
                        '%(stopped)d active desktops stopped outside it',
                        counts)
        else:
            LOG.debug('Reconciler: nothing to repair (%d servers and '
                      'mappings compared)', scanned)
        if counts['quarantined'] or counts['unrecovered']:
            LOG.error('Desktops waiting for an operator: %(quarantined)d '
                      'tagged servers without a mapping (quarantined: list '
                      'them with "vdesk-manage desktop orphans", then adopt '
                      'or delete each), %(unrecovered)d desktops whose '
                      'recovery from ERROR failed (their logins get 409)',
                      counts)
        return counts

    def _merge(self, created_before, counts):
        """Walk Nova's servers and the mappings side by side.

        Both come in instance UUID order, a page at a time, so memory stays
        flat at any number of desktops: a server no mapping names is an
        orphan candidate; a mapping whose server is missing (or in ERROR)
        is a lost candidate. Each candidate is checked again, under the
        subscriber's lock, before anything is changed -- were the two
        orders ever to disagree, the cost is an extra check, not a wrong
        repair.
        """
        servers = iter(self.compute.servers_by_id(self.page_size))
        desktops = iter(self.store.desktops_by_instance(self.page_size))
        server, desktop = next(servers, None), next(desktops, None)
        scanned = 0
        while server is not None or desktop is not None:
            scanned += 1
            if desktop is None or (server is not None and
                                   server.id < desktop['instance_id']):
                if compute_mod.META_DESKTOP in (server.metadata or {}):
                    counts['quarantined'] += self._orphan(
                        server, created_before)
                server = next(servers, None)
            elif server is None or desktop['instance_id'] < server.id:
                # Not listed: deleted -- or soft-deleted, which Nova's
                # listing leaves out too.
                kind = self._unlisted(desktop)
                if kind:
                    counts[kind] += 1
                desktop = next(desktops, None)
            else:
                if server.status == states.NOVA_ERROR:
                    counts['lost'] += self._lost(desktop)
                elif desktop['status'] == states.ACTIVE and \
                        _stopped(server):
                    counts['stopped'] += self._stopped(desktop)
                server, desktop = next(servers, None), next(desktops, None)
        return scanned

    # -- creations cut short ------------------------------------------------
    def _settle_creating(self, desktop):
        with self.locks.subscriber(desktop['subscriber']):
            desktop = self.store.get_desktop_by_id(desktop['id'])
            if desktop is None or desktop['status'] != states.CREATING or \
                    desktop['instance_id'] is not None:
                return None
            server = self.compute.find_desktop_server(
                desktop, skip=self.store.tombstoned_instances(desktop['id']))
            if server is None:
                LOG.warning('Desktop of %s stuck in CREATING without a '
                            'server: its next login creates one',
                            desktop['subscriber'])
                # Touched so it is reported once per grace period, not on
                # every pass.
                self.store.update_desktop(desktop['id'],
                                          expected_status=states.CREATING)
                return 'awaiting_login'
            if not self.store.update_desktop(
                    desktop['id'], expected_status=states.CREATING,
                    instance_id=server.id, status=states.BUILDING,
                    fault=None):
                return None
            LOG.warning('Desktop of %s: adopted instance %s created before '
                        'an interruption', desktop['subscriber'], server.id)
            return 'adopted'

    # -- servers the service deleted ------------------------------------------
    def _bury(self, created_before, counts):
        """Finish the deletions the tombstones name; drop finished ones."""
        for stone in self.store.tombstones():
            server = self._tombstoned_server(stone, created_before)
            if server is None:
                self.store.remove_tombstone(stone['id'])
                LOG.info('Server %s of %s (%s) is gone', stone['instance_id']
                         or 'of desktop %s' % stone['desktop_id'],
                         stone['subscriber'], stone['reason'])
            elif server is not False and \
                    _task(server) != 'deleting':
                LOG.warning('Deleting server %s of %s again (%s)', server.id,
                            stone['subscriber'], stone['reason'])
                try:
                    self.compute.delete(server.id)
                except exceptions.Busy:
                    continue  # e.g. locked: asked again next pass
                counts['deleted'] += 1

    def _tombstoned_server(self, stone, created_before):
        """The server ``stone`` names, None when gone, False: leave it."""
        server = None
        if stone['instance_id']:
            server = _present(self.compute.get_server(stone['instance_id']))
            if server is not None and \
                    self.store.get_desktop_by_instance(server.id):
                return None  # mapped again since: not for deletion
        if server is None and stone['whole_desktop']:
            if stone['created_at'] > created_before:
                return False  # a creation in flight may still appear
            server = _present(self.compute.find_desktop_server(
                {'id': stone['desktop_id'],
                 'subscriber': stone['subscriber']}))
        return server

    # -- orphans --------------------------------------------------------------
    def _orphan(self, server, created_before):
        """Quarantine ``server`` (tagged, mapped by no desktop); 1 if so.

        Never deleted here: only a tombstone says the service deleted it,
        and the tombstone pass sees to those.
        """
        desktop_id = server.metadata[compute_mod.META_DESKTOP]
        desktop = self.store.get_desktop_by_id(desktop_id)
        if desktop is not None and (desktop['instance_id'] in (None,
                                                               server.id) or
                                    desktop['status'] == states.CREATING):
            # Not yet paired (adoption's business, after the grace), or
            # paired since the mappings were read.
            return 0
        created = _created_at(server)
        if created is None or created > created_before:
            return 0  # too young: a login may be storing it right now
        if self.store.tombstoned(server.id, desktop_id):
            return 0  # deleted by the service: the tombstone pass's
        LOG.warning('Server %s tagged for desktop %s of %s has no mapping '
                    '(%s): quarantined, not deleted', server.id, desktop_id,
                    server.metadata.get(compute_mod.META_SUBSCRIBER, '?'),
                    'no such desktop' if desktop is None
                    else 'the desktop maps %s' % desktop['instance_id'])
        return 1

    # -- active desktops stopped outside the service -------------------------
    def _stopped(self, desktop):
        try:
            return 1 if self.instance_changed(desktop['instance_id']) else 0
        except exceptions.Busy:
            return 0

    def instance_changed(self, instance_id):
        """Sync the open session of ``instance_id``'s desktop with Nova.

        For a server that changed status outside the service (stopped,
        paused, suspended, shelved, soft-deleted or rescued while its
        desktop was active): the manager gives the session its defined
        outcome. Returns True if the session changed.
        """
        desktop = self.store.get_desktop_by_instance(instance_id)
        if desktop is None or desktop['status'] in _IN_HAND:
            return False
        with self.locks.subscriber(desktop['subscriber']):
            session = self.store.get_open_session(desktop['subscriber'])
            if session is None or session['desktop_id'] != desktop['id']:
                return False
            after = self.manager.sync(session)
        return (after['status'], after['is_open']) != (
            session['status'], session['is_open'])

    # -- instances lost outside the service -----------------------------------
    def _unlisted(self, desktop):
        """'lost', 'stopped' or None for a desktop Nova did not list."""
        if self._lost(desktop):
            return 'lost'
        if desktop['status'] == states.ACTIVE and self._stopped(desktop):
            return 'stopped'
        return None

    def _lost(self, desktop):
        if desktop['status'] in _IN_HAND or desktop['status'] == states.ERROR:
            return 0  # in hand, or already marked: the next login rebuilds
        try:
            return 1 if self.instance_lost(desktop['instance_id']) else 0
        except exceptions.Busy:
            LOG.info('Desktop of %s busy; checked again next pass',
                     desktop['subscriber'])
            return 0

    def instance_lost(self, instance_id, reason=None):
        """Mark the desktop of ``instance_id`` if Nova lost or broke it.

        Nova is asked first: a listing or a notification may be stale.
        Returns True if a desktop was marked (or its session failed).
        """
        desktop = self.store.get_desktop_by_instance(instance_id)
        if desktop is None:
            return False
        with self.locks.subscriber(desktop['subscriber']):
            desktop = self.store.get_desktop_by_id(desktop['id'])
            if desktop is None or desktop['instance_id'] != instance_id or \
                    desktop['status'] in _IN_HAND:
                return False
            server = self.compute.get_server(instance_id)
            if server is not None and (server.status not in (
                    states.NOVA_ERROR, states.NOVA_DELETED) or
                    _task(server)):
                # Running, or Nova is working on it (the hard reboot of
                # a recovery): not lost.
                return False
            fault = reason or 'instance %s was %s outside the service' % (
                instance_id, 'deleted' if server is None or
                server.status == states.NOVA_DELETED else 'put in ERROR')
            session = self.store.get_open_session(desktop['subscriber'])
            if session is not None:
                # sync fails (or ends) the session and ends its charging.
                self.manager.sync(session)
                desktop = self.store.get_desktop_by_id(desktop['id'])
            if desktop['status'] == states.ERROR:
                LOG.warning('Desktop of %s: %s', desktop['subscriber'],
                            fault)
                return True
            marked = self.store.update_desktop(
                desktop['id'], expected_status=desktop['status'],
                status=states.ERROR, fault=fault[:255])
            if marked:
                LOG.warning('Desktop of %s marked ERROR: %s; the next '
                            'login recovers or rebuilds it',
                            desktop['subscriber'], fault)
            return marked
