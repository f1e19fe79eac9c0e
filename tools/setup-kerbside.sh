#!/bin/bash -xe
# Kerbside, the token-validating SPICE proxy, for the real-cloud sandbox and
# its functional test: Kerbside's API turns a Nova spice-direct console
# token into a .vv of its own, and its proxy (a Rust binary shipped in the
# kerbside-proxy wheel) relays the subscriber's SPICE connection to the
# hypervisor only for a token it issued.
#
# Kerbside pins its dependencies exactly (SQLAlchemy 2.1, Flask, grpcio,
# ...), and several of those pins conflict with OpenStack's, so it gets a
# virtualenv of its own, $KERBSIDE_VENV; vdesk_openstack/sandbox/kerbside.py
# looks there (VDESK_KERBSIDE_VENV names another). Its Nova token exchange
# imports openstacksdk and python-keystoneclient, which Kerbside does not
# declare: they are installed alongside it.
# Run as root (or with passwordless sudo); it is idempotent and returns at
# once while the installed set matches $REQUIREMENTS.
set -xe

KERBSIDE_VENV=${KERBSIDE_VENV:-/opt/vdesk/kerbside-venv}
KERBSIDE_VERSION=${KERBSIDE_VERSION:-0.8.0}
REQUIREMENTS="kerbside==$KERBSIDE_VERSION kerbside-proxy==$KERBSIDE_VERSION
openstacksdk==4.22.0 python-keystoneclient==6.0.0"
STAMP=$KERBSIDE_VENV/vdesk-requirements.txt
# Debian's interpreter: the virtualenv must not depend on a developer's
# pyenv or on the tox environment.
PYTHON=${KERBSIDE_PYTHON:-/usr/bin/python3}

. "$(dirname "$0")/packages.sh"

wanted=$(echo $REQUIREMENTS)
if [ -x "$KERBSIDE_VENV/bin/kerbside" ] && [ -x "$KERBSIDE_VENV/bin/kerbside-proxy" ] \
        && [ "$(cat "$STAMP" 2>/dev/null)" = "$wanted" ] \
        && "$KERBSIDE_VENV/bin/python" -c 'import kerbside, openstack, keystoneclient, MySQLdb' \
            2>/dev/null; then
    echo "Kerbside $KERBSIDE_VERSION is installed in $KERBSIDE_VENV"
    exit 0
fi

# --- packages ------------------------------------------------------------------
# mysqlclient (Kerbside's MySQL driver) builds against the MariaDB client
# library; gunicorn serves Kerbside's API; openssl makes the sandbox's
# certificates.
PKGS="python3-venv python3-dev default-libmysqlclient-dev pkg-config gcc openssl"
# shellcheck disable=SC2086
install_packages $PKGS

# --- the virtualenv ------------------------------------------------------------
$SUDO mkdir -p "$(dirname "$KERBSIDE_VENV")"
if [ ! -x "$KERBSIDE_VENV/bin/pip" ]; then
    $SUDO rm -rf "$KERBSIDE_VENV"
    $SUDO "$PYTHON" -m venv "$KERBSIDE_VENV"
fi
# shellcheck disable=SC2086
$SUDO "$KERBSIDE_VENV/bin/pip" install -q $REQUIREMENTS
echo "$wanted" | $SUDO tee "$STAMP" >/dev/null
"$KERBSIDE_VENV/bin/python" -c 'import kerbside, openstack, keystoneclient, MySQLdb'
"$KERBSIDE_VENV/bin/kerbside-proxy" --contract-hash
