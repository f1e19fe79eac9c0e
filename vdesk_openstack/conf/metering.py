"""Options of the RADIUS accounting publisher in ceilometer.conf."""


def list_opts():
    return []
