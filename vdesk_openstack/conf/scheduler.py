"""[vdesk_scheduler] options of nova.conf: SubscriptionFilter/Weigher."""


def list_opts():
    return []
