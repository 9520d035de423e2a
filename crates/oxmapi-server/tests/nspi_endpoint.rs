//! The address book endpoint with hand-built request bodies (MS-OXCMAPIHTTP 2.2.5) and
//! checked response bytes.

#[path = "infra_support.rs"]
mod support;

use support::*;

const PR_DISPLAY_NAME_W: u32 = 0x3001_001F;
const PR_EMAIL_ADDRESS_W: u32 = 0x3003_001F;
const PR_SMTP_ADDRESS_W: u32 = 0x39FE_001F;
const PR_ACCOUNT_W: u32 = 0x3A00_001F;
const PR_DISPLAY_TYPE: u32 = 0x3900_0003;
const PR_TITLE_W: u32 = 0x3A17_001F;
const PR_DISPLAY_NAME_A: u32 = 0x3001_001E;

/// Bind request (2.2.5.1.1): Flags, HasState + STAT, AuxiliaryBufferSize.
async fn bind(ts: &TestServer) -> (Mapi, Vec<u8>) {
    let mut m = Mapi::new(ts, "nspi", &ts.alice, ALICE_PASSWORD).await;
    let body = Bytes8::default()
        .u32(0)
        .u8(0xFF)
        .stat(0, 0, 0)
        .u32(0)
        .done();
    let r = m.post("Bind", body).await;
    assert_eq!(r.response_code(), Some(0));
    assert!(m.cookies.iter().any(|c| c.starts_with("MapiContext=")));
    let mut b = Rd(r.mapi_body());
    assert_eq!(b.u32(), 0, "StatusCode");
    assert_eq!(b.u32(), 0, "ErrorCode");
    let guid = b.raw(16);
    assert_eq!(b.u32(), 0, "AuxiliaryBufferSize");
    b.end();
    (m, guid)
}

fn mid(u: &oxmapi_server::store::UserRecord) -> u32 {
    0x1000 + u.id as u32
}

/// ResolveNames request (2.2.5.14.1): Reserved, HasState + STAT, HasPropertyTags + tags,
/// HasNames + WStringArray, AuxiliaryBufferSize.
fn resolve_body(names: &[&str], tags: &[u32]) -> Vec<u8> {
    let mut b = Bytes8::default()
        .u32(0)
        .u8(0xFF)
        .stat(0, 0, 0)
        .u8(0xFF)
        .u32(tags.len() as u32);
    for t in tags {
        b = b.u32(*t);
    }
    b = b.u8(0xFF).u32(names.len() as u32);
    for n in names {
        b = b.utf16z(n);
    }
    b.u32(0).done()
}

fn utf16z(s: &str) -> Vec<u8> {
    Bytes8::default().utf16z(s).done()
}

#[tokio::test]
async fn bind_resolve_dntomid_getprops_unbind() {
    let ts = start().await;
    let (mut m, guid) = bind(&ts).await;
    let org = ts.server.store().org().unwrap().unwrap();
    assert_eq!(guid, org.server_guid);

    // ResolveNames: an exact alias, an ambiguous prefix ("b" would be unique, "" no), nothing.
    ts.server
        .store()
        .add_user("bobby", "Bobby Tables", "x")
        .unwrap();
    let cols = [
        PR_DISPLAY_NAME_W,
        PR_EMAIL_ADDRESS_W,
        PR_DISPLAY_TYPE,
        PR_TITLE_W,
    ];
    let r = m
        .post("ResolveNames", resolve_body(&["ALICE", "bo", "zed"], &cols))
        .await;
    assert_eq!(r.response_code(), Some(0));
    let mut b = Rd(r.mapi_body());
    assert_eq!((b.u32(), b.u32()), (0, 0), "StatusCode, ErrorCode");
    assert_eq!(b.u32(), 1252, "CodePage");
    assert_eq!(b.u8(), 0xFF, "HasMinimalIds");
    assert_eq!(b.u32(), 3);
    assert_eq!([b.u32(), b.u32(), b.u32()], [mid(&ts.alice), 1, 0]);
    assert_eq!(b.u8(), 0xFF, "HasRowsAndColumns");
    assert_eq!(b.u32(), 4);
    assert_eq!([b.u32(), b.u32(), b.u32(), b.u32()], cols);
    assert_eq!(b.u32(), 1, "RowCount");
    // AddressBookPropertyRow, flagged (PR_TITLE is missing): each value has a flag byte.
    let mut want = vec![0x01, 0x00, 0xFF];
    want.extend(utf16z("Alice Example"));
    want.extend([0x00, 0xFF]);
    want.extend(utf16z(&ts.alice.legacy_dn));
    want.extend([0x00, 0, 0, 0, 0]);
    want.extend([0x0A, 0x0F, 0x01, 0x04, 0x80]);
    assert_eq!(b.raw(want.len()), want);
    assert_eq!(b.u32(), 0, "AuxiliaryBufferSize");
    b.end();

    // DNToMId (2.2.5.5.1): Reserved, HasNames + StringArray, AuxiliaryBufferSize.
    let body = Bytes8::default()
        .u32(0)
        .u8(0xFF)
        .u32(2)
        .asciiz(&ts.bob.legacy_dn.to_uppercase())
        .asciiz("/o=nowhere")
        .u32(0)
        .done();
    let r = m.post("DNToMId", body).await;
    let mut b = Rd(r.mapi_body());
    assert_eq!((b.u32(), b.u32()), (0, 0));
    assert_eq!((b.u8(), b.u32()), (0xFF, 2));
    assert_eq!([b.u32(), b.u32()], [mid(&ts.bob), 0]);
    assert_eq!(b.u32(), 0);
    b.end();

    // GetProps (2.2.5.7.1): Flags, HasState + STAT (CurrentRec = MId), HasPropertyTags, Aux.
    let tags = [
        PR_ACCOUNT_W,
        PR_SMTP_ADDRESS_W,
        PR_DISPLAY_NAME_A,
        PR_TITLE_W,
    ];
    let mut body = Bytes8::default()
        .u32(0)
        .u8(0xFF)
        .stat(mid(&ts.bob), 0, 0)
        .u8(0xFF)
        .u32(4);
    for t in tags {
        body = body.u32(t);
    }
    let r = m.post("GetProps", body.u32(0).done()).await;
    let mut b = Rd(r.mapi_body());
    assert_eq!(b.u32(), 0, "StatusCode");
    assert_eq!(b.u32(), 0x0004_0380, "ErrorCode ecWarnWithErrors");
    assert_eq!(b.u32(), 1252, "CodePage");
    assert_eq!((b.u8(), b.u32()), (0xFF, 4));
    let mut want = Vec::new();
    want.extend(PR_ACCOUNT_W.to_le_bytes());
    want.push(0xFF);
    want.extend(utf16z("bob"));
    want.extend(PR_SMTP_ADDRESS_W.to_le_bytes());
    want.push(0xFF);
    want.extend(utf16z("bob@example.test"));
    want.extend(PR_DISPLAY_NAME_A.to_le_bytes());
    want.push(0xFF);
    want.extend(b"Bob Builder\0");
    want.extend(0x3A17_000Au32.to_le_bytes());
    want.extend(0x8004_010Fu32.to_le_bytes());
    assert_eq!(b.raw(want.len()), want);
    assert_eq!(b.u32(), 0);
    b.end();

    // Unbind (2.2.5.2.1): Reserved, Aux → ErrorCode 1 (UNBIND_SUCCESS); the context is gone.
    let r = m
        .post("Unbind", Bytes8::default().u32(0).u32(0).done())
        .await;
    let mut b = Rd(r.mapi_body());
    assert_eq!((b.u32(), b.u32(), b.u32()), (0, 1, 0));
    b.end();
    let r = m
        .post("Unbind", Bytes8::default().u32(0).u32(0).done())
        .await;
    assert_eq!(r.response_code(), Some(10));
    ts.server.shutdown().await;
}

#[tokio::test]
async fn query_rows_update_stat_special_table_prop_list() {
    let ts = start().await;
    let (mut m, _) = bind(&ts).await;
    // QueryRows (2.2.5.11.1): Flags, HasState + STAT, ExplicitTableCount + MIds, RowCount,
    // HasColumns + tags, Aux. GAL sorted by display name: Alice Example, Bob Builder.
    let body = Bytes8::default()
        .u32(0)
        .u8(0xFF)
        .stat(0, 0, 0)
        .u32(0)
        .u32(1)
        .u8(0xFF)
        .u32(1)
        .u32(PR_ACCOUNT_W)
        .u32(0)
        .done();
    let r = m.post("QueryRows", body).await;
    let mut b = Rd(r.mapi_body());
    assert_eq!((b.u32(), b.u32()), (0, 0));
    assert_eq!(b.u8(), 0xFF, "HasState");
    let stat: Vec<u32> = (0..9).map(|_| b.u32()).collect();
    assert_eq!(stat[2], mid(&ts.bob), "CurrentRec = next row");
    assert_eq!((stat[4], stat[5]), (1, 2), "NumPos, TotalRecs");
    assert_eq!(b.u8(), 0xFF);
    assert_eq!((b.u32(), b.u32()), (1, PR_ACCOUNT_W));
    assert_eq!(b.u32(), 1, "RowCount");
    let mut want = vec![0x00, 0xFF];
    want.extend(utf16z("alice"));
    assert_eq!(b.raw(want.len()), want);
    assert_eq!(b.u32(), 0);
    b.end();

    // Explicit table: Bob, then an unknown MId.
    let body = Bytes8::default()
        .u32(0)
        .u8(0x00)
        .u32(2)
        .u32(mid(&ts.bob))
        .u32(0x9999)
        .u32(10)
        .u8(0xFF)
        .u32(1)
        .u32(PR_ACCOUNT_W)
        .u32(0)
        .done();
    let r = m.post("QueryRows", body).await;
    let mut b = Rd(r.mapi_body());
    assert_eq!((b.u32(), b.u32()), (0, 0));
    b.u8();
    b.raw(36);
    assert_eq!(
        (b.u8(), b.u32(), b.u32(), b.u32()),
        (0xFF, 1, PR_ACCOUNT_W, 2)
    );
    let mut want = vec![0x00, 0xFF];
    want.extend(utf16z("bob"));
    want.extend([0x01, 0x0A, 0x0F, 0x01, 0x04, 0x80]);
    assert_eq!(b.raw(want.len()), want);
    assert_eq!(b.u32(), 0);
    b.end();

    // UpdateStat (2.2.5.16.1): Reserved, HasState + STAT (Delta 5 from the start), DeltaRequested.
    let body = Bytes8::default()
        .u32(0)
        .u8(0xFF)
        .stat(0, 5, 0)
        .u8(0xFF)
        .u32(0)
        .done();
    let r = m.post("UpdateStat", body).await;
    let mut b = Rd(r.mapi_body());
    assert_eq!((b.u32(), b.u32(), b.u8()), (0, 0, 0xFF));
    let stat: Vec<u32> = (0..9).map(|_| b.u32()).collect();
    assert_eq!(
        (stat[2], stat[3], stat[4], stat[5]),
        (2, 0, 2, 2),
        "end of table"
    );
    assert_eq!((b.u8(), b.u32()), (0xFF, 2), "Delta moved");
    assert_eq!(b.u32(), 0);
    b.end();

    // GetSpecialTable (2.2.5.9.1): Flags, HasState + STAT, HasVersion, Aux.
    let body = Bytes8::default()
        .u32(0)
        .u8(0xFF)
        .stat(0, 0, 0)
        .u8(0)
        .u32(0)
        .done();
    let r = m.post("GetSpecialTable", body).await;
    let mut b = Rd(r.mapi_body());
    assert_eq!((b.u32(), b.u32(), b.u32()), (0, 0, 1252));
    assert_eq!((b.u8(), b.u32()), (0xFF, 1), "Version");
    assert_eq!((b.u8(), b.u32()), (0xFF, 1), "one row (the GAL)");
    assert_eq!(b.u32(), 6, "values in the row (MS-OXNSPI 3.1.4.1.3)");
    assert_eq!(b.u32(), 0x0FFF_0102, "PidTagEntryId");
    assert_eq!(b.u8(), 0xFF);
    let n = b.u32() as usize;
    assert_eq!(&b.raw(n)[28..], b"/\0");
    assert_eq!((b.u32(), b.u32()), (0x3600_0003, 9), "PidTagContainerFlags");
    assert_eq!((b.u32(), b.u32()), (0x3005_0003, 0), "PidTagDepth");
    assert_eq!(
        (b.u32(), b.u32()),
        (0xFFFD_0003, 0),
        "PidTagAddressBookContainerId"
    );
    // Flags 0 (no NspiUnicodeStrings): the name is an 8-bit string.
    assert_eq!(
        (b.u32(), b.u8(), b.u8()),
        (0x3001_001E, 0xFF, 0),
        "PidTagDisplayName"
    );
    assert_eq!(
        (b.u32(), b.u8()),
        (0xFFFB_000B, 0),
        "PidTagAddressBookIsMaster"
    );
    assert_eq!(b.u32(), 0);
    b.end();

    // GetPropList (2.2.5.6.1): Flags, MinimalId, CodePage, Aux.
    let body = Bytes8::default()
        .u32(0)
        .u32(mid(&ts.alice))
        .u32(1252)
        .u32(0)
        .done();
    let r = m.post("GetPropList", body).await;
    let mut b = Rd(r.mapi_body());
    assert_eq!((b.u32(), b.u32(), b.u8()), (0, 0, 0xFF));
    let n = b.u32();
    let tags: Vec<u32> = (0..n).map(|_| b.u32()).collect();
    assert!(tags.contains(&PR_EMAIL_ADDRESS_W) && tags.contains(&PR_SMTP_ADDRESS_W));
    assert_eq!(b.u32(), 0);
    b.end();
    ts.server.shutdown().await;
}

#[tokio::test]
async fn nspi_requests_need_a_context_and_a_valid_body() {
    let ts = start().await;
    let mut m = Mapi::new(&ts, "nspi", &ts.alice, ALICE_PASSWORD).await;
    let r = m
        .post("DNToMId", Bytes8::default().u32(0).u8(0).u32(0).done())
        .await;
    assert_eq!(r.response_code(), Some(13));
    let (mut m, _) = bind(&ts).await;
    // Presence bytes other than 0x00/0xFF and truncated bodies are Invalid Request Body.
    let r = m
        .post("DNToMId", Bytes8::default().u32(0).u8(1).u32(0).done())
        .await;
    assert_eq!(r.response_code(), Some(12));
    let full = resolve_body(&["alice"], &[PR_ACCOUNT_W]);
    for cut in [0, 4, 5, 41, full.len() - 1] {
        let r = m.post("ResolveNames", full[..cut].to_vec()).await;
        assert_eq!(r.response_code(), Some(12), "cut at {cut}");
    }
    let r = m.post("GetTemplateInfo", Vec::new()).await;
    assert_eq!(r.response_code(), Some(5));
    // Bob cannot use Alice's context.
    let mut bob = Mapi::new(&ts, "nspi", &ts.bob, BOB_PASSWORD).await;
    bob.cookies = m.cookies.clone();
    bob.counter = 100;
    let r = bob
        .post("DNToMId", Bytes8::default().u32(0).u8(0).u32(0).done())
        .await;
    assert_eq!(r.response_code(), Some(11));
    ts.server.shutdown().await;
}

/// GetMatches request (2.2.5.5.1) with a filter: Reserved, HasState + STAT, HasMinimalIds 0,
/// InterfaceOptionFlags, HasFilter + restriction (MS-OXCDATA 2.12, address-book dialect:
/// values carry a HasValue byte), HasPropertyName 0, RowCount, HasColumns + tags, Aux.
fn get_matches_body(filter: &[u8], row_count: u32) -> Vec<u8> {
    Bytes8::default()
        .u32(0)
        .u8(0xFF)
        .stat(0, 0, 0)
        .u8(0x00)
        .u32(0)
        .u8(0xFF)
        .raw(filter)
        .u8(0x00)
        .u32(row_count)
        .u8(0xFF)
        .u32(1)
        .u32(PR_ACCOUNT_W)
        .u32(0)
        .done()
}

#[tokio::test]
async fn get_matches_anr_and_content_restrictions() {
    let ts = start().await;
    ts.server
        .store()
        .add_user("bobby", "Bobby Tables", "x")
        .unwrap();
    let bobby = ts.server.store().user_by_alias("bobby").unwrap().unwrap();
    let (mut m, _) = bind(&ts).await;
    // PropertyRestriction (0x04) RELOP_EQ on PidTagAnr (0x360C001F) = "bo": both Bobs.
    let anr = Bytes8::default()
        .u8(0x04)
        .u8(0x04)
        .u32(0x360C_001F)
        .u32(0x360C_001F)
        .u8(0xFF)
        .utf16z("bo")
        .done();
    let r = m.post("GetMatches", get_matches_body(&anr, 50)).await;
    assert_eq!(r.response_code(), Some(0));
    let mut b = Rd(r.mapi_body());
    assert_eq!((b.u32(), b.u32()), (0, 0));
    assert_eq!(b.u8(), 0xFF, "HasState");
    b.raw(36);
    assert_eq!((b.u8(), b.u32()), (0xFF, 2), "two MinimalIds");
    assert_eq!([b.u32(), b.u32()], [mid(&ts.bob), mid(&bobby)]);
    assert_eq!(
        (b.u8(), b.u32(), b.u32(), b.u32()),
        (0xFF, 1, PR_ACCOUNT_W, 2)
    );
    let mut want = vec![0x00, 0xFF];
    want.extend(utf16z("bob"));
    want.extend([0x00, 0xFF]);
    want.extend(utf16z("bobby"));
    assert_eq!(b.raw(want.len()), want);
    assert_eq!(b.u32(), 0);
    b.end();

    // ContentRestriction (0x03): FL_SUBSTRING | FL_IGNORECASE on PidTagDisplayName "TABLE".
    let content = Bytes8::default()
        .u8(0x03)
        .raw(&[1, 0, 1, 0])
        .u32(PR_DISPLAY_NAME_W)
        .u32(PR_DISPLAY_NAME_W)
        .u8(0xFF)
        .utf16z("TABLE")
        .done();
    let r = m.post("GetMatches", get_matches_body(&content, 50)).await;
    let mut b = Rd(r.mapi_body());
    assert_eq!((b.u32(), b.u32()), (0, 0));
    b.u8();
    b.raw(36);
    assert_eq!((b.u8(), b.u32(), b.u32()), (0xFF, 1, mid(&bobby)));
    // RowCount limits the matches.
    let r = m.post("GetMatches", get_matches_body(&anr, 1)).await;
    let mut b = Rd(r.mapi_body());
    b.raw(8 + 1 + 36);
    assert_eq!((b.u8(), b.u32(), b.u32()), (0xFF, 1, mid(&ts.bob)));
    ts.server.shutdown().await;
}
