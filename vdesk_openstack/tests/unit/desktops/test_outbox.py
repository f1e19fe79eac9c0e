"""Delivery of the charging outbox: order, retries, nothing dropped."""

import datetime
import json
from unittest import mock

from oslo_config import cfg
from oslo_config import fixture as config_fixture
import oslo_messaging
import testtools

from vdesk_openstack.conf import desktops as desktops_conf
from vdesk_openstack.desktops import charging
from vdesk_openstack.desktops import exceptions
from vdesk_openstack.desktops import outbox


class FakeStore(object):
    """The outbox part of the store, in memory."""

    def __init__(self, count):
        self.rows = [{'seq': i, 'id': 'rec-%d' % i, 'session_id': 's',
                      'event_type': charging.START,
                      'payload': json.dumps({'n': i}),
                      'created_at': datetime.datetime(2026, 1, 2, 3, 4, 5),
                      'attempts': 0, 'last_error': None}
                     for i in range(count)]

    def outbox_batch(self, limit):
        return [dict(r) for r in self.rows[:limit]]

    def outbox_delete(self, seq):
        self.rows = [r for r in self.rows if r['seq'] != seq]

    def outbox_failed(self, seq, error):
        for r in self.rows:
            if r['seq'] == seq:
                r['attempts'] += 1
                r['last_error'] = error


class FlakySender(object):

    def __init__(self, fail_at=()):
        self.fail_at = set(fail_at)
        self.sent = []

    def send(self, rec):
        if rec['id'] in self.fail_at:
            raise oslo_messaging.MessageDeliveryFailure('broker down')
        self.sent.append(rec['id'])


def _conf(test):
    conf = cfg.ConfigOpts()
    desktops_conf.register_opts(conf)
    charging.register_opts(conf)
    conf([], project='vdesk-unit')
    fixture = test.useFixture(config_fixture.Config(conf))
    fixture.config(group='charging', outbox_batch_size=3)
    return conf


class DeliveryTest(testtools.TestCase):

    def test_delivers_everything_in_order_across_batches(self):
        store = FakeStore(8)
        sender = FlakySender()
        delivery = outbox.Delivery(_conf(self), store, sender)
        self.assertEqual(8, delivery.deliver_once())
        self.assertEqual(['rec-%d' % i for i in range(8)], sender.sent)
        self.assertEqual([], store.rows)

    def test_a_refused_record_stops_the_batch_and_stays(self):
        store = FakeStore(5)
        sender = FlakySender(fail_at={'rec-2'})
        delivery = outbox.Delivery(_conf(self), store, sender)
        e = self.assertRaises(exceptions.DeliveryFailed,
                              delivery.deliver_once)
        self.assertIn('rec-2', str(e))
        # Nothing after it overtook it; it and the rest wait.
        self.assertEqual(['rec-0', 'rec-1'], sender.sent)
        self.assertEqual(['rec-2', 'rec-3', 'rec-4'],
                         [r['id'] for r in store.rows])
        self.assertEqual((1, 'broker down'), (store.rows[0]['attempts'],
                                              store.rows[0]['last_error']))
        sender.fail_at.clear()  # the broker is back
        self.assertEqual(3, delivery.deliver_once())
        self.assertEqual(['rec-%d' % i for i in range(5)], sender.sent)

    def test_only_one_engine_delivers_at_a_time(self):
        store = FakeStore(2)
        locks = mock.Mock()
        locks.named.return_value.__enter__ = mock.Mock(return_value=False)
        locks.named.return_value.__exit__ = mock.Mock(return_value=False)
        sender = FlakySender()
        delivery = outbox.Delivery(_conf(self), store, sender, locks)
        self.assertEqual(0, delivery.deliver())
        self.assertEqual([], sender.sent)
        locks.named.assert_called_once_with(outbox.LOCK_NAME,
                                            blocking=False)


class NotificationSenderTest(testtools.TestCase):

    def test_message_is_an_oslo_notification_with_the_record_id(self):
        conf = _conf(self)
        conf.set_override('driver', ['messagingv2'],
                          group='oslo_messaging_notifications')
        transport = mock.Mock()
        sender = charging.NotificationSender(conf, transport, host='h1')
        rec = FakeStore(1).rows[0]
        sender.send(rec)
        target, ctxt, message = transport._send_notification.call_args[0]
        self.assertEqual('notifications.info', target.topic)
        self.assertEqual({'message_id': 'rec-0', 'publisher_id': 'vdesk.h1',
                          'event_type': charging.START, 'priority': 'INFO',
                          'payload': {'n': 0},
                          'timestamp': '2026-01-02 03:04:05.000000'},
                         message)
        self.assertEqual({'version': 2.0, 'retry': 2},
                         transport._send_notification.call_args[1])

    def test_a_refusal_reaches_the_caller(self):
        conf = _conf(self)
        conf.set_override('driver', ['messaging'],
                          group='oslo_messaging_notifications')
        transport = mock.Mock()
        transport._send_notification.side_effect = \
            oslo_messaging.MessageDeliveryFailure('nack')
        sender = charging.NotificationSender(conf, transport)
        self.assertRaises(oslo_messaging.MessageDeliveryFailure, sender.send,
                          FakeStore(1).rows[0])
        self.assertEqual(1.0,
                         transport._send_notification.call_args[1]['version'])
