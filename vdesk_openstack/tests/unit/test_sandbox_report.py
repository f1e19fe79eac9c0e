"""The sandbox's report waits for, or names, Stop records not yet received."""

import collections

import testtools

from vdesk_openstack.cmd import sandbox

Sub = collections.namedtuple('Sub', 'imsi')


class _Records(object):
    """Records an accounting server holds, one more arriving per read."""

    def __init__(self, received, arriving=()):
        self.subscribers = [Sub(imsi) for imsi in received]
        self._received = {imsi: list(r) for imsi, r in received.items()}
        self._arriving = list(arriving)

    def accounting(self, imsi):
        if self._arriving:
            late_imsi, kind = self._arriving.pop(0)
            self._received[late_imsi].append(kind)
        return list(self._received[imsi])


class MissingStopsTest(testtools.TestCase):

    def test_both_logouts_received(self):
        system = _Records({'1': ['Start', 'Stop', 'Start', 'Stop']})
        self.assertEqual({}, sandbox.missing_stops(system))

    def test_last_stop_missing_is_named(self):
        system = _Records({'1': ['Start', 'Stop', 'Start', 'Stop'],
                           '2': ['Start', 'Interim-Update', 'Stop', 'Start']})
        self.assertEqual({'2': 1}, sandbox.missing_stops(system))

    def test_waits_for_a_late_stop(self):
        system = _Records({'1': ['Start', 'Stop', 'Start']},
                          arriving=[('1', 'Interim-Update'), ('1', 'Stop')])
        self.assertEqual({}, sandbox._wait_for_stops(system, 10))

    def test_gives_up_and_says_which(self):
        system = _Records({'1': ['Start', 'Stop', 'Start'],
                           '2': ['Start', 'Stop', 'Start', 'Stop']})
        self.assertEqual({'1': 1}, sandbox._wait_for_stops(system, 0.3))
