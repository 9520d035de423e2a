//! MS-OXCRPC 2.2.2.2 auxiliary buffers.

use oxmapi_wire::rpcext::{
    AUX_VERSION_1, AUX_VERSION_2, AuxBlock, AuxBody, AuxType, ClientControl, EndpointCapabilities,
    ExOrgInfo, PackOptions, PerfClientInfo, PerfSessionInfo, PerfSessionInfoV2, decode_aux_buffer,
    encode_aux_buffer,
};
use proptest::prelude::*;

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

/// Constructed from MS-OXCRPC 2.2.2.1, 2.2.2.2, 2.2.2.2.15, 2.2.2.2.17 and the
/// AUX_ENDPOINT_CAPABILITIES layout: the blocks gromox sends on connect (NOTES.md §3.4).
const CONNECT_AUX_OUT: &str = concat!(
    "0000 0400 1c00 1c00",          // RPC_HEADER_EXT Last, Size 28, SizeActual 28
    "0800 01 17 03000000",          // AUX_EXORGINFO: PUBLIC_FOLDERS_ENABLED | USE_AUTODISCOVER...
    "0c00 01 0a 0c000000 60ea0000", // AUX_CLIENT_CONTROL: COMPRESSION | HTTP_TUNNELING, 60000 ms
    "0800 01 48 01000000",          // AUX_ENDPOINT_CAPABILITIES: SINGLE_ENDPOINT
);

#[test]
fn server_connect_blocks_decode() {
    let buf = unhex(CONNECT_AUX_OUT);
    let blocks = decode_aux_buffer(&buf).unwrap();
    let types: Vec<AuxType> = blocks.iter().map(|b| b.ty).collect();
    assert_eq!(
        types,
        [
            AuxType::EXORGINFO,
            AuxType::CLIENT_CONTROL,
            AuxType::ENDPOINT_CAPABILITIES
        ]
    );
    let bodies: Vec<AuxBody> = blocks.iter().map(|b| b.body().unwrap()).collect();
    assert_eq!(
        bodies,
        [
            AuxBody::ExOrgInfo(ExOrgInfo {
                org_flags: ExOrgInfo::PUBLIC_FOLDERS_ENABLED
                    | ExOrgInfo::USE_AUTODISCOVER_FOR_PUBLIC_FOLDER_CONFIGURATION
            }),
            AuxBody::ClientControl(ClientControl {
                enable_flags: ClientControl::ENABLE_COMPRESSION
                    | ClientControl::ENABLE_HTTP_TUNNELING,
                expiry_time: 60_000,
            }),
            AuxBody::EndpointCapabilities(EndpointCapabilities {
                flags: EndpointCapabilities::SINGLE_ENDPOINT
            }),
        ]
    );
    // Re-encode byte-exact from the typed values.
    let typed = [
        ExOrgInfo { org_flags: 3 }.to_block(),
        ClientControl {
            enable_flags: 0x0C,
            expiry_time: 60_000,
        }
        .to_block(),
        EndpointCapabilities { flags: 1 }.to_block(),
    ];
    assert_eq!(
        encode_aux_buffer(&typed, PackOptions::default()).unwrap(),
        buf
    );
    assert_eq!(format!("{:?}", AuxType::EXORGINFO), "AUX_TYPE_EXORGINFO");
    assert_eq!(format!("{:?}", AuxType(0x99)), "AuxType(0x99)");
}

#[test]
fn every_truncated_prefix_fails() {
    let buf = unhex(CONNECT_AUX_OUT);
    // The empty buffer is valid (no blocks); every other prefix is not.
    for n in 1..buf.len() {
        assert!(decode_aux_buffer(&buf[..n]).is_err(), "prefix {n}");
    }
    assert_eq!(decode_aux_buffer(&[]).unwrap(), Vec::new());
}

#[test]
fn block_size_errors() {
    // AUX_HEADER Size 2 (< 4).
    let e = decode_aux_buffer(&unhex("0000 0400 0400 0400 0200 0117")).unwrap_err();
    assert_eq!(e.field, "Size");
    assert_eq!(e.offset, 8);
    // AUX_HEADER Size 12 but only 8 bytes in the payload.
    let e = decode_aux_buffer(&unhex("0000 0400 0800 0800 0c00 0117 01000000")).unwrap_err();
    assert!(e.is_truncated());
    // Two RPC_HEADER_EXT segments.
    let two = unhex("0000 0000 0000 0000 0000 0400 0000 0000");
    assert!(decode_aux_buffer(&two).is_err());
    // A block too short for its typed body.
    let short = AuxBlock {
        version: AUX_VERSION_1,
        ty: AuxType::CLIENT_CONTROL,
        payload: vec![0; 6],
    };
    assert!(short.body().unwrap_err().is_truncated());
}

#[test]
fn compressed_and_obfuscated_aux_buffer() {
    let blocks = vec![ExOrgInfo { org_flags: 1 }.to_block(); 20];
    let opts = PackOptions {
        compress: true,
        xor: true,
        last: false, // ignored: an auxiliary buffer is always a single Last segment
    };
    let wire = encode_aux_buffer(&blocks, opts).unwrap();
    assert_eq!(&wire[2..4], &[0x07, 0x00]);
    assert_eq!(decode_aux_buffer(&wire).unwrap(), blocks);
}

#[test]
fn session_info_v1_and_v2() {
    let guid = *b"0123456789abcdef";
    let v1 = PerfSessionInfo {
        session_id: 7,
        session_guid: guid,
    };
    let v2 = PerfSessionInfoV2 {
        session_id: 7,
        session_guid: guid,
        connection_id: 0xDEAD_BEEF,
    };
    let blocks = [v1.to_block(), v2.to_block()];
    assert_eq!(blocks[0].version, AUX_VERSION_1);
    assert_eq!(blocks[1].version, AUX_VERSION_2);
    assert_eq!(blocks[1].payload.len(), 24);
    let wire = encode_aux_buffer(&blocks, PackOptions::default()).unwrap();
    let back = decode_aux_buffer(&wire).unwrap();
    assert_eq!(back[0].body().unwrap(), AuxBody::PerfSessionInfo(v1));
    assert_eq!(back[1].body().unwrap(), AuxBody::PerfSessionInfoV2(v2));
}

#[test]
fn client_info_layout_and_round_trip() {
    let info = PerfClientInfo {
        adapter_speed: 1_000_000,
        client_id: 1,
        machine_name: Some("WS1".into()),
        user_name: Some("alice".into()),
        client_ip: Some(vec![127, 0, 0, 1]),
        client_ip_mask: Some(vec![255, 0, 0, 0]),
        adapter_name: None,
        mac_address: Some(vec![0, 1, 2, 3, 4, 5]),
        client_mode: PerfClientInfo::CLIENTMODE_CACHED,
    };
    let block = info.to_block().unwrap();
    let p = &block.payload;
    // Offsets count from the AUX_HEADER: strings start right after the 28-byte fixed part.
    assert_eq!(&p[6..8], &32u16.to_le_bytes()); // MachineNameOffset
    assert_eq!(&p[8..10], &40u16.to_le_bytes()); // UserNameOffset: 32 + "WS1\0" (8 bytes)
    assert_eq!(&p[10..12], &4u16.to_le_bytes()); // ClientIPSize
    assert_eq!(&p[12..14], &52u16.to_le_bytes()); // ClientIPOffset: 40 + "alice\0" (12)
    assert_eq!(&p[18..20], &0u16.to_le_bytes()); // AdapterNameOffset: absent
    assert_eq!(&p[28..36], &unhex("5700 5300 3100 0000")); // "WS1" UTF-16LE
    assert_eq!(p.len() % 4, 0);
    assert_eq!(block.body().unwrap(), AuxBody::PerfClientInfo(info));
    // An offset pointing outside the block is an error, not a panic.
    let mut bad = block.clone();
    bad.payload[6..8].copy_from_slice(&0x400u16.to_le_bytes());
    assert_eq!(bad.body().unwrap_err().field, "MachineName");
}

#[test]
fn unknown_blocks_are_kept() {
    let block = AuxBlock {
        version: 9,
        ty: AuxType(0x99),
        payload: vec![1, 2, 3],
    };
    let wire = encode_aux_buffer(std::slice::from_ref(&block), PackOptions::default()).unwrap();
    let back = decode_aux_buffer(&wire).unwrap();
    assert_eq!(back, [block]);
    assert_eq!(back[0].body().unwrap(), AuxBody::Unknown);
}

proptest! {
    #[test]
    fn decode_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(blocks) = decode_aux_buffer(&buf) {
            for b in blocks {
                let _ = b.body();
            }
        }
    }

    #[test]
    fn client_info_bodies_never_panic(p in proptest::collection::vec(any::<u8>(), 0..120)) {
        let b = AuxBlock { version: AUX_VERSION_1, ty: AuxType::PERF_CLIENTINFO, payload: p };
        let _ = b.body();
    }

    #[test]
    fn blocks_round_trip(
        raw in proptest::collection::vec((any::<u8>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..40)), 0..10),
        compress in any::<bool>(),
        xor in any::<bool>(),
    ) {
        let blocks: Vec<AuxBlock> = raw.into_iter().map(|(version, ty, payload)| AuxBlock { version, ty: AuxType(ty), payload }).collect();
        let wire = encode_aux_buffer(&blocks, PackOptions { compress, xor, last: true }).unwrap();
        prop_assert_eq!(decode_aux_buffer(&wire).unwrap(), blocks);
    }
}
