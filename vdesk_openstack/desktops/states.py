"""States of desktops and sessions, and the Nova states they come from."""

# Session states (contract 4.7); ENDED sessions are history.
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

# Charging progress of a session.
CHARGING_NONE = 'none'
CHARGING_STARTED = 'started'
CHARGING_ENDED = 'ended'

# Terminate causes (RADIUS Acct-Terminate-Cause names, RFC 2866 5.10).
CAUSE_USER_REQUEST = 'User-Request'
CAUSE_IDLE_TIMEOUT = 'Idle-Timeout'
CAUSE_ADMIN_RESET = 'Admin-Reset'
CAUSE_LOST_SERVICE = 'Lost-Service'

# Nova server statuses that matter here.
NOVA_ACTIVE = 'ACTIVE'
NOVA_BUILD = 'BUILD'
NOVA_SHUTOFF = 'SHUTOFF'
NOVA_SHELVED = 'SHELVED'
NOVA_SHELVED_OFFLOADED = 'SHELVED_OFFLOADED'
NOVA_ERROR = 'ERROR'
NOVA_DELETED = 'DELETED'
