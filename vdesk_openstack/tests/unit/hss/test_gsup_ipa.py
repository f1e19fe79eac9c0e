"""IPA framing and the CCM identity exchange of the gsup driver."""

import testtools

from vdesk_openstack.hss.gsup import ipa

# What osmo-hlr 1.5 sends on connect: ID_GET for tags 8,7,2,3,4,5,1,0.
OSMO_HLR_ID_GET = bytes.fromhex('0011fe0401080107010201030104010501010100')


class FramingTest(testtools.TestCase):

    def test_gsup_frame_has_length_proto_and_extension(self):
        frame = ipa.gsup_frame(b'\x08\x01')
        # length 3 = extension byte + 2, protocol 0xEE, extension 0x05.
        self.assertEqual(bytes.fromhex('0003ee050801'), frame)

    def test_too_long_payload_is_refused(self):
        self.assertRaises(ipa.ProtocolError, ipa.frame, ipa.PROTO_OSMO,
                          b'x' * 0x10000)
        self.assertEqual(0xFFFF + 3,
                         len(ipa.frame(ipa.PROTO_OSMO, b'x' * 0xFFFF)))

    def test_reader_splits_and_reassembles_frames(self):
        stream = (ipa.gsup_frame(b'\x0a' + b'a' * 40) +
                  ipa.ccm_frame(ipa.CCM_PING) + ipa.gsup_frame(b'\x09'))
        reader = ipa.FrameReader()
        frames = []
        for i in range(0, len(stream), 7):  # arbitrary TCP segments
            frames.extend(reader.feed(stream[i:i + 7]))
        self.assertEqual([(ipa.PROTO_OSMO, b'\x05\x0a' + b'a' * 40),
                          (ipa.PROTO_CCM, b'\x00'),
                          (ipa.PROTO_OSMO, b'\x05\x09')], frames)
        self.assertEqual(0, reader.pending)

    def test_reader_keeps_an_incomplete_frame(self):
        reader = ipa.FrameReader()
        self.assertEqual([], reader.feed(b'\x00\x05\xee\x05'))
        self.assertEqual(4, reader.pending)
        self.assertEqual([(0xEE, b'\x05abcd')], reader.feed(b'abcd'))

    def test_empty_frame(self):
        self.assertEqual([(ipa.PROTO_CCM, b'')],
                         ipa.FrameReader().feed(b'\x00\x00\xfe'))


class CcmTest(testtools.TestCase):

    def test_id_get_of_osmo_hlr(self):
        (proto, body), = ipa.FrameReader().feed(OSMO_HLR_ID_GET)
        self.assertEqual(ipa.PROTO_CCM, proto)
        self.assertEqual(ipa.CCM_ID_GET, body[0])
        self.assertEqual([8, 7, 2, 3, 4, 5, 1, 0],
                         ipa.parse_id_get(body[1:]))

    def test_id_resp_answers_every_tag_with_the_name(self):
        frame = ipa.id_resp([ipa.TAG_SERNR, ipa.TAG_UNITNAME], 'vdesk-a-1')
        (proto, body), = ipa.FrameReader().feed(frame)
        self.assertEqual(ipa.PROTO_CCM, proto)
        self.assertEqual(ipa.CCM_ID_RESP, body[0])
        # len16 (tag + value + NUL), tag, value NUL-terminated.
        self.assertEqual(b'\x00\x0b\x00vdesk-a-1\x00', body[1:14])
        self.assertEqual({0: 'vdesk-a-1', 1: 'vdesk-a-1'},
                         ipa.parse_id_resp(body[1:]))

    def test_unit_tag_gets_numbers(self):
        frame = ipa.id_resp([ipa.TAG_UNIT], 'vdesk')
        body = ipa.FrameReader().feed(frame)[0][1]
        self.assertEqual({ipa.TAG_UNIT: '0/0/0'},
                         ipa.parse_id_resp(body[1:]))

    def test_malformed_id_get_and_resp(self):
        self.assertRaises(ipa.ProtocolError, ipa.parse_id_get, b'\x01')
        self.assertRaises(ipa.ProtocolError, ipa.parse_id_get, b'\x05\x01')
        self.assertRaises(ipa.ProtocolError, ipa.parse_id_resp,
                          b'\x00\x09\x00ab')
        self.assertRaises(ipa.ProtocolError, ipa.parse_id_resp, b'\x00')

    def test_ping_gets_pong_and_nothing_else_gets_an_answer(self):
        self.assertEqual(b'\x00\x01\xfe\x01',
                         ipa.ccm_reply(bytes([ipa.CCM_PING])))
        self.assertIsNone(ipa.ccm_reply(bytes([ipa.CCM_ID_ACK])))
        self.assertRaises(ipa.ProtocolError, ipa.ccm_reply, b'')
