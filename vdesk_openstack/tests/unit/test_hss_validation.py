"""Unit tests of input validation, K/OPc sealing and the aka payload."""

import os

import fixtures
from keystone import exception as ks_exception
import testtools

from vdesk_openstack.hss import crypto
from vdesk_openstack.hss import exceptions
from vdesk_openstack.hss import validation
from vdesk_openstack.keystone import aka


class ValidationTest(testtools.TestCase):

    def test_imsi(self):
        self.assertEqual('001010000000001',
                         validation.imsi('001010000000001'))
        self.assertEqual('123456', validation.imsi('123456'))
        for bad in ('12345', '1' * 16, '00101000000000a', '', None, 1234567,
                    ' 001010000000001', '001010000000001\n'):
            self.assertRaises(exceptions.InvalidInput, validation.imsi, bad)

    def test_hex_bytes(self):
        self.assertEqual(b'\x80\x00', validation.hex_bytes('8000', 2, 'amf'))
        self.assertEqual(b'\xab' * 16,
                         validation.hex_bytes('0x' + 'AB' * 16, 16, 'k'))
        e = self.assertRaises(exceptions.InvalidInput, validation.hex_bytes,
                              'ab' * 15, 16, '--k')
        self.assertEqual('--k must be 32 hex digits (16 bytes), got 30 '
                         'digits', str(e))
        e = self.assertRaises(exceptions.InvalidInput, validation.hex_bytes,
                              'zz' * 16, 16, '--opc')
        self.assertEqual('--opc is not valid hex', str(e))
        self.assertRaises(exceptions.InvalidInput, validation.hex_bytes,
                          None, 16, 'k')

    def test_plan_tier_and_integers(self):
        self.assertEqual('gold-2', validation.plan_name('gold-2'))
        self.assertRaises(exceptions.InvalidInput, validation.plan_name,
                          '-gold')
        self.assertRaises(exceptions.InvalidInput, validation.plan_name,
                          'g' * 65)
        self.assertEqual('gold', validation.tier('gold'))
        self.assertRaises(exceptions.InvalidInput, validation.tier, 'Gold')
        self.assertEqual(4, validation.positive_int(4, 'n'))
        for bad in (0, -1, True, 2 ** 31, '4'):
            self.assertRaises(exceptions.InvalidInput,
                              validation.positive_int, bad, 'n')


class SecretBoxTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'sub', 'hss.key')

    def test_key_file_created_once_private(self):
        self.assertTrue(crypto.create_key_file(self.path))
        self.assertEqual(0o600, os.stat(self.path).st_mode & 0o777)
        key = crypto.load_key(self.path)
        self.assertEqual(32, len(key))
        self.assertFalse(crypto.create_key_file(self.path))
        self.assertEqual(key, crypto.load_key(self.path))

    def test_seal_open_bound_to_imsi(self):
        crypto.create_key_file(self.path)
        box = crypto.SecretBox(crypto.load_key(self.path))
        blob = box.seal('001010000000001', b'k' * 16 + b'o' * 16)
        self.assertNotIn(b'k' * 16, blob)
        self.assertNotEqual(blob, box.seal('001010000000001',
                                           b'k' * 16 + b'o' * 16))
        self.assertEqual(b'k' * 16 + b'o' * 16,
                         box.open('001010000000001', blob))
        self.assertRaises(exceptions.KeyFileError, box.open,
                          '001010000000002', blob)
        other = crypto.SecretBox(os.urandom(32))
        self.assertRaises(exceptions.KeyFileError, other.open,
                          '001010000000001', blob)

    def test_bad_key_files(self):
        e = self.assertRaises(exceptions.KeyFileError, crypto.load_key,
                              self.path)
        self.assertIn('vdesk-manage db sync', str(e))
        os.makedirs(os.path.dirname(self.path))
        with open(self.path, 'w') as f:
            f.write('not base64 at all!')
        self.assertRaises(exceptions.KeyFileError, crypto.load_key,
                          self.path)


class AkaPayloadTest(testtools.TestCase):

    IMSI = '001010000000001'
    CTX = 'c' * 43

    def test_step_one(self):
        self.assertEqual((self.IMSI, None, None, None),
                         aka.parse_payload({'user': {'name': self.IMSI}}))

    def test_answers(self):
        imsi, ctx, res, auts = aka.parse_payload(
            {'user': {'name': self.IMSI}, 'context': self.CTX,
             'res': 'a5' * 8})
        self.assertEqual((self.IMSI, self.CTX, b'\xa5' * 8, None),
                         (imsi, ctx, res, auts))
        _, _, res, auts = aka.parse_payload(
            {'user': {'name': self.IMSI}, 'context': self.CTX,
             'auts': '01' * 14})
        self.assertEqual((None, b'\x01' * 14), (res, auts))

    def test_malformed_is_a_validation_error(self):
        user = {'name': self.IMSI}
        for bad in (None, 'x', [], {}, {'user': 'x'}, {'user': {}},
                    {'user': {'name': 'abc'}},
                    {'user': user, 'res': 'a5' * 8},
                    {'user': user, 'context': self.CTX},
                    {'user': user, 'context': self.CTX, 'res': 'a5' * 8,
                     'auts': '01' * 14},
                    {'user': user, 'context': self.CTX, 'res': 'a5'},
                    {'user': user, 'context': self.CTX, 'res': 'a5' * 17},
                    {'user': user, 'context': self.CTX, 'res': 'a5a'},
                    {'user': user, 'context': self.CTX, 'res': 8},
                    {'user': user, 'context': self.CTX, 'auts': '01' * 13},
                    {'user': user, 'context': 'short', 'res': 'a5' * 8},
                    {'user': user, 'context': 7, 'res': 'a5' * 8}):
            self.assertRaises(ks_exception.ValidationError,
                              aka.parse_payload, bad)

    def test_capabilities_pass_through_bounded(self):
        self.assertIsNone(aka.parse_capabilities({'user': {}}))
        caps = {'client': 'native', 'usb': True}
        self.assertEqual(caps, aka.parse_capabilities(
            {'capabilities': caps}))
        for bad in ('native', ['usb'], {'x': 'y' * 3000}):
            self.assertRaises(ks_exception.ValidationError,
                              aka.parse_capabilities, {'capabilities': bad})
