"""States of desktops and sessions, and the Nova states they come from."""

# Session states; ENDED sessions are history.
BUILDING = 'BUILDING'      # a new instance is being created
RESTORING = 'RESTORING'    # the stored instance is being unshelved/started
ACTIVE = 'ACTIVE'          # the desktop runs; a console can be had
RELEASING = 'RELEASING'    # logout: shelve + offload in progress
ERROR = 'ERROR'
ENDED = 'ENDED'

OPEN_SESSION_STATES = (BUILDING, RESTORING, ACTIVE, RELEASING, ERROR)

# Desktop (mapping) states.
CREATING = 'CREATING'      # row stored, Nova has not answered yet
RELEASED = 'RELEASED'      # shelved and offloaded: no host, UUID kept
DELETING = 'DELETING'
DESKTOP_STATES = (CREATING, BUILDING, RESTORING, ACTIVE, RELEASING,
                  RELEASED, ERROR, DELETING)

# Recovery of a desktop whose instance is in ERROR (desktop.recovery).
RECOVERY_STARTED = 'STARTED'
RECOVERY_FAILED = 'FAILED'

# Charging progress of a session.
CHARGING_NONE = 'none'
CHARGING_STARTED = 'started'
CHARGING_ENDED = 'ended'

# Terminate causes (RADIUS Acct-Terminate-Cause names, RFC 2866 5.10).
CAUSE_USER_REQUEST = 'User-Request'
CAUSE_IDLE_TIMEOUT = 'Idle-Timeout'
CAUSE_ADMIN_RESET = 'Admin-Reset'
CAUSE_LOST_SERVICE = 'Lost-Service'

# Nova server statuses (every one the compute API reports).
NOVA_ACTIVE = 'ACTIVE'
NOVA_BUILD = 'BUILD'
NOVA_SHUTOFF = 'SHUTOFF'
NOVA_SHELVED = 'SHELVED'
NOVA_SHELVED_OFFLOADED = 'SHELVED_OFFLOADED'
NOVA_ERROR = 'ERROR'
NOVA_DELETED = 'DELETED'
NOVA_SOFT_DELETED = 'SOFT_DELETED'
NOVA_PAUSED = 'PAUSED'
NOVA_SUSPENDED = 'SUSPENDED'
NOVA_RESCUE = 'RESCUE'
NOVA_UNKNOWN = 'UNKNOWN'
NOVA_VERIFY_RESIZE = 'VERIFY_RESIZE'

# Running: the guest is up and usable (a resize waiting for its
# confirmation runs on its new host already).
NOVA_RUNNING = (NOVA_ACTIVE, NOVA_VERIFY_RESIZE)
# On their way to another status by themselves: waiting is right.
NOVA_TRANSITIONAL = (NOVA_BUILD, 'REBUILD', 'REBOOT', 'HARD_REBOOT',
                     'MIGRATING', 'RESIZE', 'REVERT_RESIZE', 'PASSWORD')
# Lost to the session: nothing of the desktop can be used now. The next
# login rebuilds a deleted one and recovers one in ERROR (see recovery).
NOVA_LOST = (NOVA_ERROR, NOVA_DELETED)
# Stopped by someone, and brought back by one action of the service.
NOVA_STOPPED = (NOVA_SHUTOFF, NOVA_SHELVED, NOVA_SHELVED_OFFLOADED,
                NOVA_PAUSED, NOVA_SUSPENDED, NOVA_SOFT_DELETED)
# Held: only an operator can undo these (rescue), or Nova cannot reach the
# host (unknown). A login fails at once instead of waiting for them.
NOVA_HELD = (NOVA_RESCUE, NOVA_UNKNOWN)
