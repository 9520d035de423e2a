//! MS-RPCH RTS PDUs: known-answer tests from /work/shared/protocol/VECTORS.md §6.1–6.8
//! (byte strings published in fortra/impacket tests/SMB_RPC/test_rpch.py @ f133bb8, §6.8
//! constructed from MS-RPCH 2.1.2.1.6), plus proptest round trips and truncation.

use oxmapi_wire::dcerpc::rts::{
    ClientAddress, FlowControlAck, ForwardDestination, IpAddress, RtsKind,
};
use oxmapi_wire::dcerpc::{Pdu, PduBody, RtsCommand, RtsFlags, RtsPdu, Uuid};
use proptest::prelude::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}

fn u(s: &str) -> Uuid {
    let b = h(s);
    Uuid(b.try_into().unwrap())
}

/// Decode, compare, re-encode byte-exact, decode again; also via the generic Pdu decoder.
fn kat(bytes: &[u8], expected: &RtsPdu) {
    let got = RtsPdu::from_bytes(bytes).unwrap();
    assert_eq!(&got, expected);
    assert_eq!(got.to_bytes().unwrap(), bytes);
    assert_eq!(RtsPdu::from_bytes(&got.to_bytes().unwrap()).unwrap(), got);
    let pdu = Pdu::from_bytes(bytes).unwrap();
    assert_eq!(pdu.body, PduBody::Rts(expected.clone()));
    assert_eq!(pdu.to_bytes().unwrap(), bytes);
    for n in 0..bytes.len() {
        assert!(
            RtsPdu::from_bytes(&bytes[..n]).is_err(),
            "prefix {n} decoded"
        );
    }
}

#[test]
fn conn_a1_vector_6_1() {
    let b = h("05 00 14 03 10 00 00 00 4c 00 00 00 00 00 00 00
               00 00 04 00 06 00 00 00 01 00 00 00 03 00 00 00
               b0 f6 af 3d 77 62 98 07 9b 21 54 6e ec f4 22 53
               03 00 00 00 3a 24 7a 37 6d c1 ed 2c 68 5d 34 35
               13 46 43 25 00 00 00 00 00 00 04 00");
    let vc = u("b0f6af3d776298079b21546eecf42253");
    let out = u("3a247a376dc1ed2c685d343513464325");
    let expected = RtsPdu::conn_a1(vc, out, 0x0004_0000);
    kat(&b, &expected);
    assert_eq!(b.len(), 76);
    assert_eq!(expected.kind(), RtsKind::ConnA1);
    assert_eq!(expected.cookies(), vec![vc, out]);
}

#[test]
fn conn_a3_vector_6_2() {
    let b =
        h("05 00 14 03 10 00 00 00 1c 00 00 00 00 00 00 00 00 00 01 00 02 00 00 00 c0 d4 01 00");
    let p = RtsPdu::conn_a3(120_000);
    kat(&b, &p);
    assert_eq!(p.kind(), RtsKind::ConnA3);
}

#[test]
fn ping_vector_6_3() {
    let b = h("05 00 14 03 10 00 00 00 14 00 00 00 00 00 00 00 01 00 00 00");
    kat(&b, &RtsPdu::ping());
    assert_eq!(RtsPdu::ping().kind(), RtsKind::Ping);
}

#[test]
fn conn_c2_vector_6_4() {
    let b = h("05 00 14 03 10 00 00 00 2c 00 00 00 00 00 00 00
               00 00 03 00 06 00 00 00 01 00 00 00 00 00 00 00
               00 00 01 00 02 00 00 00 c0 d4 01 00");
    let p = RtsPdu::conn_c2(0x0001_0000, 120_000);
    kat(&b, &p);
    assert_eq!(p.kind(), RtsKind::ConnC1OrC2);
}

#[test]
fn flow_control_ack_with_destination_vector_6_5() {
    let b = h("05 00 14 03 10 00 00 00 38 00 00 00 00 00 00 00
               02 00 02 00 0d 00 00 00 00 00 00 00 01 00 00 00
               92 80 00 00 00 00 01 00 e3 79 6e 7c bc 68 a9 4d
               ab 8d 82 40 a0 05 72 32");
    let ack = FlowControlAck {
        bytes_received: 32914,
        available_window: 0x0001_0000,
        channel_cookie: u("e3796e7cbc68a94dab8d8240a0057232"),
    };
    let p = RtsPdu::flow_control_ack_with_destination(ForwardDestination::CLIENT, ack);
    kat(&b, &p);
    assert_eq!(p.kind(), RtsKind::FlowControlAckWithDestination);
    assert_eq!(p.flow_control_ack(), Some(ack));
}

#[test]
fn conn_b2_vector_6_6_with_client_address_quirk() {
    let b = h("05 00 14 03 10 00 00 00 80 00 00 00 00 00 00 00
               08 00 07 00 06 00 00 00 01 00 00 00 03 00 00 00
               61 ec 8b b3 40 28 a8 46 ba fd 90 cf 6d 31 dc 29
               03 00 00 00 20 ce 94 22 30 83 1b 45 94 ea 0d 7e
               05 d2 a8 5a 00 00 00 00 00 00 01 00 02 00 00 00
               c0 d4 01 00 0c 00 00 00 df 28 b4 20 77 a4 70 42
               b1 d1 4a 03 49 5f 6b 7b 0b 00 00 00 00 00 00 00
               00 00 00 00 c0 a8 02 fe 00 00 00 00 00 00 00 00");
    let addr = ClientAddress {
        address: IpAddress::V4([0; 4]),
        padding: [0xc0, 0xa8, 0x02, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0],
    };
    let p = RtsPdu::new(
        RtsFlags::IN_CHANNEL,
        vec![
            RtsCommand::Version(1),
            RtsCommand::Cookie(u("61ec8bb34028a846bafd90cf6d31dc29")),
            RtsCommand::Cookie(u("20ce942230831b4594ea0d7e05d2a85a")),
            RtsCommand::ReceiveWindowSize(0x0001_0000),
            RtsCommand::ConnectionTimeout(120_000),
            RtsCommand::AssociationGroupId(u("df28b42077a47042b1d14a03495f6b7b")),
            RtsCommand::ClientAddress(addr),
        ],
    );
    kat(&b, &p);
    assert_eq!(p.kind(), RtsKind::ConnB2);
    assert_eq!(addr.ipv4_lenient(), Some([192, 168, 2, 254]));
}

#[test]
fn conn_a2_vector_6_7() {
    let b = h("05 00 14 03 10 00 00 00 54 00 00 00 00 00 00 00
               10 00 05 00 06 00 00 00 01 00 00 00 03 00 00 00
               61 ec 8b b3 40 28 a8 46 ba fd 90 cf 6d 31 dc 29
               03 00 00 00 bc 38 10 35 a7 f0 3d 43 9c 3f 44 85
               6e f1 c3 b0 04 00 00 00 00 00 00 40 00 00 00 00
               00 00 01 00");
    let p = RtsPdu::new(
        RtsFlags::OUT_CHANNEL,
        vec![
            RtsCommand::Version(1),
            RtsCommand::Cookie(u("61ec8bb34028a846bafd90cf6d31dc29")),
            RtsCommand::Cookie(u("bc381035a7f03d439c3f44856ef1c3b0")),
            RtsCommand::ChannelLifetime(0x4000_0000),
            RtsCommand::ReceiveWindowSize(0x0001_0000),
        ],
    );
    kat(&b, &p);
    assert_eq!(p.kind(), RtsKind::ConnA2);
}

#[test]
fn echo_vector_6_8() {
    let b = h("05 00 14 03 10 00 00 00 14 00 00 00 00 00 00 00 40 00 00 00");
    kat(&b, &RtsPdu::echo());
    assert_eq!(RtsPdu::echo().kind(), RtsKind::Echo);
}

#[test]
fn conn_b1_layout() {
    let vc = Uuid::from_u128(1);
    let p = RtsPdu::conn_b1(
        vc,
        Uuid::from_u128(2),
        0x4000_0000,
        300_000,
        Uuid::from_u128(3),
    );
    let b = p.to_bytes().unwrap();
    // 20 header + Version 8 + 2 × Cookie 20 + ChannelLifetime 8 + ClientKeepalive 8 + AGID 20.
    assert_eq!(b.len(), 104);
    assert_eq!(&b[8..10], &104u16.to_le_bytes());
    assert_eq!(p.kind(), RtsKind::ConnB1);
    assert_eq!(RtsPdu::from_bytes(&b).unwrap(), p);
}

#[test]
fn rejects_non_rts_and_unknown_commands() {
    let mut b = RtsPdu::conn_a3(1).to_bytes().unwrap();
    b[2] = 0; // PTYPE request
    assert!(RtsPdu::from_bytes(&b).is_err());
    let mut b = RtsPdu::conn_a3(1).to_bytes().unwrap();
    b[20] = 0x0F; // CommandType 15
    let e = RtsPdu::from_bytes(&b).unwrap_err();
    assert_eq!(e.field, "CommandType");
    assert_eq!(e.offset, 20);
}

fn arb_uuid() -> impl Strategy<Value = Uuid> {
    any::<[u8; 16]>().prop_map(Uuid)
}

fn arb_command() -> impl Strategy<Value = RtsCommand> {
    prop_oneof![
        any::<u32>().prop_map(RtsCommand::ReceiveWindowSize),
        (any::<u32>(), any::<u32>(), arb_uuid()).prop_map(|(a, b, c)| RtsCommand::FlowControlAck(
            FlowControlAck {
                bytes_received: a,
                available_window: b,
                channel_cookie: c
            }
        )),
        any::<u32>().prop_map(RtsCommand::ConnectionTimeout),
        arb_uuid().prop_map(RtsCommand::Cookie),
        any::<u32>().prop_map(RtsCommand::ChannelLifetime),
        any::<u32>().prop_map(RtsCommand::ClientKeepalive),
        any::<u32>().prop_map(RtsCommand::Version),
        Just(RtsCommand::Empty),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(RtsCommand::Padding),
        Just(RtsCommand::NegativeAnce),
        Just(RtsCommand::Ance),
        (any::<[u8; 4]>(), any::<[u8; 12]>()).prop_map(|(a, p)| RtsCommand::ClientAddress(
            ClientAddress {
                address: IpAddress::V4(a),
                padding: p
            }
        )),
        (any::<[u8; 16]>(), any::<[u8; 12]>()).prop_map(|(a, p)| RtsCommand::ClientAddress(
            ClientAddress {
                address: IpAddress::V6(a),
                padding: p
            }
        )),
        arb_uuid().prop_map(RtsCommand::AssociationGroupId),
        any::<u32>().prop_map(|d| RtsCommand::Destination(ForwardDestination(d))),
        any::<u32>().prop_map(RtsCommand::PingTrafficSentNotify),
    ]
}

proptest! {
    #[test]
    fn rts_round_trip(flags in any::<u16>(), cmds in proptest::collection::vec(arb_command(), 0..8)) {
        let p = RtsPdu::new(RtsFlags(flags), cmds);
        let b = p.to_bytes().unwrap();
        prop_assert_eq!(RtsPdu::from_bytes(&b).unwrap(), p.clone());
        for n in 0..b.len() {
            prop_assert!(RtsPdu::from_bytes(&b[..n]).is_err());
        }
    }

    #[test]
    fn rts_decoder_never_panics(b in proptest::collection::vec(any::<u8>(), 0..120)) {
        let _ = RtsPdu::from_bytes(&b);
        let _ = Pdu::from_bytes(&b);
    }
}
