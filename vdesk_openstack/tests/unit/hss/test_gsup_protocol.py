"""GSUP SendAuthInfo messages: built by us, answered by osmo-hlr."""

import testtools

from vdesk_openstack.aka import usim as aka_usim
from vdesk_openstack.hss.gsup import protocol

K = bytes.fromhex('465b5ce8b199b49faa5f0a2ee238a6bc')
OPC = bytes.fromhex('cd63cb71954a9f4e48a5994e37a02baf')
# osmo-hlr 1.5's answer to SendAuthInfo(001010000000001, 2 vectors) for a
# subscriber provisioned with K/OPC above and SQN 0.
OSMO_HLR_RESULT = bytes.fromhex(
    '0a010800010100000000f103622010d792637622e1f1755189b3de1f77371f2104'
    '770c21b02208d1be5cd8474290f223104a30e36cb93995c43029e37415c05cc224'
    '10d9a4017f8be3288672035dbf60587172251097bc42dc4c130000da52bfcca65b'
    '6b692708914353d7e64f726703622010195852548bfbbbcfd493d361b104789121'
    '0491c3ebef22086bed2309c5bc803623107c7e1e0ceb046bd5433bd5b2a89dcc3d'
    '2410b0dd87c096522f76e4756f77107708a825100fceb82860390000c51503f02e'
    'e995d82708e1ae6439706d8fd6')
# Its answer for an IMSI it does not know: cause 2.
OSMO_HLR_UNKNOWN = bytes.fromhex('09010800010100000000f2020102')


class RequestTest(testtools.TestCase):

    def test_send_auth_info_for_one_vector(self):
        self.assertEqual(
            bytes.fromhex('08010800010100000000f1520101'),
            protocol.send_auth_info('001010000000001'))

    def test_resync_carries_auts_and_rand(self):
        data = protocol.send_auth_info('001010000000001', 1,
                                       rand=b'r' * 16, auts=b'a' * 14)
        self.assertEqual(protocol.MsgType.SEND_AUTH_INFO_REQUEST, data[0])
        self.assertIn(b'\x26\x0e' + b'a' * 14, data)  # AUTS IE
        self.assertIn(b'\x20\x10' + b'r' * 16, data)  # RAND IE

    def test_bad_requests(self):
        self.assertRaises(ValueError, protocol.send_auth_info,
                          '001010000000001', 6)
        self.assertRaises(ValueError, protocol.send_auth_info,
                          '001010000000001', 0)
        self.assertRaises(ValueError, protocol.send_auth_info,
                          '001010000000001', 1, rand=b'r' * 16)
        self.assertRaises(ValueError, protocol.send_auth_info,
                          '001010000000001', 1, rand=b'r' * 15,
                          auts=b'a' * 14)


class AnswerTest(testtools.TestCase):

    def test_result_of_osmo_hlr_gives_vectors_a_usim_accepts(self):
        answer = protocol.parse_sai_answer(OSMO_HLR_RESULT)
        self.assertTrue(answer.ok)
        self.assertEqual('001010000000001', answer.imsi)
        self.assertEqual(2, len(answer.vectors))
        usim = aka_usim.Usim(K, OPC)
        for vector in answer.vectors:
            self.assertIsNone(vector.sqn)
            response = usim.authenticate(vector.rand, vector.autn)
            self.assertEqual(vector.xres, response.res)
            self.assertEqual(vector.ck, response.ck)
            self.assertEqual(vector.ik, response.ik)
        self.assertNotIn(answer.vectors[0].xres.hex(), repr(answer))

    def test_unknown_imsi(self):
        answer = protocol.parse_sai_answer(OSMO_HLR_UNKNOWN)
        self.assertFalse(answer.ok)
        self.assertEqual(protocol.CAUSE_IMSI_UNKNOWN, answer.cause)
        self.assertEqual('001010000000002', answer.imsi)
        self.assertEqual((), answer.vectors)

    def test_malformed_answers(self):
        for data in (b'', b'\x08\x01', b'\x0a\xff\xff',
                     b'\x0a',  # no IMSI
                     OSMO_HLR_RESULT[:11],  # IMSI only, no tuple
                     # a 2G-only tuple: no UMTS parameters
                     bytes.fromhex('0a010800010100000000f1'
                                   '030c2004' + 'aa' * 4 + '2104' + 'bb' * 4)):
            self.assertRaises(protocol.MalformedMessage,
                              protocol.parse_sai_answer, data)
