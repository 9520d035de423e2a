//! MAPI/HTTP endpoint plumbing (MS-OXCMAPIHTTP 2.2.2–2.2.4, 3.2): request header checks,
//! session-context cookies, the response framing (2.2.7 meta-tags and additional headers) and
//! the EMSMDB request types Connect, Execute, Disconnect, NotificationWait and PING.

pub(crate) mod common;

use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode, request::Parts};
use oxmapi_wire::data::ErrorCode;
use oxmapi_wire::mapihttp::emsmdb::{
    ConnectRequest, ConnectResponse, ConnectSuccess, DisconnectRequest, DisconnectResponse,
    DisconnectSuccess, ExecuteRequest, ExecuteResponse, ExecuteSuccess, NotificationWaitRequest,
    NotificationWaitResponse, NotificationWaitSuccess,
};
use oxmapi_wire::{Decode, Encode, ReadCursor, WriteCursor};

use crate::body::{ChunkedBody, closing, plain};
use crate::emsmdb::MailboxContext;
use crate::session::{CONTEXT_COOKIE, Endpoint, RequestId};
use crate::state::AppState;
use crate::store::UserRecord;
use common::{Outcome, RequestInfo, ResponseCode, context_cookie, exorginfo_aux, lookup};

/// Handles one POST to an endpoint for an authenticated user.
pub(crate) fn dispatch(
    state: &AppState,
    endpoint: Endpoint,
    user: &UserRecord,
    parts: &Parts,
    body: &[u8],
) -> Response<ChunkedBody> {
    let started = Instant::now();
    let headers = &parts.headers;
    let outcome = match check_request(parts) {
        Err(code) => Outcome::fail(code),
        Ok(info) => match endpoint {
            Endpoint::Emsmdb => match mailbox_id_matches(parts, user) {
                true => emsmdb(state, user, &info, body),
                false => Outcome::fail(ResponseCode::NoPrivilege),
            },
            Endpoint::Nspi => crate::nspi::handle(state, user, &info, body),
        },
    };
    render(state, headers, outcome, started)
}

/// The response to a request body over the size limit (MS-OXCMAPIHTTP 2.2.3.3.3 X-ResponseCode
/// 9, Request Too Large). The body was not read to its end, so the connection closes.
pub(crate) fn too_large(headers: &HeaderMap) -> Response<ChunkedBody> {
    closing(failure(headers, ResponseCode::TooLarge))
}

fn check_request<'a>(parts: &'a Parts) -> Result<RequestInfo<'a>, ResponseCode> {
    if parts.method != http::Method::POST {
        return Err(ResponseCode::InvalidVerb);
    }
    let h = &parts.headers;
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    let request_type = get("x-requesttype").ok_or(ResponseCode::MissingHeader)?;
    let request_id = get("x-requestid").ok_or(ResponseCode::MissingHeader)?;
    get("x-clientinfo").ok_or(ResponseCode::MissingHeader)?;
    let content_type = get("content-type").ok_or(ResponseCode::MissingHeader)?;
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/mapi-http") {
        return Err(ResponseCode::InvalidHeader);
    }
    let request_id = RequestId::parse(request_id).ok_or(ResponseCode::InvalidHeader)?;
    Ok(RequestInfo {
        request_type,
        request_id,
        cookie: cookie(h, CONTEXT_COOKIE),
    })
}

/// `MailboxId=<personalized server name>` must name the authenticated user's mailbox.
fn mailbox_id_matches(parts: &Parts, user: &UserRecord) -> bool {
    let query = parts.uri.query().unwrap_or("");
    query.split('&').any(|kv| match kv.split_once('=') {
        Some((k, v)) if k.eq_ignore_ascii_case("MailboxId") => {
            percent_decode(v).eq_ignore_ascii_case(&user.personalized_server_name)
        }
        _ => false,
    })
}

fn emsmdb(state: &AppState, user: &UserRecord, info: &RequestInfo<'_>, body: &[u8]) -> Outcome {
    let rt = info.request_type;
    if rt.eq_ignore_ascii_case("Connect") {
        return connect(state, user, info, body);
    }
    if rt.eq_ignore_ascii_case("PING") {
        return Outcome::body(Vec::new());
    }
    let known = ["Execute", "Disconnect", "NotificationWait"];
    if !known.iter().any(|k| rt.eq_ignore_ascii_case(k)) {
        return Outcome::fail(ResponseCode::InvalidRequestType);
    }
    let mailbox = match lookup(state, Endpoint::Emsmdb, user, info) {
        Ok(m) => m,
        Err(code) => return Outcome::fail(code),
    };
    let result = if rt.eq_ignore_ascii_case("Execute") {
        match mailbox {
            Some(m) => execute(&m, body),
            None => Err(ResponseCode::ContextNotFound),
        }
    } else if rt.eq_ignore_ascii_case("Disconnect") {
        disconnect(state, info, body)
    } else {
        notification_wait(mailbox.as_deref(), body)
    };
    Outcome {
        result,
        set_cookies: Vec::new(),
    }
}

/// Decodes a whole request body with its `oxmapi-wire` codec (the fuzzed one): anything
/// malformed, and any byte after the auxiliary buffer, is an invalid request body
/// (MS-OXCMAPIHTTP 2.2.2.2 X-ResponseCode 5).
fn decode_request<T: Decode>(body: &[u8]) -> Result<T, ResponseCode> {
    let mut r = ReadCursor::new(body);
    let req = T::decode(&mut r).map_err(|_| ResponseCode::InvalidRequestBody)?;
    r.finish("AuxiliaryBuffer")
        .map_err(|_| ResponseCode::InvalidRequestBody)?;
    Ok(req)
}

/// Encodes a response body with its `oxmapi-wire` codec.
fn encode_response(resp: &impl Encode) -> Result<Vec<u8>, ResponseCode> {
    let mut w = WriteCursor::new();
    resp.encode(&mut w)
        .map_err(|_| ResponseCode::UnknownFailure)?;
    Ok(w.into_inner())
}

/// Connect (MS-OXCMAPIHTTP 2.2.4.1; EcDoConnectEx semantics, MS-OXCRPC 3.1.4.1): the UserDn
/// must be the authenticated user's legacy DN.
fn connect(state: &AppState, user: &UserRecord, info: &RequestInfo<'_>, body: &[u8]) -> Outcome {
    let req = match decode_request::<ConnectRequest>(body) {
        Ok(r) => r,
        Err(code) => return Outcome::fail(code),
    };
    let org = match state.store.org() {
        Ok(Some(org)) => org,
        _ => return Outcome::fail(ResponseCode::UnknownFailure),
    };
    let error = if req.user_dn.eq_ignore_ascii_case(&user.legacy_dn) {
        ErrorCode::SUCCESS
    } else if matches!(state.store.user_by_dn(&req.user_dn), Ok(Some(_))) {
        ErrorCode::LOGIN_PERM
    } else {
        ErrorCode::UNKNOWN_USER
    };
    let resp = if error == ErrorCode::SUCCESS {
        ConnectSuccess {
            error_code: error.0,
            polls_max: 60_000,
            retry_count: 6,
            retry_delay: 10_000,
            dn_prefix: format!(
                "/o={}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)",
                org.name
            ),
            display_name: user.display_name.clone(),
            aux: exorginfo_aux(org.public_folders),
        }
    } else {
        ConnectSuccess {
            error_code: error.0,
            ..ConnectSuccess::default()
        }
    };
    let body = match encode_response(&ConnectResponse::Success(resp)) {
        Ok(b) => b,
        Err(code) => return Outcome::fail(code),
    };
    if error != ErrorCode::SUCCESS {
        return Outcome::body(body);
    }
    let mailbox = MailboxContext::new(user.clone(), state.store.clone(), org.public_folders)
        .with_limits(&state.config.limits);
    let cookie = state
        .sessions
        .create(Endpoint::Emsmdb, user.id, &info.request_id, Some(mailbox));
    Outcome {
        result: Ok(body),
        set_cookies: vec![context_cookie(&cookie, Endpoint::Emsmdb)],
    }
}

/// Execute (MS-OXCMAPIHTTP 2.2.4.2).
fn execute(
    mailbox: &std::sync::Mutex<MailboxContext>,
    body: &[u8],
) -> Result<Vec<u8>, ResponseCode> {
    let req = decode_request::<ExecuteRequest>(body)?;
    let result = {
        let mut m = mailbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.execute(req.flags, &req.rop_buffer, req.max_rop_out)
    };
    let (error, rop_buffer) = match result {
        Ok(out) => (ErrorCode::SUCCESS, out),
        Err(e) => (e, Vec::new()),
    };
    encode_response(&ExecuteResponse::Success(ExecuteSuccess {
        error_code: error.0,
        flags: 0,
        rop_buffer,
        aux: Vec::new(),
    }))
}

/// Disconnect (MS-OXCMAPIHTTP 2.2.4.3): destroys the session context.
fn disconnect(
    state: &AppState,
    info: &RequestInfo<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ResponseCode> {
    decode_request::<DisconnectRequest>(body)?;
    if let Some(c) = &info.cookie {
        state.sessions.remove(c);
    }
    Ok(status_ok_body())
}

/// NotificationWait (MS-OXCMAPIHTTP 2.2.4.4): returns at once (a real server waits up to five
/// minutes for an event) with EventPending 0x00000001 when the session has notifications
/// queued (MS-OXCMAPIHTTP 2.2.4.4.2), to be collected with Execute (MS-OXCNOTIF 3.2.5.7).
fn notification_wait(
    mailbox: Option<&std::sync::Mutex<MailboxContext>>,
    body: &[u8],
) -> Result<Vec<u8>, ResponseCode> {
    decode_request::<NotificationWaitRequest>(body)?;
    let pending = mailbox.is_some_and(|m| {
        m.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .poll_notifications()
    });
    encode_response(&NotificationWaitResponse::Success(
        NotificationWaitSuccess {
            error_code: 0,
            event_pending: u32::from(pending),
            aux: Vec::new(),
        },
    ))
}

/// StatusCode 0, ErrorCode 0, AuxiliaryBufferSize 0 (the Disconnect success body,
/// MS-OXCMAPIHTTP 2.2.4.3.2).
pub(crate) fn status_ok_body() -> Vec<u8> {
    encode_response(&DisconnectResponse::Success(DisconnectSuccess::default())).unwrap_or_default()
}

fn render(
    state: &AppState,
    req: &HeaderMap,
    outcome: Outcome,
    started: Instant,
) -> Response<ChunkedBody> {
    let body = match outcome.result {
        Ok(b) => b,
        Err(code) => return failure(req, code),
    };
    let mut tail = format!(
        "DONE\r\nX-ElapsedTime: {}\r\nX-StartTime: {}\r\n\r\n",
        started.elapsed().as_millis(),
        http_date(SystemTime::now())
    )
    .into_bytes();
    tail.extend_from_slice(&body);
    let mut resp = Response::new(ChunkedBody::chunked([
        Bytes::from_static(b"PROCESSING\r\n"),
        Bytes::from(tail),
    ]));
    let h = resp.headers_mut();
    common_headers(h, req, ResponseCode::Success);
    set(h, "content-type", "application/mapi-http");
    set(h, "x-serverapplication", &state.config.server_application);
    set(h, "x-pendingperiod", "15000");
    let ms = state.sessions.idle_timeout().as_millis().to_string();
    set(h, "x-expirationinfo", &ms);
    for c in outcome.set_cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// A transport-level failure: HTTP 200 with a non-zero X-ResponseCode and a text body.
fn failure(req: &HeaderMap, code: ResponseCode) -> Response<ChunkedBody> {
    let mut resp = plain(
        StatusCode::OK,
        &format!("X-ResponseCode {}: {code:?}", code as u32),
    );
    common_headers(resp.headers_mut(), req, code);
    resp
}

fn common_headers(h: &mut HeaderMap, req: &HeaderMap, code: ResponseCode) {
    for name in ["x-requesttype", "x-requestid", "x-clientinfo"] {
        if let Some(v) = req.get(name) {
            h.insert(name, v.clone());
        }
    }
    set(h, "x-responsecode", &(code as u32).to_string());
}

fn set(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// The value of cookie `name` in the request's Cookie headers.
fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (c, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// RFC 1123 date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil-from-days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let wd = WD
        .get(usize::try_from(days.rem_euclid(7)).unwrap_or(0))
        .unwrap_or(&"Thu");
    let mo = MO
        .get(usize::try_from(month - 1).unwrap_or(0))
        .unwrap_or(&"Jan");
    format!(
        "{wd}, {day:02} {mo} {year} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_known_answer() {
        // RFC 7231 7.1.1.1 example.
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn connect_body_prefixes_are_rejected() {
        let mut body = b"/o=X/cn=a\0".to_vec();
        for v in [0u32, 1252, 0x409, 0x409, 0] {
            body.extend(v.to_le_bytes());
        }
        let req: ConnectRequest = decode_request(&body).unwrap();
        assert_eq!(req.user_dn, "/o=X/cn=a");
        for cut in 0..body.len() {
            assert!(
                decode_request::<ConnectRequest>(&body[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        body.push(0);
        assert!(decode_request::<ConnectRequest>(&body).is_err());
    }

    /// The Disconnect success body (MS-OXCMAPIHTTP 2.2.4.3.2): StatusCode, ErrorCode,
    /// AuxiliaryBufferSize, all zero.
    #[test]
    fn status_ok_body_known_answer() {
        assert_eq!(status_ok_body(), [0u8; 12]);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%40b%2"), "a@b%2");
    }
}
