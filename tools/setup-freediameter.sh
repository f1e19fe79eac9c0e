#!/bin/bash -xe
# A Diameter Rf charging server (CDF) for the charging tests and the
# sandbox: freeDiameter (freediameterd) with its app_acct extension, which
# answers every Accounting-Request and stores it in PostgreSQL.
#
# Debian packages freeDiameter without app_acct, so this builds the
# extension from Debian's own source package of the installed version and
# installs it as $APP_ACCT (vdesk_openstack/sandbox/cdf.py looks there).
# Run as root (or with passwordless sudo); it is idempotent: nothing is
# rebuilt while the installed extension matches the installed freeDiameter.

APP_ACCT_DIR=${APP_ACCT_DIR:-/usr/local/lib/freeDiameter}
APP_ACCT=$APP_ACCT_DIR/app_acct.fdx
STAMP=$APP_ACCT_DIR/app_acct.version

. "$(dirname "$0")/packages.sh"

# --- packages ----------------------------------------------------------------
PKGS="freediameter freediameterd freediameter-extensions libfreediameter-dev libpq-dev
flex bison gcc dpkg-dev postgresql-client"
# shellcheck disable=SC2086
install_packages $PKGS
$SUDO service freediameter stop >/dev/null 2>&1 || true
# Debian names the daemon freeDiameterd; the test harness looks for the
# lower-case name.
if ! command -v freediameterd >/dev/null; then
    $SUDO ln -sf "$(command -v freeDiameterd)" /usr/local/bin/freediameterd
fi

# --- app_acct, from the source package of the installed version -------------
version=$(dpkg-query -W -f='${source:Version}' freediameterd)
if [ -f "$APP_ACCT" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$version" ]; then
    exit 0
fi

# apt-get source needs a deb-src entry for the configured mirrors.
if ! apt-get indextargets --format '$(CREATED_BY)' 2>/dev/null \
        | grep -q '^Sources$'; then
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed -e 's/^Types: deb$/Types: deb-src/' \
            /etc/apt/sources.list.d/debian.sources \
            | $SUDO tee /etc/apt/sources.list.d/debian-src.sources >/dev/null
    elif [ -f /etc/apt/sources.list ]; then
        grep '^deb ' /etc/apt/sources.list | sed -e 's/^deb /deb-src /' \
            | $SUDO tee /etc/apt/sources.list.d/debian-src.list >/dev/null
    else
        echo "no apt sources to derive a deb-src entry from" >&2
        exit 1
    fi
    $SUDO apt-get update -qq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -qq --download-only "freediameter=$version"
dpkg-source -x --skip-patches freediameter_*.dsc src >/dev/null
# Debian's patches, if any, apply to the extension too.
if [ -f src/debian/patches/series ]; then
    (cd src && while read -r patch _; do
        case "$patch" in ''|'#'*) continue ;; esac
        patch -p1 -s < "debian/patches/$patch"
    done < debian/patches/series)
fi
cd src/extensions/app_acct
bison -d -p acct_conf acct_conf.y
flex -Pacct_conf -o lex.acct_conf.c acct_conf.l
gcc -shared -fPIC -O2 -I. -I/usr/include/postgresql -o app_acct.fdx \
    app_acct.c acct_db.c acct_records.c lex.acct_conf.c acct_conf.tab.c \
    -lfdcore -lfdproto -lpq
$SUDO install -d -m 755 "$APP_ACCT_DIR"
$SUDO install -m 644 app_acct.fdx "$APP_ACCT"
echo "$version" | $SUDO tee "$STAMP" >/dev/null
