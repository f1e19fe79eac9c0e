#!/bin/bash -xe
# Install osmo-hlr (Osmocom's HLR: a GSUP server with a MILENAGE AuC) for
# the tests of the "gsup" HSS driver. The tests and the sandbox start their
# own osmo-hlr on a free loopback port with a configuration and database
# of their own: the packaged daemon is neither needed nor left running.
# Run as root (or with passwordless sudo); it is idempotent.

. "$(dirname "$0")/packages.sh"

if ! command -v osmo-hlr >/dev/null && [ ! -x /usr/bin/osmo-hlr ]; then
    install_packages osmo-hlr
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
