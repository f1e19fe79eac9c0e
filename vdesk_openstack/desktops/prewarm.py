"""The budget of unclaimed pre-warms of a subscriber.

A pre-warm runs the desktop before its subscriber has asked for it, and
nothing is charged until a session is active. A pre-warm nobody claims is
released after ``[desktops] prewarm_timeout``; without a bound, logging in
with the SIM again and again -- never asking for the desktop -- would keep
a desktop running for free most of the time.

So each desktop counts the pre-warms released unclaimed within a window
(``[desktops] prewarm_window``, starting at the first of them): once
``prewarm_max_unclaimed`` are used, SIM logins pre-warm nothing until the
window has passed. A claimed pre-warm (a session opened on it) costs
nothing. A claim does not give the budget back either: otherwise a session
charged for a second would buy new free pre-warms. Free running time is
thus at most about ``prewarm_max_unclaimed`` x (``prewarm_timeout`` + one
engine tick + Nova's restore and shelve) per window and subscriber. A
subscriber who asks for the desktop loses nothing but the head start.
"""

import datetime


def _window_open(desktop, now, conf):
    since = desktop.get('unclaimed_since')
    window = datetime.timedelta(seconds=conf.desktops.prewarm_window)
    return since is not None and now - since < window


def allowed(desktop, now, conf):
    """Whether a SIM login may pre-warm ``desktop`` now."""
    limit = conf.desktops.prewarm_max_unclaimed
    if limit == 0:
        return False
    if not _window_open(desktop, now, conf):
        return True
    return (desktop.get('unclaimed_prewarms') or 0) < limit


def spent(desktop, now, conf):
    """The desktop's new budget values once a pre-warm went unclaimed."""
    if _window_open(desktop, now, conf):
        return {'unclaimed_prewarms':
                (desktop.get('unclaimed_prewarms') or 0) + 1}
    return {'unclaimed_prewarms': 1, 'unclaimed_since': now}
