"""Nova scheduler plugins that place desktops by subscription tier.

``filters.SubscriptionFilter`` and ``weighers.SubscriptionWeigher`` run
inside nova-scheduler (see doc/source/admin/scheduler.rst); ``tiers`` holds
their pure arithmetic and ``pool`` what they read from Nova's objects.
"""
