//! MS-OXCMAPIHTTP 2.2.2.2 / §4 response framing: meta-tags, additional headers, body.

use oxmapi_wire::mapihttp::framing::parse_response;
use oxmapi_wire::mapihttp::{
    FrameEvent, FramedResponse, MetaTag, ResponseFramer, render_final, render_meta,
};
use proptest::prelude::*;

/// gromox's `render_content` framing (NOTES.md §2.4), with a binary body that itself
/// contains CRLFs and the word DONE.
fn gromox_style() -> Vec<u8> {
    let mut v = b"PROCESSING\r\nPENDING\r\nPENDING\r\nDONE\r\nX-ElapsedTime: 12\r\n\
X-StartTime: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n"
        .to_vec();
    v.extend_from_slice(&[
        0, 0, 0, 0, b'\r', b'\n', b'\r', b'\n', b'D', b'O', b'N', b'E',
    ]);
    v
}

/// Every event the framer reports, feeding `chunks` one after the other, then `finish`.
fn events(chunks: &[&[u8]]) -> Result<Vec<FrameEvent>, oxmapi_wire::DecodeError> {
    let mut f = ResponseFramer::new();
    let mut out = Vec::new();
    for c in chunks {
        let mut ev = f.push(c)?;
        while ev != FrameEvent::Incomplete {
            out.push(ev);
            ev = f.poll()?;
        }
    }
    out.push(f.finish()?);
    Ok(out)
}

fn done(ev: &[FrameEvent]) -> &FramedResponse {
    match ev.last() {
        Some(FrameEvent::Done(r)) => r,
        other => panic!("no Done: {other:?}"),
    }
}

#[test]
fn gromox_style_response() {
    let ev = events(&[&gromox_style()]).unwrap();
    assert_eq!(
        &ev[..3],
        &[
            FrameEvent::Processing,
            FrameEvent::Pending,
            FrameEvent::Pending
        ]
    );
    let r = done(&ev);
    assert_eq!(r.header("x-elapsedtime"), Some("12"));
    assert_eq!(r.elapsed_time(), Some(12));
    assert_eq!(
        r.header("X-StartTime"),
        Some("Mon, 01 Jan 2024 00:00:00 GMT")
    );
    assert_eq!(r.body, [0, 0, 0, 0, 13, 10, 13, 10, b'D', b'O', b'N', b'E']);
    let (r2, pending) = parse_response(&gromox_style()).unwrap();
    assert_eq!(&r2, r);
    assert_eq!(pending, 2);
}

#[test]
fn one_byte_at_a_time_gives_identical_events() {
    let data = gromox_style();
    let whole = events(&[&data]).unwrap();
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    assert_eq!(events(&bytes).unwrap(), whole);
}

#[test]
fn every_split_point_gives_identical_events() {
    for input in [
        gromox_style(),
        b"PENDINGPENDINGPROCESSING\r\nDONE\r\nA: b\r\n\r\nxyz".to_vec(),
    ] {
        let whole = events(&[&input]).unwrap();
        for i in 0..=input.len() {
            let (a, b) = input.split_at(i);
            assert_eq!(events(&[a, b]).unwrap(), whole, "split at {i}");
        }
    }
}

#[test]
fn pending_is_reported_before_its_crlf_arrives() {
    let mut f = ResponseFramer::new();
    assert_eq!(
        f.push(b"PROCESSING\r\nPEND").unwrap(),
        FrameEvent::Processing
    );
    assert_eq!(f.poll().unwrap(), FrameEvent::Incomplete);
    assert_eq!(f.push(b"ING").unwrap(), FrameEvent::Pending);
    assert_eq!(f.push(b"\r").unwrap(), FrameEvent::Incomplete);
    assert_eq!(f.push(b"\n").unwrap(), FrameEvent::Incomplete);
    assert_eq!(f.push(b"DONE\r\n\r\n").unwrap(), FrameEvent::Incomplete);
    assert!(matches!(f.finish().unwrap(), FrameEvent::Done(r) if r.body.is_empty()));
}

#[test]
fn lenient_gromox_notification_wait() {
    // Keep-alive chunks are `PENDING` without CRLF; the final chunk repeats PROCESSING.
    let data = b"PROCESSING\r\nPENDINGPENDINGPROCESSING\r\nDONE\r\nX-ElapsedTime: 1\r\n\r\n\x00\x00\x00\x00";
    let ev = events(&[data]).unwrap();
    assert_eq!(
        &ev[..4],
        &[
            FrameEvent::Processing,
            FrameEvent::Pending,
            FrameEvent::Pending,
            FrameEvent::Processing
        ]
    );
    assert_eq!(done(&ev).body, [0, 0, 0, 0]);
}

#[test]
fn ping_response_has_empty_body() {
    let ev = events(&[b"PROCESSING\r\nDONE\r\n\r\n"]).unwrap();
    let r = done(&ev);
    assert!(r.body.is_empty() && r.additional_headers.is_empty());
}

#[test]
fn garbage_is_rejected_with_offset() {
    let cases: &[(&[u8], usize)] = &[
        (b"<html>", 0),
        (b"PROCESSING\r\nPENDXNG\r\n", 16),
        (b"PROCESSING\nDONE\r\n", 10),
        (b"PENDING\rX", 8),
        (b"DONE\r\nNoColonHere\r\n\r\n", 6),
        (b"DONE\r\nBad Name: x\r\n\r\n", 6),
        (b"DONE\r\nA: b\nc\r\n\r\n", 10),
    ];
    for (input, offset) in cases {
        let e = events(&[input]).unwrap_err();
        assert_eq!(e.offset, *offset, "{e}");
        assert!(!e.is_truncated(), "{e}");
        // Same error when fed byte by byte.
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(events(&bytes).unwrap_err().offset, *offset);
    }
}

#[test]
fn truncated_before_body_is_an_error_at_finish() {
    let data = gromox_style();
    let body_start = data.len() - 12;
    for n in 0..body_start {
        let e = events(&[&data[..n]]).unwrap_err();
        assert!(e.is_truncated(), "prefix {n}: {e}");
    }
    // From the body on, a shorter input is a shorter body: framing cannot tell.
    assert!(events(&[&data[..body_start]]).is_ok());
}

#[test]
fn overlong_header_line_is_rejected() {
    let mut data = b"DONE\r\nX: ".to_vec();
    data.extend(std::iter::repeat_n(b'a', 10_000));
    assert!(events(&[&data]).is_err());
}

#[test]
fn render_round_trip() {
    let mut wire = Vec::new();
    wire.extend_from_slice(render_meta(MetaTag::Processing));
    wire.extend_from_slice(render_meta(MetaTag::Pending));
    wire.extend_from_slice(
        &render_final(
            &[("X-ElapsedTime", "3"), ("X-StartTime", "now")],
            b"\x01\x02",
        )
        .unwrap(),
    );
    assert_eq!(
        wire,
        b"PROCESSING\r\nPENDING\r\nDONE\r\nX-ElapsedTime: 3\r\nX-StartTime: now\r\n\r\n\x01\x02"
    );
    let (r, pending) = parse_response(&wire).unwrap();
    assert_eq!(pending, 1);
    assert_eq!(r.body, [1, 2]);
    assert!(render_final(&[("X-A", "b\r\nInjected: 1")], b"").is_err());
    assert!(render_final(&[("Bad Name", "b")], b"").is_err());
}

proptest! {
    #[test]
    fn rendered_responses_parse_back_at_any_split(
        pendings in 0usize..4,
        headers in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,10}", "[ -~]{0,20}"), 0..4),
        body in proptest::collection::vec(any::<u8>(), 0..64),
        split in any::<prop::sample::Index>(),
    ) {
        let mut wire = render_meta(MetaTag::Processing).to_vec();
        for _ in 0..pendings {
            wire.extend_from_slice(render_meta(MetaTag::Pending));
        }
        let hdrs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        wire.extend_from_slice(&render_final(&hdrs, &body).unwrap());
        let at = split.index(wire.len() + 1);
        let ev = events(&[&wire[..at], &wire[at..]]).unwrap();
        prop_assert_eq!(ev.iter().filter(|e| **e == FrameEvent::Pending).count(), pendings);
        let r = done(&ev);
        prop_assert_eq!(&r.body, &body);
        let expect: Vec<(String, String)> =
            headers.iter().map(|(n, v)| (n.clone(), v.trim().to_owned())).collect();
        prop_assert_eq!(&r.additional_headers, &expect);
    }

    #[test]
    fn arbitrary_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = events(&[&data]);
    }
}
