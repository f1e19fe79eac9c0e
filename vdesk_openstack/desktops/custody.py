"""An operator's say over servers the service does not map (orphans).

The reconciler deletes only what the service itself deleted (tombstones);
a server tagged as a desktop that no mapping names is quarantined. These
are the operator's tools for it (``vdesk-manage desktop ...``):

* :func:`orphans` lists them, walking Nova's servers and the mappings side
  by side as the reconciler does (a page at a time, in UUID order);
* :func:`adopt` maps one to a subscriber again -- the same server, with
  its disk -- as it was before the mapping was lost. The mapping has no
  Keystone user: the subscriber's next SIM login binds it, as for
  mappings made before bindings existed. A running server is shelved
  first, since nothing charges it without a session;
* :func:`delete_orphan` deletes one, through a tombstone like every
  deletion of the service.
"""

from oslo_log import log as logging

from vdesk_openstack.desktops import compute as compute_mod
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import states

LOG = logging.getLogger(__name__)


def _in_flight(store, server):
    """Whether ``server`` belongs to a creation the service is finishing."""
    desktop = store.get_desktop_by_id(
        server.metadata[compute_mod.META_DESKTOP])
    return desktop is not None and (
        desktop['instance_id'] in (None, server.id) or
        desktop['status'] == states.CREATING)


def orphans(manager, page_size=1000):
    """Tagged servers no mapping names, as dicts (oldest first)."""
    store, compute = manager.store, manager.compute
    servers = iter(compute.servers_by_id(page_size))
    mapped = iter(store.desktops_by_instance(page_size))
    desktop = next(mapped, None)
    found = []
    for server in servers:
        while desktop is not None and desktop['instance_id'] < server.id:
            desktop = next(mapped, None)
        if desktop is not None and desktop['instance_id'] == server.id:
            continue
        metadata = server.metadata or {}
        if compute_mod.META_DESKTOP not in metadata or \
                _in_flight(store, server):
            continue
        found.append(_view(server, store.tombstoned(
            server.id, metadata[compute_mod.META_DESKTOP])))
    return sorted(found, key=lambda o: (o['created_at'] or '', o['id']))


def _view(server, tombstoned):
    metadata = server.metadata or {}
    return {'id': server.id, 'name': server.name, 'status': server.status,
            'subscriber': metadata.get(compute_mod.META_SUBSCRIBER),
            'desktop_record': metadata.get(compute_mod.META_DESKTOP),
            'created_at': getattr(server, 'created_at', None),
            'being_deleted': tombstoned}


def _orphan(manager, server_id):
    """The orphan ``server_id``; raises unless it is one."""
    server = manager.compute.get_server(server_id)
    if server is None or server.status == states.NOVA_DELETED:
        raise exceptions.NotFound('No server %s in the desktop project'
                                  % server_id)
    metadata = server.metadata or {}
    if compute_mod.META_DESKTOP not in metadata:
        raise exceptions.Conflict(
            'Server %s is not a desktop (no %s metadata): the service '
            'never touches it' % (server_id, compute_mod.META_DESKTOP))
    desktop = manager.store.get_desktop_by_instance(server_id)
    if desktop is not None:
        raise exceptions.Conflict(
            'Server %s is the desktop of %s, not an orphan'
            % (server_id, desktop['subscriber']))
    if _in_flight(manager.store, server):
        raise exceptions.Conflict(
            'Server %s belongs to a creation in progress; look again '
            'after [desktops] orphan_grace' % server_id)
    return server


def delete_orphan(manager, server_id):
    """Delete the orphan ``server_id``; returns its view."""
    server = _orphan(manager, server_id)
    metadata = server.metadata
    subscriber = metadata.get(compute_mod.META_SUBSCRIBER) or '?'
    with manager.locks.subscriber(subscriber):
        server = _orphan(manager, server_id)
        manager.store.add_tombstone(
            {'id': metadata[compute_mod.META_DESKTOP],
             'subscriber': subscriber[:15]}, server.id,
            'orphan deleted by an operator')
        manager.compute.delete(server.id)
    LOG.warning('Orphan server %s of %s deleted by an operator', server.id,
                subscriber)
    return _view(server, True)


def adopt(manager, subscriber, server_id):
    """Map the orphan ``server_id`` as ``subscriber``'s desktop.

    Returns the new mapping.

    :raises Conflict: the subscriber has a desktop, the server is tagged
        for another subscriber, is mapped, or is being deleted.
    """
    store, compute = manager.store, manager.compute
    with manager.locks.subscriber(subscriber):
        existing = store.get_desktop(subscriber)
        if existing is not None:
            raise exceptions.Conflict(
                'Subscriber %s has a desktop already (instance %s): delete '
                'that one first (DELETE /v1/desktops/%s) to adopt another'
                % (subscriber, existing['instance_id'], subscriber))
        server = _orphan(manager, server_id)
        metadata = server.metadata
        tagged = metadata.get(compute_mod.META_SUBSCRIBER)
        if tagged != subscriber:
            raise exceptions.Conflict(
                'Server %s is tagged as the desktop of %s, not of %s: a '
                'subscriber only gets a server made for it'
                % (server_id, tagged, subscriber))
        desktop_id = metadata[compute_mod.META_DESKTOP]
        if store.tombstoned(server.id, desktop_id):
            raise exceptions.Conflict('Server %s is being deleted'
                                      % server_id)
        plan = manager.plan_of(subscriber)
        status = (states.ERROR if server.status == states.NOVA_ERROR
                  else states.RELEASED)
        record = store.adopt_desktop(desktop_id, subscriber, server.id,
                                     plan.name, status)
        if server.status in states.NOVA_RUNNING and \
                not getattr(server, 'task_state', None):
            # Running without a session is running uncharged.
            compute.shelve(server.id)
    LOG.warning('Server %s adopted by an operator as the desktop of %s',
                server.id, subscriber)
    return record
