"""Authentication vectors, AUTN and AUTS on the network side."""

import dataclasses
import os

from oslotest import base

from vdesk_openstack.aka import exceptions
from vdesk_openstack.aka import sqn as sqnlib
from vdesk_openstack.aka import usim
from vdesk_openstack.aka import vectors
from vdesk_openstack.tests.unit.aka import conformance

SET1 = conformance.SETS[1]
K, OPC, AMF = SET1['K'], SET1['OPc'], b'\x80\x00'


class TestGenerateVector(base.BaseTestCase):

    def test_matches_conformance_set(self):
        t = conformance.SETS[19]
        v = vectors.generate_vector(t['K'], t['OPc'],
                                    int.from_bytes(t['SQN'], 'big'),
                                    t['AMF'], rand=t['RAND'])
        self.assertEqual(conformance.AUTN_SET19, v.autn)
        self.assertEqual(t['f2'], v.xres)
        self.assertEqual(t['f3'], v.ck)
        self.assertEqual(t['f4'], v.ik)
        self.assertEqual(t['RAND'], v.rand)
        self.assertEqual(int.from_bytes(t['SQN'], 'big'), v.sqn)

    def test_random_rand(self):
        a = vectors.generate_vector(K, OPC, 33, AMF)
        b = vectors.generate_vector(K, OPC, 33, AMF)
        self.assertEqual(16, len(a.rand))
        self.assertNotEqual(a.rand, b.rand)
        self.assertNotEqual(a.autn, b.autn)

    def test_autn_layout(self):
        v = vectors.generate_vector(K, OPC, 0x123456789abc, AMF)
        concealed, amf, mac = vectors.parse_autn(v.autn)
        self.assertEqual(AMF, amf)
        self.assertEqual(8, len(mac))
        self.assertNotEqual(sqnlib.to_bytes(0x123456789abc), concealed)

    def test_repr_hides_secrets(self):
        v = vectors.generate_vector(K, OPC, 33, AMF)
        text = repr(v)
        for secret in (v.xres, v.ck, v.ik):
            self.assertNotIn(secret.hex(), text)
            self.assertNotIn(repr(secret), text)
        self.assertIn('sqn=33', text)

    def test_same_object_as_the_constructor(self):
        v = vectors.generate_vector(K, OPC, 33, AMF)
        built = vectors.AuthVector(v.rand, v.xres, v.ck, v.ik, v.autn, 33)
        self.assertEqual(built, v)
        self.assertEqual(repr(built), repr(v))
        self.assertEqual(hash(built), hash(v))
        self.assertEqual(dataclasses.asdict(built), dataclasses.asdict(v))

    def test_frozen(self):
        v = vectors.generate_vector(K, OPC, 33, AMF)
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, v,
                          'sqn', 34)

    def test_bad_inputs(self):
        self.assertRaises(ValueError, vectors.generate_vector, K, OPC,
                          2 ** 48, AMF)
        self.assertRaises(ValueError, vectors.generate_vector, K, OPC, 1,
                          b'\x80')
        self.assertRaises(ValueError, vectors.generate_vector, K, OPC, 1,
                          AMF, rand=bytes(8))
        self.assertRaises(ValueError, vectors.generate_vector, K[:8], OPC,
                          1, AMF)
        self.assertRaises(ValueError, vectors.parse_autn, bytes(17))


class TestGenerateVectors(base.BaseTestCase):

    def test_successive_sqns_and_same_math(self):
        last = sqnlib.join(41, 30)
        batch = vectors.generate_vectors(K, OPC, last, AMF, 40)
        self.assertEqual(40, len(batch))
        expected = last
        for v in batch:
            expected = sqnlib.next_sqn(expected)
            self.assertEqual(expected, v.sqn)
            self.assertEqual(
                vectors.generate_vector(K, OPC, v.sqn, AMF, rand=v.rand), v)
        self.assertEqual(40, len({v.rand for v in batch}))
        self.assertEqual(32, len({sqnlib.split(v.sqn)[1]
                                  for v in batch[:32]}))

    def test_empty_and_invalid(self):
        self.assertEqual([], vectors.generate_vectors(K, OPC, 0, AMF, 0))
        self.assertRaises(ValueError, vectors.generate_vectors, K, OPC, 0,
                          AMF, -1)
        self.assertRaises(ValueError, vectors.generate_vectors, K, OPC,
                          sqnlib.join(2 ** 43 - 2, 0), AMF, 2)


class TestAuts(base.BaseTestCase):

    RAND = bytes(range(100, 116))

    def test_round_trip(self):
        for sqn_ms in (0, 1, sqnlib.join(123456, 7), sqnlib.SQN_MAX):
            auts = vectors.build_auts(K, OPC, self.RAND, sqn_ms)
            self.assertEqual(14, len(auts))
            self.assertEqual(sqn_ms,
                             vectors.verify_auts(K, OPC, self.RAND, auts))

    def test_sqn_ms_is_concealed(self):
        sqn_ms = sqnlib.join(123456, 7)
        auts = vectors.build_auts(K, OPC, self.RAND, sqn_ms)
        self.assertNotEqual(sqnlib.to_bytes(sqn_ms), auts[:6])

    def test_bad_mac_s(self):
        auts = bytearray(vectors.build_auts(K, OPC, self.RAND, 1000))
        auts[-1] ^= 1
        self.assertRaises(exceptions.InvalidAuts, vectors.verify_auts, K,
                          OPC, self.RAND, bytes(auts))

    def test_tampered_sqn_ms(self):
        auts = bytearray(vectors.build_auts(K, OPC, self.RAND, 1000))
        auts[5] ^= 0x20
        self.assertRaises(exceptions.InvalidAuts, vectors.verify_auts, K,
                          OPC, self.RAND, bytes(auts))

    def test_other_rand_or_key(self):
        auts = vectors.build_auts(K, OPC, self.RAND, 1000)
        self.assertRaises(exceptions.InvalidAuts, vectors.verify_auts, K,
                          OPC, bytes(16), auts)
        other = conformance.SETS[3]
        self.assertRaises(exceptions.InvalidAuts, vectors.verify_auts,
                          other['K'], other['OPc'], self.RAND, auts)

    def test_bad_lengths(self):
        self.assertRaises(ValueError, vectors.verify_auts, K, OPC,
                          self.RAND, bytes(13))
        self.assertRaises(ValueError, vectors.verify_auts, K, OPC,
                          self.RAND[:15], bytes(14))
        self.assertRaises(ValueError, vectors.build_auts, K, OPC,
                          self.RAND, 2 ** 48)

    def test_error_message_is_generic(self):
        exc = self.assertRaises(exceptions.InvalidAuts, vectors.verify_auts,
                                K, OPC, self.RAND, bytes(14))
        self.assertNotIn(K.hex(), str(exc))
        self.assertIsInstance(exc, exceptions.AkaError)


class TestDecoyVector(base.BaseTestCase):
    """What an unknown IMSI is challenged with."""

    def test_looks_like_a_real_vector_with_the_given_amf(self):
        decoy = vectors.decoy_vector(b'\xb9\xb9')
        self.assertEqual(16, len(decoy.rand))
        self.assertEqual(16, len(decoy.autn))
        self.assertEqual(8, len(decoy.xres))
        self.assertEqual(b'\xb9\xb9', vectors.parse_autn(decoy.autn)[1])

    def test_random_each_time_and_accepted_by_no_usim(self):
        first, second = (vectors.decoy_vector(b'\x80\x00')
                         for _ in range(2))
        self.assertNotEqual(first.rand, second.rand)
        self.assertNotEqual(first.autn[:6], second.autn[:6])
        self.assertNotEqual(first.autn[8:], second.autn[8:])
        sim = usim.Usim(os.urandom(16), os.urandom(16))
        self.assertRaises(exceptions.MacFailure, sim.authenticate,
                          first.rand, first.autn)
