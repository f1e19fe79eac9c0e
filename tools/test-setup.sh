#!/bin/bash -xe
# Prepare a machine for the functional tests, as OpenStack projects do:
# - the openstack_citest user/database on MariaDB and PostgreSQL, used by
#   oslo.db's opportunistic test fixtures;
# - FreeRADIUS (server and radclient) for the charging tests;
# - libvirt/QEMU, the desktop image's packages and remote-viewer (the real
#   cloud and the desktop guest tests), osmo-hlr and freeDiameter with
#   app_acct.
# Run as root (or with passwordless sudo); it is idempotent.

DB_ROOT_PW=${MYSQL_ROOT_PW:-}
DB_USER=openstack_citest
DB_PW=openstack_citest

. "$(dirname "$0")/packages.sh"

# --- MariaDB ---------------------------------------------------------------
mysql_root() {
    if [ -n "$DB_ROOT_PW" ]; then
        $SUDO mysql -u root -p"$DB_ROOT_PW" "$@"
    else
        $SUDO mysql -u root "$@"
    fi
}
mysql_root -h 127.0.0.1 <<SQL
CREATE USER IF NOT EXISTS '$DB_USER'@'%' IDENTIFIED BY '$DB_PW';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PW';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
CREATE DATABASE IF NOT EXISTS openstack_citest;
SQL

# --- PostgreSQL ------------------------------------------------------------
pg() {
    if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
        su postgres -c "psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 $*"
    else
        psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 "$@"
    fi
}
if ! pg -tAc "\"SELECT 1 FROM pg_roles WHERE rolname='$DB_USER'\"" | grep -q 1; then
    pg -c "\"CREATE ROLE $DB_USER WITH SUPERUSER LOGIN PASSWORD '$DB_PW'\""
fi
if ! pg -tAc "\"SELECT 1 FROM pg_database WHERE datname='openstack_citest'\"" | grep -q 1; then
    pg -c "\"CREATE DATABASE openstack_citest OWNER $DB_USER\""
fi

# --- FreeRADIUS ------------------------------------------------------------
if ! command -v radclient >/dev/null || ! command -v freeradius >/dev/null; then
    install_packages freeradius freeradius-utils
fi
# The tests run their own FreeRADIUS copies on free ports; the packaged
# daemon is not needed (and may not even be startable in a container).
$SUDO service freeradius stop >/dev/null 2>&1 || true

# --- A real hypervisor and SPICE client (desktop guest tests) --------------
# libvirt/QEMU (TCG), the Debian packages the desktop image is built from,
# and remote-viewer under Xvfb. The tests start their own virtlogd and
# libvirtd: the packaged services are neither needed nor started here.
HYPERVISOR_PKGS="qemu-system-x86 qemu-utils libvirt-daemon-system
libvirt-clients python3-libvirt busybox-static cpio linux-image-cloud-amd64
virt-viewer xvfb imagemagick"
# shellcheck disable=SC2086
install_packages $HYPERVISOR_PKGS

# --- The operator's HLR and a Diameter Rf CDF ------------------------------
# osmo-hlr for the HSS-over-GSUP tests; freeDiameter with the app_acct
# extension (built from Debian's source package) writing into PostgreSQL
# for the Diameter charging tests.
bash "$(dirname "$0")/setup-osmo-hlr.sh"
bash "$(dirname "$0")/setup-freediameter.sh"
bash "$(dirname "$0")/setup-kerbside.sh"

# --- tox 3 and the sandbox's tox plugin ------------------------------------
# tox.ini needs tox 3 (its envs share one virtualenv); tools/tox-vdesk keeps
# tox's status lines off stdout in `tox -e sandbox -- --json`.
if ! python3 -m pip install -q 'tox~=3.28' "$(dirname "$0")/tox-vdesk"; then
    echo "test-setup: could not pip install tox 3 and tools/tox-vdesk" \
         "for $(command -v python3); 'tox -qq -e sandbox -- --json'" \
         "prints the JSON alone without the plugin" >&2
fi
