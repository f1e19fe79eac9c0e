#!/bin/bash
#
# DevStack plugin of vdesk-openstack: SIM (3GPP AKA) login in Keystone with
# the embedded HSS, and the subscription-tier filter and weigher in
# nova-scheduler. Variables are in devstack/settings.

# Save trace setting
_XTRACE_VDESK=$(set +o | grep xtrace)
set -o xtrace

VDESK_BIN_DIR=$(get_python_exec_prefix)

# Nova's defaults, used when nova.conf does not set the option yet.
VDESK_NOVA_ALL_FILTERS=nova.scheduler.filters.all_filters
VDESK_NOVA_DEFAULT_FILTERS=ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter
VDESK_NOVA_ALL_WEIGHERS=nova.scheduler.weights.all_weighers
VDESK_FILTER_CLASS=vdesk_openstack.scheduler.filters.SubscriptionFilter
VDESK_WEIGHER_CLASS=vdesk_openstack.scheduler.weighers.SubscriptionWeigher


# _vdesk_append_to_list LIST ITEM: LIST (comma-separated) with ITEM
# appended unless already present.
function _vdesk_append_to_list {
    local list=$1
    local item=$2
    if [[ -z "$list" ]]; then
        echo "$item"
    elif [[ ",$list," == *",$item,"* ]]; then
        echo "$list"
    else
        echo "$list,$item"
    fi
}

# _vdesk_keystone_default_methods: Keystone's default [auth] methods, read
# from the installed Keystone (the list changes between releases).
function _vdesk_keystone_default_methods {
    local py
    for py in "$VDESK_BIN_DIR/python3" "${PYTHON:-python3}" python3; do
        if command -v "$py" >/dev/null 2>&1 && \
                "$py" -c 'import keystone.conf.constants' >/dev/null 2>&1; then
            "$py" -c 'from keystone.conf import constants; print(",".join(constants._DEFAULT_AUTH_METHODS))'
            return
        fi
    done
    echo "external,password,token,oauth1,mapped,application_credential"
}

# install_vdesk() - Install the package into DevStack's Python environment
function install_vdesk {
    setup_develop $VDESK_DIR
}

# configure_vdesk_hss() - vdesk.conf, the HSS database, schema and key
function configure_vdesk_hss {
    sudo install -d -o $STACK_USER -m 0750 $VDESK_CONF_DIR
    touch $VDESK_CONF
    chmod 0640 $VDESK_CONF

    iniset $VDESK_CONF hss driver sql
    iniset $VDESK_CONF hss connection "$(database_connection_url $VDESK_HSS_DB_NAME)"
    iniset $VDESK_CONF hss key_file $VDESK_HSS_KEY_FILE

    recreate_database $VDESK_HSS_DB_NAME
    # Creates the schema, and the key file (mode 0600, owned by
    # $STACK_USER, the user Keystone runs as) if it does not exist.
    $VDESK_BIN_DIR/vdesk-manage --config-file $VDESK_CONF db sync
}

# configure_vdesk_keystone() - Enable the aka method in keystone.conf
function configure_vdesk_keystone {
    local methods
    methods=$(iniget $KEYSTONE_CONF auth methods)
    if [[ -z "$methods" ]]; then
        methods=$(_vdesk_keystone_default_methods)
    fi
    # Appended at the end: the Fernet method bitmask of the methods
    # already listed stays the same.
    iniset $KEYSTONE_CONF auth methods $(_vdesk_append_to_list "$methods" aka)

    local primary
    primary=$(iniget $KEYSTONE_CONF auth additional_primary_auth_methods)
    iniset $KEYSTONE_CONF auth additional_primary_auth_methods \
        $(_vdesk_append_to_list "$primary" aka)

    iniset $KEYSTONE_CONF vdesk_aka vdesk_config_file $VDESK_CONF
    iniset $KEYSTONE_CONF vdesk_aka subscriber_domain $VDESK_SUBSCRIBER_DOMAIN
    iniset $KEYSTONE_CONF vdesk_aka subscriber_project $VDESK_SUBSCRIBER_PROJECT
    iniset $KEYSTONE_CONF vdesk_aka subscriber_role $VDESK_SUBSCRIBER_ROLE
    iniset $KEYSTONE_CONF vdesk_aka challenge_ttl $VDESK_CHALLENGE_TTL
    iniset $KEYSTONE_CONF vdesk_aka challenges_per_imsi $VDESK_CHALLENGES_PER_IMSI
    iniset $KEYSTONE_CONF vdesk_aka challenges_per_address $VDESK_CHALLENGES_PER_ADDRESS
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

# configure_vdesk_nova() - SubscriptionFilter and SubscriptionWeigher in
# nova-scheduler (see doc/source/admin/scheduler.rst). nova-scheduler
# starts after post-config, so it reads them on its first start.
function configure_vdesk_nova {
    local available
    available=$(iniget_multiline $NOVA_CONF filter_scheduler available_filters)
    if [[ -z "$available" ]]; then
        iniset $NOVA_CONF filter_scheduler available_filters $VDESK_NOVA_ALL_FILTERS
    fi
    # Multi-valued option: one line per class or list function.
    if [[ "$available" != *"$VDESK_FILTER_CLASS"* ]]; then
        iniadd $NOVA_CONF filter_scheduler available_filters $VDESK_FILTER_CLASS
    fi

    local enabled
    enabled=$(iniget $NOVA_CONF filter_scheduler enabled_filters)
    if [[ -z "$enabled" ]]; then
        enabled=$VDESK_NOVA_DEFAULT_FILTERS
    fi
    iniset $NOVA_CONF filter_scheduler enabled_filters \
        $(_vdesk_append_to_list "$enabled" SubscriptionFilter)

    local weighers
    weighers=$(iniget $NOVA_CONF filter_scheduler weight_classes)
    if [[ -z "$weighers" ]]; then
        weighers=$VDESK_NOVA_ALL_WEIGHERS
    fi
    iniset $NOVA_CONF filter_scheduler weight_classes \
        $(_vdesk_append_to_list "$weighers" $VDESK_WEIGHER_CLASS)
}

# create_vdesk_accounts() - The subscriber domain and project; the aka
# method creates the users (named by IMSI) and their role assignment.
function create_vdesk_accounts {
    openstack --os-cloud devstack-system-admin domain create --or-show \
        --description "vdesk subscribers (users named by IMSI)" \
        $VDESK_SUBSCRIBER_DOMAIN
    openstack --os-cloud devstack-system-admin project create --or-show \
        --domain $VDESK_SUBSCRIBER_DOMAIN \
        --description "Project subscriber tokens are scoped to" \
        $VDESK_SUBSCRIBER_PROJECT
    openstack --os-cloud devstack-system-admin role create --or-show \
        $VDESK_SUBSCRIBER_ROLE
}

# create_vdesk_demo_subscriber() - A plan and a subscriber in the HSS
function create_vdesk_demo_subscriber {
    local manage="$VDESK_BIN_DIR/vdesk-manage --config-file $VDESK_CONF"
    $manage plan add $VDESK_DEMO_PLAN \
        --vcpus $VDESK_DEMO_PLAN_VCPUS --ram-mb $VDESK_DEMO_PLAN_RAM_MB \
        --disk-gb $VDESK_DEMO_PLAN_DISK_GB \
        --priority $VDESK_DEMO_PLAN_PRIORITY
    $manage subscriber add --imsi $VDESK_DEMO_IMSI --k $VDESK_DEMO_K \
        --op $VDESK_DEMO_OP --plan $VDESK_DEMO_PLAN
    echo "vdesk demo subscriber $VDESK_DEMO_IMSI: log in with"
    echo "  openstack --os-auth-type v3aka --os-auth-url $KEYSTONE_SERVICE_URI/v3" \
        "--os-imsi $VDESK_DEMO_IMSI --os-k <K> --os-op <OP>" \
        "--os-project-name $VDESK_SUBSCRIBER_PROJECT" \
        "--os-project-domain-name $VDESK_SUBSCRIBER_DOMAIN token issue"
}

# cleanup_vdesk() - Remove what the plugin wrote outside the database
function cleanup_vdesk {
    sudo rm -rf $VDESK_CONF_DIR
}


if [[ "$1" == "stack" && "$2" == "install" ]]; then
    echo_summary "Installing vdesk-openstack"
    install_vdesk

elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
    if is_service_enabled keystone && [[ "$VDESK_AKA" == "True" ]]; then
        echo_summary "Configuring the vdesk HSS and the Keystone aka method"
        configure_vdesk_hss
        configure_vdesk_keystone
        restart_vdesk_keystone
    fi
    if is_service_enabled n-sch && [[ "$VDESK_SCHEDULER" == "True" ]]; then
        echo_summary "Configuring the vdesk scheduler filter and weigher"
        configure_vdesk_nova
    fi

elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
    if is_service_enabled keystone && [[ "$VDESK_AKA" == "True" ]]; then
        echo_summary "Creating the vdesk subscriber domain and project"
        create_vdesk_accounts
        if [[ "$VDESK_DEMO_SUBSCRIBER" == "True" ]]; then
            echo_summary "Provisioning the vdesk demo subscriber"
            create_vdesk_demo_subscriber
        fi
    fi
fi

if [[ "$1" == "unstack" ]]; then
    # The plugin runs no service of its own: Keystone and nova-scheduler
    # are stopped by DevStack.
    :
fi

if [[ "$1" == "clean" ]]; then
    cleanup_vdesk
fi

# Restore xtrace
$_XTRACE_VDESK
