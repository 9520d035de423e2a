//! MAPI/HTTP endpoint plumbing (MS-OXCMAPIHTTP 2.2.2–2.2.4, 3.2): request header checks,
//! session-context cookies, the response framing (2.2.7 meta-tags and additional headers) and
//! the EMSMDB request types Connect, Execute, Disconnect, NotificationWait and PING.

use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode, request::Parts};
use oxmapi_wire::data::ErrorCode;
use oxmapi_wire::{DecodeResult, ReadCursor, WriteCursor};

use crate::emsmdb::MailboxContext;
use crate::http::{AppState, ChunkedBody};
use crate::session::{CONTEXT_COOKIE, Endpoint, LookupError, RequestId};
use crate::store::UserRecord;

/// X-ResponseCode values (MS-OXCMAPIHTTP 2.2.3.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum ResponseCode {
    Success = 0,
    UnknownFailure = 1,
    InvalidVerb = 2,
    InvalidHeader = 4,
    InvalidRequestType = 5,
    MissingHeader = 7,
    TooLarge = 9,
    ContextNotFound = 10,
    NoPrivilege = 11,
    InvalidRequestBody = 12,
    MissingCookie = 13,
}

/// What a request handler produces.
pub(crate) struct Outcome {
    /// The binary response body (after the meta-tags), or a transport-level failure.
    pub(crate) result: Result<Vec<u8>, ResponseCode>,
    /// Cookies to set.
    pub(crate) set_cookies: Vec<String>,
}

impl Outcome {
    fn body(b: Vec<u8>) -> Self {
        Self {
            result: Ok(b),
            set_cookies: Vec::new(),
        }
    }

    fn fail(code: ResponseCode) -> Self {
        Self {
            result: Err(code),
            set_cookies: Vec::new(),
        }
    }
}

/// The checked common request headers (MS-OXCMAPIHTTP 2.2.2.1, 2.2.3.3).
pub(crate) struct RequestInfo<'a> {
    pub(crate) request_type: &'a str,
    pub(crate) request_id: RequestId,
    pub(crate) cookie: Option<String>,
}

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
    crate::http::closing(failure(headers, ResponseCode::TooLarge))
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

/// Finds the request's session context and checks it belongs to `user` and `endpoint`.
pub(crate) fn lookup(
    state: &AppState,
    endpoint: Endpoint,
    user: &UserRecord,
    info: &RequestInfo<'_>,
) -> Result<Option<std::sync::Arc<std::sync::Mutex<MailboxContext>>>, ResponseCode> {
    let cookie = info.cookie.as_deref().ok_or(ResponseCode::MissingCookie)?;
    state
        .sessions
        .touch(cookie, endpoint, user.id, &info.request_id)
        .map_err(|e| match e {
            LookupError::NotFound => ResponseCode::ContextNotFound,
            LookupError::NoPrivilege => ResponseCode::NoPrivilege,
            LookupError::BadRequestId => ResponseCode::InvalidHeader,
        })
}

/// The cookie line that creates a session context.
pub(crate) fn context_cookie(value: &str, endpoint: Endpoint) -> String {
    let path = match endpoint {
        Endpoint::Emsmdb => "/mapi/emsmdb/",
        Endpoint::Nspi => "/mapi/nspi/",
    };
    format!("{CONTEXT_COOKIE}={value}; path={path}; secure; HttpOnly")
}

/// MS-OXCMAPIHTTP 2.2.4.1.1 Connect request body.
struct ConnectRequest {
    user_dn: String,
}

fn parse_connect(body: &[u8]) -> DecodeResult<ConnectRequest> {
    let mut r = ReadCursor::new(body);
    let user_dn = r.ascii_z("UserDn")?;
    r.u32("Flags")?;
    r.u32("DefaultCodePage")?;
    r.u32("LcidSort")?;
    r.u32("LcidString")?;
    skip_aux(&mut r)?;
    r.finish("AuxiliaryBuffer")?;
    Ok(ConnectRequest { user_dn })
}

/// Connect (MS-OXCMAPIHTTP 2.2.4.1; EcDoConnectEx semantics, MS-OXCRPC 3.1.4.1): the UserDn
/// must be the authenticated user's legacy DN.
fn connect(state: &AppState, user: &UserRecord, info: &RequestInfo<'_>, body: &[u8]) -> Outcome {
    let Ok(req) = parse_connect(body) else {
        return Outcome::fail(ResponseCode::InvalidRequestBody);
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
    let mut w = WriteCursor::new();
    w.u32(0); // StatusCode
    w.u32(error.0);
    if error != ErrorCode::SUCCESS {
        w.u32(0); // PollsMax
        w.u32(0); // RetryCount
        w.u32(0); // RetryDelay
        w.ascii_z("");
        w.utf16_z("");
        w.u32(0);
        return Outcome::body(w.into_inner());
    }
    w.u32(60_000); // PollsMax (ms)
    w.u32(6); // RetryCount
    w.u32(10_000); // RetryDelay (ms)
    w.ascii_z(&format!(
        "/o={}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)",
        org.name
    ));
    w.utf16_z(&user.display_name);
    let aux = exorginfo_aux(org.public_folders);
    w.u32(u32::try_from(aux.len()).unwrap_or(0));
    w.bytes(&aux);
    let mailbox = MailboxContext::new(user.clone(), state.store.clone(), org.public_folders)
        .with_limits(&state.config.limits);
    let cookie = state
        .sessions
        .create(Endpoint::Emsmdb, user.id, &info.request_id, Some(mailbox));
    Outcome {
        result: Ok(w.into_inner()),
        set_cookies: vec![context_cookie(&cookie, Endpoint::Emsmdb)],
    }
}

/// An auxiliary buffer with one AUX_EXORGINFO block (MS-OXCRPC 2.2.2.2.17): RPC_HEADER_EXT
/// (Version 0, Flags Last, Size = SizeActual = 8), AUX_HEADER (Size 8, Version 1,
/// Type 0x17 AUX_TYPE_EXORGINFO), OrgFlags (0x1 PUBLIC_FOLDERS_ENABLED).
pub(crate) fn exorginfo_aux(public_folders: bool) -> Vec<u8> {
    let mut w = WriteCursor::new();
    w.u16(0x0000); // Version
    w.u16(0x0004); // Flags: Last
    w.u16(8); // Size
    w.u16(8); // SizeActual
    w.u16(8); // AUX_HEADER.Size
    w.u8(0x01); // AUX_VERSION_1
    w.u8(0x17); // AUX_TYPE_EXORGINFO
    w.u32(u32::from(public_folders));
    w.into_inner()
}

/// Execute (MS-OXCMAPIHTTP 2.2.4.2).
fn execute(
    mailbox: &std::sync::Mutex<MailboxContext>,
    body: &[u8],
) -> Result<Vec<u8>, ResponseCode> {
    let parsed = (|| -> DecodeResult<_> {
        let mut r = ReadCursor::new(body);
        let flags = r.u32("Flags")?;
        let size = r.u32("RopBufferSize")?;
        let rops = r.bytes(size as usize, "RopBuffer")?;
        let max_out = r.u32("MaxRopOut")?;
        skip_aux(&mut r)?;
        r.finish("AuxiliaryBuffer")?;
        Ok((flags, rops, max_out))
    })();
    let (flags, rops, max_out) = parsed.map_err(|_| ResponseCode::InvalidRequestBody)?;
    let result = {
        let mut m = mailbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.execute(flags, rops, max_out)
    };
    let (error, out) = match result {
        Ok(out) => (ErrorCode::SUCCESS, out),
        Err(e) => (e, Vec::new()),
    };
    let mut w = WriteCursor::new();
    w.u32(0); // StatusCode
    w.u32(error.0);
    w.u32(0); // Flags (reserved)
    w.u32(u32::try_from(out.len()).map_err(|_| ResponseCode::UnknownFailure)?);
    w.bytes(&out);
    w.u32(0); // AuxiliaryBufferSize
    Ok(w.into_inner())
}

/// Disconnect (MS-OXCMAPIHTTP 2.2.4.3): destroys the session context.
fn disconnect(
    state: &AppState,
    info: &RequestInfo<'_>,
    body: &[u8],
) -> Result<Vec<u8>, ResponseCode> {
    let mut r = ReadCursor::new(body);
    skip_aux(&mut r)
        .and_then(|()| r.finish("AuxiliaryBuffer"))
        .map_err(|_| ResponseCode::InvalidRequestBody)?;
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
    let mut r = ReadCursor::new(body);
    (|| -> DecodeResult<()> {
        r.u32("Flags")?;
        skip_aux(&mut r)?;
        r.finish("AuxiliaryBuffer")
    })()
    .map_err(|_| ResponseCode::InvalidRequestBody)?;
    let pending = mailbox.is_some_and(|m| {
        m.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .poll_notifications()
    });
    let mut w = WriteCursor::new();
    w.u32(0); // StatusCode
    w.u32(0); // ErrorCode
    w.u32(u32::from(pending)); // EventPending
    w.u32(0); // AuxiliaryBufferSize
    Ok(w.into_inner())
}

/// StatusCode 0, ErrorCode 0, AuxiliaryBufferSize 0.
pub(crate) fn status_ok_body() -> Vec<u8> {
    let mut w = WriteCursor::new();
    w.u32(0);
    w.u32(0);
    w.u32(0);
    w.into_inner()
}

/// AuxiliaryBufferSize + AuxiliaryBuffer (content ignored).
pub(crate) fn skip_aux(r: &mut ReadCursor<'_>) -> DecodeResult<()> {
    let n = r.u32("AuxiliaryBufferSize")?;
    r.skip(n as usize, "AuxiliaryBuffer")
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
    let mut resp = crate::http::plain(
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
    fn exorginfo_bytes() {
        assert_eq!(
            exorginfo_aux(true),
            [0, 0, 4, 0, 8, 0, 8, 0, 8, 0, 1, 0x17, 1, 0, 0, 0]
        );
    }

    #[test]
    fn connect_body_prefixes_are_rejected() {
        let mut body = b"/o=X/cn=a\0".to_vec();
        for v in [0u32, 1252, 0x409, 0x409, 0] {
            body.extend(v.to_le_bytes());
        }
        assert_eq!(parse_connect(&body).unwrap().user_dn, "/o=X/cn=a");
        for cut in 0..body.len() {
            assert!(parse_connect(&body[..cut]).is_err(), "cut at {cut}");
        }
        body.push(0);
        assert!(parse_connect(&body).is_err());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%40b%2"), "a@b%2");
    }
}
