"""Recovery of a desktop whose instance Nova has in ERROR.

A server in ERROR still holds the subscriber's disk, so a login never
replaces it with a blank desktop. What the service does instead:

* a server Nova never launched (its first build failed) holds nothing of
  the subscriber's: it is replaced, as a deleted one is;
* while Nova has a task running on the server, the login waits for it;
* otherwise Nova is asked for a hard reboot -- allowed from ERROR, it
  recreates the guest on its host from the server's own disk -- and the
  desktop's ``recovery`` is STARTED; the session is RESTORING and becomes
  ACTIVE like any restore, which clears ``recovery``;
* Nova refusing the hard reboot, or the server back in ERROR after one,
  is a failed recovery: the desktop's ``recovery`` is FAILED, an ERROR
  line names the subscriber, the instance and what an operator can do,
  the reconciler counts such desktops on every pass, and every login
  gets 409 (:class:`~exceptions.Unrecoverable`) without touching the
  server again -- until an operator repairs the server in Nova (any other
  status is then taken as it comes) or replaces the desktop with a blank
  one (``vdesk-manage desktop replace``), the only way to a blank desktop.
"""

from oslo_log import log as logging

from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import states

LOG = logging.getLogger(__name__)


def never_ran(server):
    """Whether Nova never launched ``server`` (no subscriber data on it)."""
    return not getattr(server, 'launched_at', None)


def recover(store, compute, desktop, server):
    """Start bringing ``server`` (in ERROR) back.

    Returns the desktop's new values, for the caller to store with the
    session.

    :raises Unrecoverable: the recovery failed; the desktop says so.
    :raises Unavailable: Nova cannot be reached (nothing changed).
    """
    if desktop.get('recovery') == states.RECOVERY_FAILED:
        alert(desktop, server.id, desktop.get('fault') or 'failed before')
        raise exceptions.Unrecoverable()
    if getattr(server, 'task_state', None):
        # Nova is working on it (e.g. the hard reboot of a login before).
        return {'status': states.RESTORING}
    if desktop.get('recovery') == states.RECOVERY_STARTED:
        failed(store, desktop, server.id, 'the instance is still in ERROR '
               'after a hard reboot')
        raise exceptions.Unrecoverable()
    try:
        compute.hard_reboot(server.id)
    except exceptions.Refused as e:
        failed(store, desktop, server.id, 'Nova refused a hard reboot: %s'
               % e)
        raise exceptions.Unrecoverable() from None
    LOG.warning('Desktop of %s: instance %s is in ERROR; asked Nova for a '
                'hard reboot to recover it', desktop['subscriber'],
                server.id)
    return {'status': states.RESTORING,
            'recovery': states.RECOVERY_STARTED}


def failed(store, desktop, instance_id, reason):
    """Record a failed recovery and alert the operator."""
    store.update_desktop(desktop['id'], status=states.ERROR,
                         recovery=states.RECOVERY_FAILED,
                         fault=('recovery failed: %s' % reason)[:255])
    alert(desktop, instance_id, reason)


def alert(desktop, instance_id, reason):
    """The operator's alert: one ERROR line saying what to do."""
    LOG.error('Desktop of %(imsi)s needs an operator: instance %(uuid)s is '
              'in ERROR and could not be recovered (%(reason)s). Its logins '
              'are refused (409) until the server is repaired in Nova '
              '(e.g. "openstack server set --state active %(uuid)s" then '
              '"openstack server reboot --hard %(uuid)s") or the subscriber '
              'is given a blank desktop with "vdesk-manage desktop replace '
              '--imsi %(imsi)s", which deletes the server and its data.',
              {'imsi': desktop['subscriber'], 'uuid': instance_id,
               'reason': reason})
