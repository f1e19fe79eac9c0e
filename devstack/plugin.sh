#!/bin/bash
#
# DevStack plugin of vdesk-openstack: SIM (3GPP AKA) login in Keystone with
# the embedded HSS, the desktop service (vdesk-api under uwsgi, and
# vdesk-engine), the subscription-tier filter and weigher in
# nova-scheduler, the RADIUS charging publisher in Ceilometer, and
# optionally Kerbside (kerbside-api, kerbside-proxy), the token-checking
# SPICE proxy of the desktops' native consoles.
# Variables are in devstack/settings.
#
# Which option goes in which file, and how it combines with what the file
# already holds, is decided by the package (vdesk_openstack/deploy.py):
# this plugin asks "vdesk-manage config render" and sets every line it
# prints.

# Save trace setting
_XTRACE_VDESK=$(set +o | grep xtrace)
set -o xtrace

VDESK_BIN_DIR=$(get_python_exec_prefix)
VDESK_MANAGE=$VDESK_BIN_DIR/vdesk-manage


# is_vdesk_desktops_enabled() - Does this node run the desktop service?
function is_vdesk_desktops_enabled {
    is_service_enabled vdesk-api vdesk-engine
}

# is_vdesk_aka_enabled() - Does this node's Keystone get the aka method?
function is_vdesk_kerbside_enabled {
    is_service_enabled kerbside-api kerbside-proxy
}

function is_vdesk_aka_enabled {
    is_service_enabled keystone && [[ "$VDESK_AKA" == "True" ]]
}

# _vdesk_render TARGET [ARGS...] - What the deployment sets in TARGET,
# from DevStack's variables (see vdesk-manage config render --help).
# Secrets travel in the environment, not on the command line, and the
# functions that expand them run with xtrace off: stack.sh's log is often
# shared, and a traced line would carry the passwords into it.
function _vdesk_render {
    local target=$1
    shift
    _vdesk_config render --target $target "$@"
}

# _vdesk_config ACTION [ARGS...] - vdesk-manage config ACTION with the
# deployment's facts from DevStack's variables.
function _vdesk_config {
    local action=$1 xtrace rc
    shift
    xtrace=$(set +o | grep xtrace)
    set +o xtrace
    VDESK_SERVICE_PASSWORD="$SERVICE_PASSWORD" \
    VDESK_RADIUS_SECRET="$VDESK_RADIUS_SECRET" \
    VDESK_KERBSIDE_PASSWORD="$SERVICE_PASSWORD" \
    $VDESK_MANAGE config $action \
        --keystone-url "$KEYSTONE_SERVICE_URI" \
        --region-name "$REGION_NAME" \
        --vdesk-config-file "$VDESK_CONF" \
        --hss-connection "$(database_connection_url $VDESK_HSS_DB_NAME)" \
        --hss-key-file "$VDESK_HSS_KEY_FILE" \
        --database-connection "$(database_connection_url $VDESK_DB_NAME)" \
        --transport-url "$(get_notification_url)" \
        --coordination-url "$VDESK_COORDINATION_URL" \
        --service-user "$VDESK_SERVICE_USER" \
        --service-project "$VDESK_SERVICE_PROJECT" \
        --service-domain "$SERVICE_DOMAIN_NAME" \
        --subscriber-domain "$VDESK_SUBSCRIBER_DOMAIN" \
        --subscriber-project "$VDESK_SUBSCRIBER_PROJECT" \
        --subscriber-role "$VDESK_SUBSCRIBER_ROLE" \
        --challenge-ttl "$VDESK_CHALLENGE_TTL" \
        --outstanding-challenges-per-imsi \
            "$VDESK_CHALLENGES_KEPT_PER_IMSI" \
        --challenges-per-address "$VDESK_CHALLENGES_PER_ADDRESS" \
        --challenges-total "$VDESK_CHALLENGES_TOTAL" \
        --trusted-proxies "$VDESK_TRUSTED_PROXIES" \
        --radius-server "$VDESK_RADIUS_SERVER" \
        --radius-nas-identifier "$VDESK_RADIUS_NAS_IDENTIFIER" \
        --radius-spool-dir "$VDESK_RADIUS_SPOOL_DIR" \
        --hss-driver "$VDESK_HSS_DRIVER" \
        --hss-gsup-servers "$VDESK_HSS_GSUP_SERVERS" \
        --charging "$VDESK_CHARGING_PROTOCOL" \
        --diameter-server "$VDESK_DIAMETER_SERVER" \
        --diameter-failover "$VDESK_DIAMETER_FAILOVER" \
        --diameter-origin-host "$VDESK_DIAMETER_ORIGIN_HOST" \
        --diameter-origin-realm "$VDESK_DIAMETER_ORIGIN_REALM" \
        --diameter-destination-realm "$VDESK_DIAMETER_DESTINATION_REALM" \
        --diameter-spool-dir "$VDESK_DIAMETER_SPOOL_DIR" \
        --kerbside-url "$VDESK_KERBSIDE_URL" \
        --kerbside-ca-file "$VDESK_KERBSIDE_CA_FILE" \
        --kerbside-dir "$VDESK_KERBSIDE_DIR" \
        --kerbside-venv "$VDESK_KERBSIDE_VENV" \
        --kerbside-database-connection \
            "$(database_connection_url $VDESK_KERBSIDE_DB_NAME)" \
        --kerbside-public-host "$VDESK_KERBSIDE_PUBLIC_HOST" \
        --kerbside-listen "$VDESK_KERBSIDE_PROXY_LISTEN" \
        --kerbside-proxy-port "$VDESK_KERBSIDE_PROXY_PORT" \
        --kerbside-proxy-tls-port "$VDESK_KERBSIDE_PROXY_TLS_PORT" \
        --kerbside-metrics-port "$VDESK_KERBSIDE_METRICS_PORT" \
        --kerbside-node-name "$HOSTNAME" \
        --console-token-ttl "$VDESK_CONSOLE_TOKEN_TTL" \
        --spice-tls-dir "$VDESK_SPICE_TLS_DIR" \
        "$@"
    rc=$?
    $xtrace
    return $rc
}

# _vdesk_configure FILE TARGET - Set in FILE what the deployment sets for
# TARGET, reading FILE's current values first. A repeated option is
# multi-valued (one line per value).
function _vdesk_configure {
    local file=$1
    local target=$2
    local lines section option value key last="" xtrace
    xtrace=$(set +o | grep xtrace)
    set +o xtrace
    lines=$(_vdesk_render $target --current $file) || \
        die $LINENO "vdesk-manage config render --target $target failed"
    while read -r section option value; do
        [[ -z "$section" ]] && continue
        key="$section $option"
        if [[ "$key" == "$last" ]]; then
            iniadd $file $section $option "$value"
        else
            inidelete $file $section $option
            iniset $file $section $option "$value"
        fi
        last=$key
    done <<< "$lines"
    $xtrace
}

# _vdesk_service_user NAME - ID of the service user NAME (created with
# SERVICE_PASSWORD if missing), without tracing the password.
function _vdesk_service_user {
    local xtrace rc
    xtrace=$(set +o | grep xtrace)
    set +o xtrace
    get_or_create_user $1 "$SERVICE_PASSWORD" "$SERVICE_DOMAIN_NAME"
    rc=$?
    $xtrace
    return $rc
}

# install_vdesk() - Install the package into DevStack's Python environment
function install_vdesk {
    setup_develop $VDESK_DIR
}

# configure_vdesk() - vdesk.conf, the databases, their schemas and the
# K/OPc key file
function configure_vdesk {
    sudo install -d -o $STACK_USER -m 0750 $VDESK_CONF_DIR
    sudo install -d -o $STACK_USER -m 0750 $VDESK_STATE_DIR
    touch $VDESK_CONF
    chmod 0640 $VDESK_CONF
    _vdesk_configure $VDESK_CONF vdesk

    local schema=hss
    recreate_database $VDESK_HSS_DB_NAME
    if is_vdesk_desktops_enabled; then
        schema=all
        recreate_database $VDESK_DB_NAME
    fi
    # Creates the schemas, and the key file (mode 0600, owned by
    # $STACK_USER, the user Keystone and the desktop service run as) if
    # it does not exist.
    $VDESK_MANAGE --config-file $VDESK_CONF db sync --schema $schema
}

# configure_vdesk_keystone() - Enable the aka method in keystone.conf, and
# Keystone's policy that keeps SIM logins from minting credentials
function configure_vdesk_keystone {
    _vdesk_configure $KEYSTONE_CONF keystone
    configure_vdesk_keystone_policy
}

# configure_vdesk_keystone_policy() - A SIM token creates no application
# credential, EC2 credential or trust: rules added to Keystone's policy
# file (the rules it holds already are kept)
function configure_vdesk_keystone_policy {
    local policy
    policy=$(iniget $KEYSTONE_CONF oslo_policy policy_file)
    policy=${policy:-policy.yaml}
    if [[ "$policy" != /* ]]; then
        policy=$KEYSTONE_CONF_DIR/$policy
    fi
    _vdesk_render_to $policy keystone-policy --current $policy
    iniset $KEYSTONE_CONF oslo_policy policy_file $policy
}

# restart_vdesk_keystone() - Keystone is already running at post-config:
# restart it so that it loads the aka method, and wait until it answers.
function restart_vdesk_keystone {
    if [[ "$WSGI_MODE" == "mod_wsgi" ]]; then
        restart_apache_server
    else
        restart_service devstack@keystone
    fi
    if ! wait_for_service $SERVICE_TIMEOUT $KEYSTONE_SERVICE_URI/v3/; then
        die $LINENO "keystone did not restart with the aka method"
    fi
}

# create_vdesk_service_accounts() - The desktop service's user, its
# catalog entry (type "desktop") and endpoint.
#
# Project    User    Roles
# -------------------------------
# service    vdesk   admin, service
#
# admin: the service creates the desktops' private flavors (see
# doc/source/admin/desktop-api.rst); service: keystonemiddleware.
function create_vdesk_service_accounts {
    local user_id
    user_id=$(_vdesk_service_user $VDESK_SERVICE_USER)
    get_or_add_user_project_role admin $user_id $VDESK_SERVICE_PROJECT \
        "$SERVICE_DOMAIN_NAME" "$SERVICE_DOMAIN_NAME"
    get_or_add_user_project_role service $user_id $VDESK_SERVICE_PROJECT \
        "$SERVICE_DOMAIN_NAME" "$SERVICE_DOMAIN_NAME"

    local service_id url
    url="$VDESK_API_PROTOCOL://$VDESK_API_HOST:$VDESK_API_PORT"
    service_id=$(get_or_create_service vdesk desktop "Subscriber desktops")
    get_or_create_endpoint $service_id "$REGION_NAME" "$url" "" "$url"
}

# configure_vdesk_api() - Tokens ([keystone_authtoken]), the paste
# pipeline and uwsgi
function configure_vdesk_api {
    local xtrace
    # DevStack's helper traces the iniset of the service password.
    xtrace=$(set +o | grep xtrace)
    set +o xtrace
    configure_keystone_authtoken_middleware $VDESK_CONF $VDESK_SERVICE_USER
    $xtrace
    cp $VDESK_DIR/etc/vdesk/api-paste.ini $VDESK_API_PASTE
    write_uwsgi_config "$VDESK_UWSGI_CONF" "$VDESK_UWSGI" "" \
        "$VDESK_API_LISTEN:$VDESK_API_PORT" vdesk-api
    iniadd $VDESK_UWSGI_CONF uwsgi env VDESK_CONFIG_FILE=$VDESK_CONF \
        VDESK_API_PASTE=$VDESK_API_PASTE
}

# configure_vdesk_nova() - SubscriptionFilter, SubscriptionWeigher and
# versioned notifications for the engine (see
# doc/source/admin/scheduler.rst). Nova starts after post-config, so it
# reads them on its first start.
function configure_vdesk_nova {
    _vdesk_configure $NOVA_CONF nova
}

# configure_vdesk_ceilometer() - The vdesk session events go to the RADIUS
# publisher: event definitions, event pipeline and [vdesk_radius] secret.
# Ceilometer's plugin copied its pipeline files at its own post-config
# (enable vdesk-openstack after ceilometer) and starts the agent later.
function configure_vdesk_ceilometer {
    local file
    for file in event_pipeline event_definitions; do
        if [[ ! -f $CEILOMETER_CONF_DIR/$file.yaml ]]; then
            die $LINENO "$CEILOMETER_CONF_DIR/$file.yaml is missing:" \
                "enable_plugin vdesk-openstack after ceilometer"
        fi
    done
    _vdesk_render event-pipeline \
        --current $CEILOMETER_CONF_DIR/event_pipeline.yaml \
        > $CEILOMETER_CONF_DIR/event_pipeline.yaml.vdesk || \
        die $LINENO "vdesk-manage config render --target event-pipeline failed"
    mv $CEILOMETER_CONF_DIR/event_pipeline.yaml.vdesk \
        $CEILOMETER_CONF_DIR/event_pipeline.yaml
    _vdesk_render event-definitions \
        --current $CEILOMETER_CONF_DIR/event_definitions.yaml \
        > $CEILOMETER_CONF_DIR/event_definitions.yaml.vdesk || \
        die $LINENO "vdesk-manage config render --target event-definitions failed"
    mv $CEILOMETER_CONF_DIR/event_definitions.yaml.vdesk \
        $CEILOMETER_CONF_DIR/event_definitions.yaml
    _vdesk_configure $CEILOMETER_CONF ceilometer
    sudo install -d -o $STACK_USER -m 0750 $VDESK_RADIUS_SPOOL_DIR
}

# create_vdesk_accounts() - The subscriber domain, project and role (one
# of its own, that no other service grants anything to); the aka method
# creates the users (named by IMSI) and their role assignment.
function create_vdesk_accounts {
    get_or_create_domain $VDESK_SUBSCRIBER_DOMAIN \
        "vdesk subscribers (users named by IMSI)"
    openstack --os-cloud devstack-system-admin project create --or-show \
        --domain $VDESK_SUBSCRIBER_DOMAIN \
        --description "Project subscriber tokens are scoped to" \
        $VDESK_SUBSCRIBER_PROJECT
    get_or_create_role $VDESK_SUBSCRIBER_ROLE
    zero_vdesk_subscriber_quotas
}

# zero_vdesk_subscriber_quotas() - The subscribers' project creates nothing
# in Nova, Neutron or Cinder, whatever a policy lets its role do (see
# vdesk_openstack/subscriber_rights.py)
function zero_vdesk_subscriber_quotas {
    local project
    project=$(openstack --os-cloud devstack-system-admin project show \
        -f value -c id --domain $VDESK_SUBSCRIBER_DOMAIN \
        $VDESK_SUBSCRIBER_PROJECT)
    if is_service_enabled n-api; then
        openstack --os-cloud devstack-admin quota set --instances 0 \
            --cores 0 --ram 0 --key-pairs 0 --server-groups 0 \
            --server-group-members 0 $project
    fi
    if is_service_enabled neutron-api q-svc; then
        openstack --os-cloud devstack-admin quota set --networks 0 \
            --subnets 0 --ports 0 --routers 0 --floating-ips 0 \
            --secgroups 0 --secgroup-rules 0 $project
    fi
    if is_service_enabled c-api; then
        openstack --os-cloud devstack-admin quota set --volumes 0 \
            --snapshots 0 --gigabytes 0 --backups 0 \
            --backup-gigabytes 0 $project
    fi
}

# create_vdesk_demo_subscriber() - A plan and a subscriber in the HSS
function create_vdesk_demo_subscriber {
    local manage="$VDESK_MANAGE --config-file $VDESK_CONF"
    $manage plan add $VDESK_DEMO_PLAN \
        --vcpus $VDESK_DEMO_PLAN_VCPUS --ram-mb $VDESK_DEMO_PLAN_RAM_MB \
        --disk-gb $VDESK_DEMO_PLAN_DISK_GB \
        --priority $VDESK_DEMO_PLAN_PRIORITY
    if [[ "$VDESK_HSS_DRIVER" == "gsup" ]]; then
        # The SIM secrets are the HLR's: provision them there.
        $manage subscriber add --imsi $VDESK_DEMO_IMSI --plan $VDESK_DEMO_PLAN
    else
        local xtrace
        xtrace=$(set +o | grep xtrace)
        set +o xtrace
        $manage subscriber add --imsi $VDESK_DEMO_IMSI --k $VDESK_DEMO_K \
            --op $VDESK_DEMO_OP --plan $VDESK_DEMO_PLAN
        $xtrace
    fi
    echo "vdesk demo subscriber $VDESK_DEMO_IMSI: log in with"
    echo "  openstack --os-auth-type v3aka --os-auth-url $KEYSTONE_SERVICE_URI/v3" \
        "--os-imsi $VDESK_DEMO_IMSI --os-k <K> --os-op <OP>" \
        "--os-project-name $VDESK_SUBSCRIBER_PROJECT" \
        "--os-project-domain-name $VDESK_SUBSCRIBER_DOMAIN token issue"
}

# install_vdesk_kerbside() - Kerbside in a virtualenv of its own (it pins
# SQLAlchemy 2.1 and more, which OpenStack's do not allow)
function install_vdesk_kerbside {
    KERBSIDE_VENV=$VDESK_KERBSIDE_VENV bash $VDESK_DIR/tools/setup-kerbside.sh
}

# _vdesk_kerbside_exec COMMAND... - COMMAND with Kerbside's settings (the
# KERBSIDE_* variables of kerbside.env) in its environment
function _vdesk_kerbside_exec {
    echo "bash -c 'set -a && . $VDESK_KERBSIDE_DIR/kerbside.env && exec $*'"
}

# configure_vdesk_kerbside() - Kerbside's user (the console-auth role, which
# Nova's policy lets read console tokens), database, certificates, sources
# and settings; Nova's policy rule. See doc/source/admin/desktop-api.rst.
#
# Project    User       Roles
# -------------------------------
# service    kerbside   console-auth
function configure_vdesk_kerbside {
    local user_id dir=$VDESK_KERBSIDE_DIR policy
    user_id=$(_vdesk_service_user kerbside)
    get_or_create_role console-auth > /dev/null
    get_or_add_user_project_role console-auth $user_id \
        $SERVICE_PROJECT_NAME "$SERVICE_DOMAIN_NAME" "$SERVICE_DOMAIN_NAME"

    sudo install -d -o $STACK_USER -m 0750 $dir
    recreate_database $VDESK_KERBSIDE_DB_NAME
    # The CA's key signs the computes' SPICE certificates too.
    if [[ ! -f $dir/ca-cert.pem || ! -f $dir/ca-key.pem ]]; then
        _vdesk_config kerbside-certificates --host "$HOSTNAME" > /dev/null \
            || die $LINENO "vdesk-manage config kerbside-certificates failed"
    fi
    _vdesk_render_to $dir/sources.yaml kerbside-sources
    _vdesk_render_to $dir/kerbside.env kerbside-env \
        --current $dir/kerbside.env
    # Untraced: sourcing kerbside.env would trace its secrets.
    (set +o xtrace && set -a && . $dir/kerbside.env && \
        $VDESK_KERBSIDE_VENV/bin/kerbside db upgrade) || \
        die $LINENO "kerbside db upgrade failed"

    # Nova's policy: console token details for console-auth too.
    policy=$(dirname $NOVA_CONF)/policy.yaml
    _vdesk_render_to $policy nova-policy --current $policy
    iniset $NOVA_CONF oslo_policy policy_file $policy

    _vdesk_kerbside_auth_secret
    configure_vdesk_spice_tls
}

# _vdesk_kerbside_auth_secret() - vdesk.conf gets Kerbside's
# AUTH_SECRET_SEED: the desktop service revokes a desktop's consoles at
# Kerbside with it at every release
function _vdesk_kerbside_auth_secret {
    local xtrace seed
    xtrace=$(set +o | grep xtrace)
    set +o xtrace
    seed=$(sed -n 's/^KERBSIDE_AUTH_SECRET_SEED=//p' \
        $VDESK_KERBSIDE_DIR/kerbside.env)
    [[ -n "$seed" ]] || die $LINENO "no AUTH_SECRET_SEED in kerbside.env"
    iniset $VDESK_CONF desktops kerbside_auth_secret "$seed"
    $xtrace
}

# configure_vdesk_spice_tls() - The compute serves SPICE over TLS only:
# QEMU's certificate signed by Kerbside's CA (its proxy checks it),
# qemu.conf's spice_tls (a block of ours), Nova's [spice] require_secure
# (no plain-text channel) and short-lived console tokens
function configure_vdesk_spice_tls {
    local owner="" host hosts="" lines
    local begin="# vdesk-openstack: SPICE over TLS (begin)"
    local end="# vdesk-openstack: SPICE over TLS (end)"
    if getent passwd libvirt-qemu > /dev/null; then
        owner="--owner libvirt-qemu"
    fi
    for host in ${NOVA_SERVICE_LOCAL_HOST:-} ${HOST_IP:-} 127.0.0.1 \
            $HOSTNAME; do
        hosts+=" --host $host"
    done
    # shellcheck disable=SC2086
    sudo $VDESK_MANAGE config spice-certificates \
        --kerbside-dir $VDESK_KERBSIDE_DIR \
        --spice-tls-dir $VDESK_SPICE_TLS_DIR $hosts $owner > /dev/null \
        || die $LINENO "vdesk-manage config spice-certificates failed"
    lines=$(_vdesk_render qemu-spice-tls) || \
        die $LINENO "vdesk-manage config render --target qemu-spice-tls failed"
    if [[ -f $VDESK_QEMU_CONF ]]; then
        sudo sed -i "/^$begin\$/,/^$end\$/d" $VDESK_QEMU_CONF
    fi
    printf '%s\n' "$begin" "$lines" "$end" | \
        sudo tee -a $VDESK_QEMU_CONF > /dev/null
    restart_service ${LIBVIRT_DAEMON:-libvirtd}
    iniset $NOVA_CONF spice require_secure true
    iniset $NOVA_CONF consoleauth token_ttl $VDESK_CONSOLE_TOKEN_TTL
}

# _vdesk_render_to FILE TARGET [ARGS...] - vdesk-manage config render into
# FILE (mode 0600), replaced only when the command succeeds
function _vdesk_render_to {
    local file=$1 target=$2
    shift 2
    (umask 077 && _vdesk_render $target "$@" > $file.vdesk) || \
        die $LINENO "vdesk-manage config render --target $target failed"
    mv $file.vdesk $file
}

# start_vdesk_kerbside() - Kerbside's API under gunicorn and its proxy
function start_vdesk_kerbside {
    local listen=$VDESK_KERBSIDE_API_LISTEN
    if [[ "$listen" == *:* ]]; then
        listen="[$listen]"  # IPv6
    fi
    run_process kerbside-api "$(_vdesk_kerbside_exec \
        $VDESK_KERBSIDE_VENV/bin/gunicorn \
        --bind $listen:$VDESK_KERBSIDE_API_PORT \
        --workers ${API_WORKERS:-2} --worker-class gthread --threads 4 \
        --timeout 120 kerbside.api:app)"
    run_process kerbside-proxy "$(_vdesk_kerbside_exec \
        $VDESK_KERBSIDE_VENV/bin/kerbside daemon run)"
}

# stop_vdesk_kerbside() - Stop Kerbside's API and proxy
function stop_vdesk_kerbside {
    stop_process kerbside-api
    stop_process kerbside-proxy
}

# start_vdesk() - vdesk-api under uwsgi, vdesk-engine (Nova runs by now)
function start_vdesk {
    run_process vdesk-api "$(which uwsgi) --procname-prefix vdesk-api --ini $VDESK_UWSGI_CONF"
    run_process vdesk-engine "$VDESK_BIN_DIR/vdesk-engine --config-file $VDESK_CONF"
}

# stop_vdesk() - Stop the desktop service and remove its uwsgi file
function stop_vdesk {
    local service
    for service in vdesk-api vdesk-engine; do
        stop_process $service
    done
    remove_uwsgi_config "$VDESK_UWSGI_CONF" vdesk-api
}

# cleanup_vdesk() - Remove what the plugin wrote outside the databases
function cleanup_vdesk {
    sudo rm -rf $VDESK_CONF_DIR $VDESK_STATE_DIR
    if is_vdesk_kerbside_enabled; then
        sudo rm -rf $VDESK_KERBSIDE_DIR
    fi
}


if [[ "$1" == "stack" && "$2" == "install" ]]; then
    echo_summary "Installing vdesk-openstack"
    install_vdesk
    if is_vdesk_kerbside_enabled; then
        echo_summary "Installing Kerbside"
        install_vdesk_kerbside
    fi

elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
    if is_vdesk_aka_enabled || is_vdesk_desktops_enabled; then
        echo_summary "Configuring vdesk.conf and the vdesk databases"
        configure_vdesk
    fi
    if is_vdesk_aka_enabled; then
        echo_summary "Configuring the Keystone aka method"
        configure_vdesk_keystone
        restart_vdesk_keystone
    fi
    if is_vdesk_desktops_enabled; then
        echo_summary "Configuring the vdesk desktop service"
        create_vdesk_service_accounts
        configure_vdesk_api
    fi
    if is_vdesk_kerbside_enabled; then
        echo_summary "Configuring Kerbside, the desktops' SPICE proxy"
        configure_vdesk_kerbside
    fi
    if is_service_enabled n-sch && [[ "$VDESK_SCHEDULER" == "True" ]]; then
        echo_summary "Configuring the vdesk scheduler filter and weigher"
        configure_vdesk_nova
    fi
    if is_service_enabled ceilometer-anotification && \
            [[ "$VDESK_CHARGING" == "True" ]]; then
        echo_summary "Configuring the vdesk RADIUS charging publisher"
        configure_vdesk_ceilometer
    fi

elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
    if is_vdesk_aka_enabled; then
        echo_summary "Creating the vdesk subscriber domain and project"
        create_vdesk_accounts
        if [[ "$VDESK_DEMO_SUBSCRIBER" == "True" ]]; then
            echo_summary "Provisioning the vdesk demo subscriber"
            create_vdesk_demo_subscriber
        fi
    fi
    if is_vdesk_kerbside_enabled; then
        echo_summary "Starting Kerbside"
        start_vdesk_kerbside
    fi
    if is_vdesk_desktops_enabled; then
        echo_summary "Starting the vdesk desktop service"
        start_vdesk
    fi
fi

if [[ "$1" == "unstack" ]]; then
    if is_vdesk_desktops_enabled; then
        stop_vdesk
    fi
    if is_vdesk_kerbside_enabled; then
        stop_vdesk_kerbside
    fi
fi

if [[ "$1" == "clean" ]]; then
    cleanup_vdesk
fi

# Restore xtrace
$_XTRACE_VDESK
