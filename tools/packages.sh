# Sourced by the set-up scripts in tools/: install the Debian packages that
# are missing, without letting their maintainer scripts start daemons (the
# tests and the sandbox start their own copies on free ports).

if [ -z "${SUDO+x}" ]; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        SUDO=sudo
    fi
fi
export DEBIAN_FRONTEND=noninteractive

# Print those of the packages "$@" that dpkg does not have installed.
missing_packages() {
    local pkg missing=""
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
                | grep -q "install ok installed"; then
            missing="$missing $pkg"
        fi
    done
    echo $missing
}

# apt-get install those of "$@" that are missing. A policy-rc.d that
# refuses every start is put in place for the install (an existing policy
# is kept) and removed afterwards, also when the install fails.
install_packages() {
    local missing
    missing=$(missing_packages "$@")
    if [ -z "$missing" ]; then
        return 0
    fi
    if [ -e /usr/sbin/policy-rc.d ]; then
        _apt_install $missing
        return
    fi
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    local rc=0
    _apt_install $missing || rc=$?
    $SUDO rm -f /usr/sbin/policy-rc.d
    return $rc
}

_apt_install() {
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "$@" >/dev/null
}
