"""MILENAGE against the TS 35.208 conformance sets, and input checks."""

from oslotest import base
import testscenarios

from vdesk_openstack.aka import milenage
from vdesk_openstack.tests.unit.aka import conformance

load_tests = testscenarios.load_tests_apply_scenarios


def _xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


class TestConformance(base.BaseTestCase):
    """Every function of TS 35.206 on every published test set."""

    scenarios = conformance.scenarios()

    def setUp(self):
        super().setUp()
        t = self.tset
        self.k, self.rand, self.sqn, self.amf = (t['K'], t['RAND'], t['SQN'],
                                                 t['AMF'])
        self.opc = t['OPc']

    def test_opc(self):
        self.assertEqual(self.tset['OPc'],
                         milenage.opc(self.k, self.tset['OP']))

    def test_f1(self):
        self.assertEqual(self.tset['f1'], milenage.f1(
            self.k, self.opc, self.rand, self.sqn, self.amf))

    def test_f1star(self):
        self.assertEqual(self.tset['f1star'], milenage.f1star(
            self.k, self.opc, self.rand, self.sqn, self.amf))

    def test_f2345(self):
        res, ck, ik, ak = milenage.f2345(self.k, self.opc, self.rand)
        self.assertEqual(self.tset['f2'], res)
        self.assertEqual(self.tset['f3'], ck)
        self.assertEqual(self.tset['f4'], ik)
        self.assertEqual(self.tset['f5'], ak)

    def test_f5star(self):
        self.assertEqual(self.tset['f5star'],
                         milenage.f5star(self.k, self.opc, self.rand))

    def test_class_methods_match(self):
        m = milenage.Milenage(self.k, self.opc)
        self.assertEqual(self.tset['f1'], m.f1(self.rand, self.sqn, self.amf))
        self.assertEqual(self.tset['f1star'],
                         m.f1star(self.rand, self.sqn, self.amf))
        self.assertEqual(
            (self.tset['f2'], self.tset['f3'], self.tset['f4'],
             self.tset['f5']), m.f2345(self.rand))
        self.assertEqual(self.tset['f5star'], m.f5star(self.rand))

    def test_vector_fast_path(self):
        m = milenage.Milenage(self.k, self.opc)
        xres, ck, ik, autn = m.vector(
            self.rand, int.from_bytes(self.sqn, 'big'), self.amf)
        self.assertEqual(self.tset['f2'], xres)
        self.assertEqual(self.tset['f3'], ck)
        self.assertEqual(self.tset['f4'], ik)
        self.assertEqual(_xor(self.sqn, self.tset['f5']) + self.amf
                         + self.tset['f1'], autn)

    def test_one_shot_vector(self):
        sqn = int.from_bytes(self.sqn, 'big')
        self.assertEqual(
            milenage.Milenage(self.k, self.opc).vector(self.rand, sqn,
                                                       self.amf),
            milenage.vector(self.k, self.opc, self.rand, sqn, self.amf))

    def test_batch_path(self):
        m = milenage.Milenage(self.k, self.opc)
        sqn = int.from_bytes(self.sqn, 'big')
        other = bytes(16)
        got = m.vectors([other, self.rand], [1, sqn], self.amf)
        self.assertEqual(m.vector(self.rand, sqn, self.amf), got[1])
        self.assertEqual(m.vector(other, 1, self.amf), got[0])

    def test_open_autn(self):
        m = milenage.Milenage(self.k, self.opc)
        autn = _xor(self.sqn, self.tset['f5']) + self.amf + self.tset['f1']
        sqn, xmac, res, ck, ik = m.open_autn(self.rand, autn)
        self.assertEqual(int.from_bytes(self.sqn, 'big'), sqn)
        self.assertEqual(self.tset['f1'], xmac)
        self.assertEqual((self.tset['f2'], self.tset['f3'], self.tset['f4']),
                         (res, ck, ik))

    def test_auts(self):
        m = milenage.Milenage(self.k, self.opc)
        auts = m.auts(self.rand, int.from_bytes(self.sqn, 'big'))
        # TS 33.102 6.3.3: MAC-S is f1* over the dummy AMF 0000.
        mac_s = milenage.f1star(self.k, self.opc, self.rand, self.sqn,
                                b'\x00\x00')
        self.assertEqual(_xor(self.sqn, self.tset['f5star']) + mac_s, auts)
        self.assertEqual((int.from_bytes(self.sqn, 'big'), mac_s),
                         m.open_auts(self.rand, auts))


class TestPublishedAutn(base.BaseTestCase):

    def test_set19_autn(self):
        t = conformance.SETS[19]
        autn = milenage.Milenage(t['K'], t['OPc']).vector(
            t['RAND'], int.from_bytes(t['SQN'], 'big'), t['AMF'])[3]
        self.assertEqual(conformance.AUTN_SET19, autn)

    def test_data_covers_all_ts35208_sets(self):
        self.assertEqual(list(range(1, 21)), sorted(conformance.SETS))


class TestInputChecks(base.BaseTestCase):

    K = bytes(range(16))
    OPC = bytes(range(16, 32))
    RAND = bytes(16)

    def test_bad_key_lengths(self):
        for k, opc in ((self.K[:15], self.OPC), (self.K, self.OPC + b'\x00'),
                       (b'', self.OPC)):
            self.assertRaises(ValueError, milenage.Milenage, k, opc)
            self.assertRaises(ValueError, milenage.f2345, k, opc, self.RAND)

    def test_bad_types(self):
        self.assertRaises(ValueError, milenage.Milenage, self.K.hex(),
                          self.OPC)
        self.assertRaises(ValueError, milenage.opc, self.K, None)
        self.assertRaises(ValueError, milenage.f5star, self.K, self.OPC,
                          list(self.RAND))

    def test_message_names_parameter_not_value(self):
        exc = self.assertRaises(ValueError, milenage.Milenage, self.K,
                                self.OPC[:8])
        self.assertIn('OPc', str(exc))
        self.assertNotIn(self.OPC[:8].hex(), str(exc))

    def test_bad_rand_sqn_amf(self):
        m = milenage.Milenage(self.K, self.OPC)
        self.assertRaises(ValueError, m.f1, self.RAND[:15], bytes(6),
                          bytes(2))
        self.assertRaises(ValueError, m.f1, self.RAND, bytes(5), bytes(2))
        self.assertRaises(ValueError, m.f1star, self.RAND, bytes(6),
                          bytes(3))
        self.assertRaises(ValueError, milenage.f1, self.K, self.OPC,
                          self.RAND, bytes(6), b'\x80')
        self.assertRaises(ValueError, m.vector, self.RAND, 2 ** 48, bytes(2))
        self.assertRaises(ValueError, m.vector, self.RAND, -1, bytes(2))
        self.assertRaises(ValueError, m.vector, self.RAND, True, bytes(2))
        self.assertRaises(ValueError, m.open_autn, self.RAND, bytes(15))
        self.assertRaises(ValueError, m.open_auts, self.RAND, bytes(13))
        self.assertRaises(ValueError, m.vectors, [self.RAND], [1, 2],
                          bytes(2))
        self.assertRaises(ValueError, milenage.vector, self.K[:15], self.OPC,
                          self.RAND, 1, bytes(2))
        self.assertRaises(ValueError, milenage.vector, self.K, None,
                          self.RAND, 1, bytes(2))
        self.assertRaises(ValueError, milenage.vector, self.K, self.OPC,
                          self.RAND, 1, bytes(1))

    def test_bytearray_accepted(self):
        m = milenage.Milenage(bytearray(self.K), bytearray(self.OPC))
        self.assertEqual(milenage.Milenage(self.K, self.OPC).f2345(self.RAND),
                         m.f2345(bytearray(self.RAND)))

    def test_repr_hides_key(self):
        m = milenage.Milenage(self.K, self.OPC)
        self.assertNotIn(self.K.hex(), repr(m))
        self.assertNotIn(self.OPC.hex(), repr(m))
