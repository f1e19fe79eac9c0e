#!/bin/bash -xe
# Install osmo-hlr (Osmocom's HLR: a GSUP server with a MILENAGE AuC) for
# the tests of the "gsup" HSS driver. The tests and the sandbox start their
# own osmo-hlr on a free loopback port with a configuration and database
# of their own: the packaged daemon is neither needed nor left running.
# Run as root (or with passwordless sudo); it is idempotent.

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
fi

if ! command -v osmo-hlr >/dev/null && [ ! -x /usr/bin/osmo-hlr ]; then
    export DEBIAN_FRONTEND=noninteractive
    # Keep the package's maintainer scripts from starting the daemon; an
    # existing policy is kept.
    temp_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod 755 /usr/sbin/policy-rc.d
        temp_policy=1
        trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq osmo-hlr >/dev/null
    if [ -n "$temp_policy" ]; then
        $SUDO rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
fi

# A packaged daemon started anyway (by an init system, or earlier) would
# hold GSUP's port 4222 and the VTY's 4258: stop it, keep it from starting
# at boot. Only the daemon started with the packaged configuration is
# stopped, never the tests' own instances.
$SUDO service osmo-hlr stop >/dev/null 2>&1 || true
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now osmo-hlr >/dev/null 2>&1 || true
fi
# The packaged daemon runs with the packaged configuration (or none);
# the tests' instances always name a configuration of their own.
packaged_pid="$(pgrep -f '^(/usr/bin/)?osmo-hlr -c /etc/osmocom/osmo-hlr\.cfg' || true)
$(pgrep -x -f '(/usr/bin/)?osmo-hlr' || true)"
packaged_pid=$(echo $packaged_pid)
if [ -n "$packaged_pid" ]; then
    # shellcheck disable=SC2086
    $SUDO kill $packaged_pid || true
fi
osmo-hlr --version | head -1
