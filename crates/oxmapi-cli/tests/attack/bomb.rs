//! Attacks 1 and 2: the decompression bomb. A ROP request buffer made of tens of thousands
//! of tiny compressed RPC_HEADER_EXT segments (MS-OXCRPC 2.2.2.1: Version, Flags, Size,
//! SizeActual), each inflating to 65,535 zero bytes, `Last` only on the final one. A request
//! may carry exactly one segment (MS-OXCRPC 3.1.4.2.1: no packing was negotiated), so the
//! server must refuse it from the headers, before inflating anything.
//!
//! Over MAPI/HTTP the bomb fills an Execute request (MS-OXCMAPIHTTP 2.2.4.2.1) up to the
//! server's 1 MiB body limit; over RPC/HTTP it fills EcDoRpcExt2's rgbIn (MS-OXCRPC 3.1.4.2,
//! `cbIn` at most 0x40000) sent in fragments.

use oxmapi_wire::dcerpc::PduBody;
use oxmapi_wire::dcerpc::emsmdb::{EcDoRpcExt2Request, EcDoRpcExt2Response, OPNUM_EC_DO_RPC_EXT2};
use oxmapi_wire::dcerpc::ndr::NdrCodec;
use oxmapi_wire::rpcext::RpcHeaderFlags;
use oxmapi_wire::rpcext::lz77;

use super::harness::{AttackCtx, Outcome};
use super::net::{ATTACKER, Mapi, Vc, execute_codes};

/// Bytes of a segment's payload once inflated.
const INFLATED: u16 = u16::MAX;

/// A chain of compressed segments of at most `max_len` bytes; the segment count and the
/// total inflated size.
pub(crate) fn bomb(max_len: usize) -> (Vec<u8>, usize, u64) {
    let payload = lz77::compress(&vec![0u8; usize::from(INFLATED)]);
    let size = u16::try_from(payload.len()).expect("a tiny compressed payload");
    let seg_len = 8 + payload.len();
    let count = max_len / seg_len;
    let mut out = Vec::with_capacity(count * seg_len);
    for i in 0..count {
        let mut flags = RpcHeaderFlags::COMPRESSED;
        if i + 1 == count {
            flags |= RpcHeaderFlags::LAST;
        }
        out.extend_from_slice(&0u16.to_le_bytes()); // Version
        out.extend_from_slice(&flags.0.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes()); // Size
        out.extend_from_slice(&INFLATED.to_le_bytes()); // SizeActual
        out.extend_from_slice(&payload);
    }
    (out, count, count as u64 * u64::from(INFLATED))
}

/// Attack 1: the bomb in MAPI/HTTP Execute requests, sent again and again (a new connection
/// and session context each time) until the runner says stop.
pub(crate) async fn mapi_http(ctx: AttackCtx) -> Outcome {
    let mut o = Outcome::default();
    // The server reads at most 1 MiB of body (MAX_BODY); leave room for the Execute fields.
    let (rop_buffer, count, inflated) = bomb((1 << 20) - 64);
    let target = ctx.target();
    let mut sent = 0;
    let mut answers = Vec::new();
    while sent < 1 || !ctx.stopping() {
        sent += 1;
        let mut m = match Mapi::open(&target, ATTACKER, "emsmdb", &ctx.bob).await {
            Ok(m) => m,
            Err(e) => {
                o.fail(format!("bomb {sent}: {e}"));
                break;
            }
        };
        if let Err(e) = m.connect(&ctx.bob).await {
            o.fail(format!("bomb {sent}: {e}"));
            break;
        }
        match m.execute_raw(rop_buffer.clone()).await {
            Ok(r) => {
                let codes = execute_codes(&r);
                let body = match &codes {
                    Ok((0, Some(ec))) => format!("StatusCode 0 ErrorCode {ec:#x}"),
                    Ok((status, _)) => format!("StatusCode {status:#x}"),
                    Err(e) => e.clone(),
                };
                let answer = format!(
                    "HTTP {} X-ResponseCode {} {body}",
                    r.status.as_u16(),
                    r.header("x-responsecode").unwrap_or("-"),
                );
                // A clean refusal: a failure X-ResponseCode, a failure StatusCode, or an
                // Execute ErrorCode (ecRpcFormat); never a success.
                let refused = match (r.response_code(), &codes) {
                    (Some(0), Ok((0, Some(ec)))) => *ec != 0,
                    (Some(0), Ok((status, _))) => *status != 0,
                    (Some(0), Err(_)) => false,
                    (Some(_), _) => true,
                    (None, _) => !r.status.is_success(),
                };
                o.check(refused, format!("bomb {sent} was not refused: {answer}"));
                if !answers.contains(&answer) {
                    answers.push(answer);
                }
            }
            Err(e) => {
                o.fail(format!("bomb {sent}: no clean answer: {e}"));
                break;
            }
        }
    }
    o.note = format!(
        "[{sent} Execute requests of {} KiB, each {count} segments inflating to {} MiB; answers: {}]",
        rop_buffer.len() / 1024,
        inflated >> 20,
        answers.join("; ")
    );
    o
}

/// Attack 2: the bomb in EcDoRpcExt2's rgbIn over an RPC/HTTP virtual connection, repeated
/// on new virtual connections until the runner says stop.
pub(crate) async fn rpc_http(ctx: AttackCtx) -> Outcome {
    let mut o = Outcome::default();
    // cbIn is at most 0x40000 (MS-OXCRPC 3.1.4.2, `[range(0x000, 0x40000)]`); 4 KiB less
    // keeps the whole call within the IN channel's 0x40000 receive window (MS-RPCH 3.2.1.1.4).
    let (rgb_in, count, inflated) = bomb(0x4_0000 - 0x1000);
    let target = ctx.target();
    let mut sent = 0;
    let mut answers = Vec::new();
    while sent < 1 || !ctx.stopping() {
        sent += 1;
        let setup = async {
            let mut vc = Vc::open(&target, ATTACKER, &ctx.bob).await?;
            vc.bind_emsmdb().await?;
            let cxh = vc.connect(&ctx.bob).await?;
            Ok::<_, String>((vc, cxh))
        };
        let (mut vc, cxh) = match setup.await {
            Ok(v) => v,
            Err(e) => {
                o.fail(format!(
                    "bomb {sent}: setting up the virtual connection: {e}"
                ));
                break;
            }
        };
        let call = EcDoRpcExt2Request {
            handle: cxh,
            flags: 0x3,
            rgb_in: rgb_in.clone(),
            max_out: 0x4_0000,
            aux_in: Vec::new(),
            max_aux_out: 0x1008,
        };
        let stub = match call.to_stub() {
            Ok(s) => s,
            Err(e) => {
                o.fail(format!("encoding EcDoRpcExt2: {e}"));
                break;
            }
        };
        let answer = match vc.call(OPNUM_EC_DO_RPC_EXT2, &stub).await {
            Ok(Some(p)) => match p.body {
                PduBody::Fault(f) => format!("fault {:?}", f.status),
                PduBody::Response(r) => {
                    // The first fragment is enough for the result unless the response is
                    // long; an error response is short.
                    match EcDoRpcExt2Response::from_stub(&r.stub) {
                        Ok(resp) if resp.result.is_success() => {
                            o.fail(format!("bomb {sent}: EcDoRpcExt2 succeeded"));
                            "success".to_owned()
                        }
                        Ok(resp) => format!("EcDoRpcExt2 {:?}", resp.result),
                        Err(e) => {
                            o.fail(format!("bomb {sent}: undecodable response: {e}"));
                            "undecodable".to_owned()
                        }
                    }
                }
                other => {
                    o.fail(format!("bomb {sent}: unexpected answer {other:?}"));
                    "unexpected".to_owned()
                }
            },
            Ok(None) => {
                o.fail(format!("bomb {sent}: the channel closed without an answer"));
                break;
            }
            Err(e) => {
                o.fail(format!("bomb {sent}: {e}"));
                break;
            }
        };
        if !answers.contains(&answer) {
            answers.push(answer);
        }
    }
    o.note = format!(
        "[{sent} EcDoRpcExt2 calls of {} KiB, each {count} segments inflating to {} MiB; answers: {}]",
        rgb_in.len() / 1024,
        inflated >> 20,
        answers.join("; ")
    );
    o
}
