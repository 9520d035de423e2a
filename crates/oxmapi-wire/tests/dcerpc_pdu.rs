//! DCE/RPC connection-oriented PDUs (C706 12.6, MS-RPCE 2.2.2): hand-laid known answers,
//! round trips, the sec_trailer layout, framing byte by byte and fragment reassembly.

use oxmapi_wire::dcerpc::framer::{ReassembledCall, fragment_stub};
use oxmapi_wire::dcerpc::pdu::{
    Bind, BindAck, ContextResult, ContextResultKind, Fault, PresentationContext, Request, Response,
};
use oxmapi_wire::dcerpc::{
    AuthLayout, AuthLevel, AuthType, CommonHeader, FaultStatus, FrameStatus, PacketType, Pdu,
    PduBody, PduFramer, PfcFlags, Reassembler, RtsPdu, SecTrailer, SyntaxId, Uuid,
};
use proptest::prelude::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}

fn emsmdb_bind() -> Pdu {
    Pdu::new(
        2,
        PduBody::Bind(Bind {
            max_xmit_frag: 4280,
            max_recv_frag: 4280,
            assoc_group_id: 0,
            contexts: vec![PresentationContext {
                context_id: 0,
                abstract_syntax: SyntaxId::EMSMDB,
                transfer_syntaxes: vec![SyntaxId::NDR],
            }],
        }),
    )
}

#[test]
fn syntax_ids_have_the_spec_text_form() {
    assert_eq!(
        SyntaxId::NDR.uuid.to_string(),
        "8a885d04-1ceb-11c9-9fe8-08002b104860"
    );
    assert_eq!(
        SyntaxId::EMSMDB.uuid.to_string(),
        "a4f1db00-ca47-1067-b31f-00dd010662da"
    );
    assert_eq!(
        SyntaxId::NSPI.uuid.to_string(),
        "f5cc5a18-4264-101a-8c59-08002b2f8426"
    );
    assert_eq!(
        SyntaxId::RFR.uuid.to_string(),
        "1544f5e0-613c-11d1-93df-00c04fd7bd09"
    );
    // Wire form of the NDR UUID (C706 Appendix A little-endian fields).
    assert_eq!(
        SyntaxId::NDR.uuid.0.to_vec(),
        h("045d888aeb1cc9119fe808002b104860")
    );
}

#[test]
fn bind_known_answer() {
    // C706 12.6.4.3 laid out by hand: header, max_xmit/recv 4280 (0x10b8), assoc 0,
    // one context (id 0, 1 transfer syntax), EMSMDB v0.81, NDR v2.
    let expected = h("05 00 0b 03 10 00 00 00 48 00 00 00 02 00 00 00
                      b8 10 b8 10 00 00 00 00 01 00 00 00 00 00 01 00
                      00 db f1 a4 47 ca 67 10 b3 1f 00 dd 01 06 62 da 00 00 51 00
                      04 5d 88 8a eb 1c c9 11 9f e8 08 00 2b 10 48 60 02 00 00 00");
    let p = emsmdb_bind();
    assert_eq!(p.to_bytes().unwrap(), expected);
    assert_eq!(Pdu::from_bytes(&expected).unwrap(), p);
    for n in 0..expected.len() {
        assert!(Pdu::from_bytes(&expected[..n]).is_err(), "prefix {n}");
    }
}

#[test]
fn bind_ack_pads_secondary_address_to_four() {
    let ack = BindAck {
        max_xmit_frag: 4280,
        max_recv_frag: 4280,
        assoc_group_id: 0x1234,
        secondary_address: b"6001\0".to_vec(),
        results: vec![ContextResult {
            result: ContextResultKind::ACCEPTANCE,
            reason: 0,
            transfer_syntax: SyntaxId::NDR,
        }],
    };
    let p = Pdu::new(2, PduBody::BindAck(ack));
    let b = p.to_bytes().unwrap();
    // 16 + 8 + 2 + 5 = 31 → 1 pad byte → results at 32.
    assert_eq!(&b[24..26], &5u16.to_le_bytes());
    assert_eq!(&b[26..31], b"6001\0");
    assert_eq!(b[31], 0);
    assert_eq!(b[32], 1);
    assert_eq!(b.len(), 32 + 4 + 24);
    assert_eq!(Pdu::from_bytes(&b).unwrap(), p);
}

#[test]
fn request_with_object_sets_the_flag() {
    let p = Pdu::new(
        7,
        PduBody::Request(Request {
            alloc_hint: 3,
            context_id: 1,
            opnum: 11,
            object: Some(Uuid::from_u128(0x0102)),
            stub: vec![1, 2, 3],
        }),
    );
    let b = p.to_bytes().unwrap();
    let hdr = CommonHeader::peek(&b).unwrap();
    assert!(hdr.pfc_flags.contains(PfcFlags::OBJECT_UUID));
    assert_eq!(hdr.ptype, PacketType::REQUEST);
    assert_eq!(b.len(), 16 + 8 + 16 + 3);
    let mut back = Pdu::from_bytes(&b).unwrap();
    back.pfc_flags = p.pfc_flags;
    assert_eq!(back, p);
}

#[test]
fn fault_names_its_status() {
    let p = Pdu::new(
        9,
        PduBody::Fault(Fault {
            alloc_hint: 32,
            context_id: 0,
            cancel_count: 0,
            flags: 0,
            status: FaultStatus::NCA_OP_RNG_ERROR,
            reserved: 0,
            stub: Vec::new(),
        }),
    );
    let b = p.to_bytes().unwrap();
    assert_eq!(&b[24..28], &h("0200011c")[..]);
    assert_eq!(Pdu::from_bytes(&b).unwrap(), p);
    assert_eq!(
        format!("{:?}", FaultStatus(0x1c01_0002)),
        "FaultStatus::NCA_OP_RNG_ERROR"
    );
    assert_eq!(format!("{:?}", FaultStatus(0x1234)), "FaultStatus(0x1234)");
}

#[test]
fn sec_trailer_padding_and_layout() {
    let req = Request {
        alloc_hint: 5,
        context_id: 0,
        opnum: 10,
        object: None,
        stub: vec![0xAA; 5],
    };
    let trailer = SecTrailer {
        auth_type: AuthType::WINNT,
        auth_level: AuthLevel::PKT_PRIVACY,
        auth_pad_length: 0,
        auth_reserved: 0,
        auth_context_id: 0,
        auth_value: vec![0x55; 16],
    };
    let p = Pdu::new(3, PduBody::Request(req))
        .with_auth(trailer, 16)
        .unwrap();
    let b = p.to_bytes().unwrap();
    // 16 header + 8 request + 5 stub = 29 → 3 pad bytes to 32.
    assert_eq!(p.auth.as_ref().unwrap().auth_pad_length, 3);
    assert_eq!(b.len(), 32 + 8 + 16);
    let hdr = CommonHeader::peek(&b).unwrap();
    assert_eq!(hdr.auth_length, 16);
    assert_eq!(usize::from(hdr.frag_length), b.len());
    let l = AuthLayout::of(&b).unwrap();
    assert_eq!(l.stub, 24..29);
    assert_eq!(l.stub_and_pad, 24..32);
    assert_eq!(l.sec_trailer, 32..40);
    assert_eq!(l.auth_value, 40..56);
    assert_eq!(&b[32..36], &[10, 6, 3, 0]);
    let back = Pdu::from_bytes(&b).unwrap();
    assert_eq!(back, p);
    let PduBody::Request(r) = back.body else {
        panic!()
    };
    assert_eq!(r.stub, vec![0xAA; 5]);
    for n in 0..b.len() {
        assert!(Pdu::from_bytes(&b[..n]).is_err());
    }
}

#[test]
fn auth3_round_trip() {
    let p = Pdu::new(4, PduBody::Auth3 { pad: 0 })
        .with_auth(
            SecTrailer {
                auth_type: AuthType::WINNT,
                auth_level: AuthLevel::PKT_PRIVACY,
                auth_pad_length: 0,
                auth_reserved: 0,
                auth_context_id: 0,
                auth_value: b"NTLMSSP\0\x03\0\0\0".to_vec(),
            },
            4,
        )
        .unwrap();
    let b = p.to_bytes().unwrap();
    assert_eq!(b.len(), 16 + 4 + 8 + 12);
    assert_eq!(Pdu::from_bytes(&b).unwrap(), p);
}

#[test]
fn header_rejects_version_and_big_endian() {
    let mut b = emsmdb_bind().to_bytes().unwrap();
    b[0] = 4;
    assert_eq!(Pdu::from_bytes(&b).unwrap_err().field, "rpc_vers");
    let mut b = emsmdb_bind().to_bytes().unwrap();
    b[4] = 0x00;
    assert_eq!(Pdu::from_bytes(&b).unwrap_err().field, "packed_drep");
}

#[test]
fn framer_fed_byte_by_byte() {
    let mut stream = Vec::new();
    let pdus = vec![
        RtsPdu::conn_a3(120_000).to_bytes().unwrap(),
        emsmdb_bind().to_bytes().unwrap(),
        RtsPdu::ping().to_bytes().unwrap(),
    ];
    for p in &pdus {
        stream.extend_from_slice(p);
    }
    let mut f = PduFramer::new();
    let mut got = Vec::new();
    for byte in &stream {
        f.push(std::slice::from_ref(byte));
        loop {
            match f.next_pdu().unwrap() {
                FrameStatus::Ready(p) => got.push(p),
                FrameStatus::Incomplete { needed } => {
                    assert!(needed > 0);
                    break;
                }
            }
        }
    }
    assert_eq!(got, pdus);
    assert_eq!(f.buffered(), 0);
}

#[test]
fn framer_reports_bad_header() {
    let mut f = PduFramer::new();
    f.push(&[6; 16]);
    assert!(f.next_pdu().is_err());
}

#[test]
fn fragments_reassemble() {
    let stub: Vec<u8> = (0..100u8).collect();
    let parts = fragment_stub(&stub, 16 + 8 + 40, 8, 0);
    assert_eq!(parts.len(), 3);
    let mut re = Reassembler::new(1000);
    let mut done = None;
    for (flags, chunk) in parts {
        let mut p = Pdu::new(
            5,
            PduBody::Response(Response {
                alloc_hint: 100,
                context_id: 0,
                cancel_count: 0,
                stub: chunk.to_vec(),
            }),
        );
        p.pfc_flags = flags;
        let bytes = p.to_bytes().unwrap();
        let back = Pdu::from_bytes(&bytes).unwrap();
        assert!(done.is_none());
        done = re.push(&back).unwrap();
    }
    assert_eq!(
        done,
        Some(ReassembledCall {
            call_id: 5,
            context_id: 0,
            opnum: None,
            object: None,
            stub,
        })
    );
}

#[test]
fn reassembly_rejects_orphans_and_oversize() {
    let mut p = Pdu::new(
        1,
        PduBody::Response(Response {
            alloc_hint: 0,
            context_id: 0,
            cancel_count: 0,
            stub: vec![0; 10],
        }),
    );
    p.pfc_flags = PfcFlags::LAST_FRAG;
    assert!(Reassembler::new(100).push(&p).is_err());
    p.pfc_flags = PfcFlags::FIRST_FRAG;
    assert!(Reassembler::new(5).push(&p).is_err());
}

proptest! {
    #[test]
    fn request_round_trip(
        call_id in any::<u32>(),
        opnum in any::<u16>(),
        ctx in any::<u16>(),
        stub in proptest::collection::vec(any::<u8>(), 0..200),
        auth in proptest::option::of((proptest::collection::vec(any::<u8>(), 1..40), any::<u32>())),
        align in prop_oneof![Just(4usize), Just(16usize)],
    ) {
        let mut p = Pdu::new(call_id, PduBody::Request(Request {
            alloc_hint: stub.len() as u32, context_id: ctx, opnum, object: None, stub,
        }));
        if let Some((value, id)) = auth {
            p = p.with_auth(SecTrailer {
                auth_type: AuthType::WINNT, auth_level: AuthLevel::PKT_INTEGRITY,
                auth_pad_length: 0, auth_reserved: 0, auth_context_id: id, auth_value: value,
            }, align).unwrap();
        }
        let b = p.to_bytes().unwrap();
        prop_assert_eq!(Pdu::from_bytes(&b).unwrap(), p.clone());
        if p.auth.is_some() {
            let l = AuthLayout::of(&b).unwrap();
            prop_assert_eq!(l.sec_trailer.start % align, 0);
        }
        for n in 0..b.len() {
            prop_assert!(Pdu::from_bytes(&b[..n]).is_err());
        }
    }

    #[test]
    fn common_header_round_trip(minor in 0u8..2, ptype in any::<u8>(), flags in any::<u8>(),
                                len in 16u16.., auth in any::<u16>(), call in any::<u32>()) {
        let hd = CommonHeader {
            rpc_vers_minor: minor, ptype: PacketType(ptype), pfc_flags: PfcFlags(flags),
            drep: CommonHeader::DREP_LE, frag_length: len, auth_length: auth, call_id: call,
        };
        let mut w = oxmapi_wire::WriteCursor::new();
        hd.encode(&mut w);
        let b = w.into_inner();
        prop_assert_eq!(CommonHeader::peek(&b).unwrap(), hd);
        for n in 0..b.len() {
            prop_assert!(CommonHeader::peek(&b[..n]).is_err());
        }
    }

    #[test]
    fn pdu_decoder_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Pdu::from_bytes(&b);
        let _ = AuthLayout::of(&b);
    }
}
