//! MAPI extensions for HTTP (MS-OXCMAPIHTTP): request types, response codes, the chunked
//! response framing and the binary request/response bodies of both endpoints.
//!
//! [MS-OXCMAPIHTTP](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcmapihttp/)
//!
//! | module | content |
//! |---|---|
//! | [`framing`] | PROCESSING/PENDING/DONE meta-tags, additional headers, body (2.2.2.2) |
//! | [`emsmdb`] | mailbox endpoint bodies: Connect, Execute, Disconnect, NotificationWait (2.2.4) |
//! | [`nspi`] | address book endpoint bodies: Bind, QueryRows, ResolveNames, ... (2.2.5) |
//! | [`stat`] | the NSPI STAT block (MS-OXNSPI 2.2.8) |
//!
//! Every response body starts with a StatusCode; when it is not zero only
//! AuxiliaryBufferSize and AuxiliaryBuffer follow ([`Response::Failure`]). The auxiliary and
//! ROP buffers stay opaque bytes here; `rpcext` parses them.

use std::fmt;

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u32};
use crate::error::{DecodeError, DecodeResult, EncodeError, EncodeResult};

pub mod emsmdb;
pub mod framing;
pub mod nspi;
pub mod stat;

pub use framing::{FrameEvent, FramedResponse, MetaTag, ResponseFramer, render_final, render_meta};
pub use stat::Stat;

/// The endpoint a request type belongs to (MS-OXCMAPIHTTP 2.2.4 and 2.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// The mailbox (EMSMDB) endpoint, `/mapi/emsmdb/`.
    Mailbox,
    /// The address book (NSPI) endpoint, `/mapi/nspi/`.
    AddressBook,
}

macro_rules! request_types {
    ($($variant:ident = $text:literal, $endpoint:ident;)*) => {
        /// An `X-RequestType` header value (MS-OXCMAPIHTTP 2.2.3.3.1).
        ///
        /// [MS-OXCMAPIHTTP 2.2.3.3.1](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcmapihttp/cb1f2c87-eb69-418f-9e59-c30c179615a0)
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum RequestType {
            $($variant,)*
        }

        impl RequestType {
            /// Every request type, mailbox endpoint first.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The header value as the spec spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }

            /// The endpoint that accepts this request type.
            pub fn endpoint(self) -> Endpoint {
                match self {
                    $(Self::$variant => Endpoint::$endpoint,)*
                }
            }
        }
    };
}

request_types! {
    Connect = "Connect", Mailbox;
    Execute = "Execute", Mailbox;
    Disconnect = "Disconnect", Mailbox;
    NotificationWait = "NotificationWait", Mailbox;
    Ping = "PING", Mailbox;
    Bind = "Bind", AddressBook;
    Unbind = "Unbind", AddressBook;
    CompareMIds = "CompareMIds", AddressBook;
    DnToMId = "DNToMId", AddressBook;
    GetMatches = "GetMatches", AddressBook;
    GetPropList = "GetPropList", AddressBook;
    GetProps = "GetProps", AddressBook;
    GetSpecialTable = "GetSpecialTable", AddressBook;
    GetTemplateInfo = "GetTemplateInfo", AddressBook;
    ModLinkAtt = "ModLinkAtt", AddressBook;
    ModProps = "ModProps", AddressBook;
    QueryColumns = "QueryColumns", AddressBook;
    QueryRows = "QueryRows", AddressBook;
    ResolveNames = "ResolveNames", AddressBook;
    ResortRestriction = "ResortRestriction", AddressBook;
    SeekEntries = "SeekEntries", AddressBook;
    UpdateStat = "UpdateStat", AddressBook;
    GetMailboxUrl = "GetMailboxUrl", AddressBook;
    GetAddressBookUrl = "GetAddressBookUrl", AddressBook;
}

impl RequestType {
    /// Parses a header value, ignoring ASCII case (servers in the wild compare
    /// case-insensitively; `PING` is upper-case in the spec).
    pub fn from_header(value: &str) -> Option<Self> {
        let value = value.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.as_str().eq_ignore_ascii_case(value))
    }
}

impl fmt::Display for RequestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `X-ResponseCode` header value (MS-OXCMAPIHTTP 2.2.3.3.3), an open set.
///
/// 0 means the body is a protocol response; anything else means the body is diagnostic text.
///
/// [MS-OXCMAPIHTTP 2.2.3.3.3](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcmapihttp/88b0b9f3-8a32-4118-b333-d1e5303cd188)
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ResponseCode(pub u32);

macro_rules! response_codes {
    ($($name:ident = $value:literal, $text:literal;)*) => {
        impl ResponseCode {
            $(
                #[doc = concat!("`", $value, "` ", $text)]
                pub const $name: Self = Self($value);
            )*

            /// The spec's name (`Invalid Context Cookie`) of a known code.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }
        }
    };
}

response_codes! {
    SUCCESS = 0, "Success";
    UNKNOWN_FAILURE = 1, "Unknown Failure";
    INVALID_VERB = 2, "Invalid Verb";
    INVALID_PATH = 3, "Invalid Path";
    INVALID_HEADER = 4, "Invalid Header";
    INVALID_REQUEST_TYPE = 5, "Invalid Request Type";
    INVALID_CONTEXT_COOKIE = 6, "Invalid Context Cookie";
    MISSING_HEADER = 7, "Missing Header";
    ANONYMOUS_NOT_ALLOWED = 8, "Anonymous Not Allowed";
    TOO_LARGE = 9, "Too Large";
    CONTEXT_NOT_FOUND = 10, "Context Not Found";
    NO_PRIVILEGE = 11, "No Privilege";
    INVALID_REQUEST_BODY = 12, "Invalid Request Body";
    MISSING_COOKIE = 13, "Missing Cookie";
    RESERVED = 14, "Reserved";
    INVALID_SEQUENCE = 15, "Invalid Sequence";
    ENDPOINT_DISABLED = 16, "Endpoint Disabled";
    INVALID_RESPONSE = 17, "Invalid Response";
    ENDPOINT_SHUTTING_DOWN = 18, "Endpoint Shutting Down";
}

impl ResponseCode {
    /// Parses the decimal header value.
    pub fn from_header(value: &str) -> Option<Self> {
        value.trim().parse().ok().map(Self)
    }

    /// True for 0 (Success).
    pub fn is_success(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{} ({n})", self.0),
            None => write!(f, "ResponseCode({})", self.0),
        }
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The fields of a response body after a zero StatusCode.
pub trait ResponseBody: Sized {
    /// The body's spec name, used in error paths.
    const NAME: &'static str;
    /// Reads everything after the StatusCode, including the auxiliary buffer.
    fn decode_body(r: &mut ReadCursor<'_>) -> DecodeResult<Self>;
    /// Writes everything after the StatusCode, including the auxiliary buffer.
    fn encode_body(&self, w: &mut WriteCursor) -> EncodeResult;
}

/// A response body: success (StatusCode 0) or the failure form (MS-OXCMAPIHTTP 2.2.2.2,
/// e.g. 2.2.4.1.3 for Connect): StatusCode, AuxiliaryBufferSize, AuxiliaryBuffer.
#[derive(Debug, Clone, PartialEq)]
pub enum Response<T> {
    /// StatusCode 0 and the request type's fields.
    Success(T),
    /// StatusCode other than 0.
    Failure(FailureBody),
}

/// The failure form of every response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureBody {
    /// StatusCode, never 0.
    pub status_code: u32,
    /// AuxiliaryBuffer.
    pub aux: Vec<u8>,
}

impl<T: ResponseBody> Decode for Response<T> {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| match r.u32("StatusCode")? {
            0 => Ok(Self::Success(T::decode_body(r)?)),
            status_code => Ok(Self::Failure(FailureBody {
                status_code,
                aux: read_aux(r)?,
            })),
        })()
        .map_err(|e: DecodeError| e.within(T::NAME))
    }
}

impl<T: ResponseBody> Encode for Response<T> {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        match self {
            Self::Success(body) => {
                w.u32(0);
                body.encode_body(w)
            }
            Self::Failure(f) => {
                if f.status_code == 0 {
                    return Err(EncodeError::Invalid {
                        structure: T::NAME,
                        field: "StatusCode",
                        detail: "a failure body needs a non-zero status code".into(),
                    });
                }
                w.u32(f.status_code);
                write_aux(w, &f.aux, T::NAME)
            }
        }
    }
}

/// Reads AuxiliaryBufferSize (u32) and AuxiliaryBuffer.
pub(crate) fn read_aux(r: &mut ReadCursor<'_>) -> DecodeResult<Vec<u8>> {
    let n = r.u32("AuxiliaryBufferSize")? as usize;
    Ok(r.bytes(n, "AuxiliaryBuffer")?.to_vec())
}

/// Writes AuxiliaryBufferSize (u32) and AuxiliaryBuffer.
pub(crate) fn write_aux(w: &mut WriteCursor, aux: &[u8], structure: &'static str) -> EncodeResult {
    w.u32(count_u32(aux.len(), structure, "AuxiliaryBufferSize")?);
    w.bytes(aux);
    Ok(())
}

/// Reads a HasX presence byte: 0x00 absent, 0xFF present, anything else an error
/// (MS-OXCMAPIHTTP 2.2.5: "TRUE (0xFF)" / "FALSE (0x00)").
pub(crate) fn read_presence(r: &mut ReadCursor<'_>, field: &'static str) -> DecodeResult<bool> {
    let at = r.offset();
    match r.u8(field)? {
        0x00 => Ok(false),
        0xFF => Ok(true),
        b => Err(DecodeError::invalid(
            field,
            at,
            format!("presence byte 0x{b:02X} is neither 0x00 nor 0xFF"),
        )),
    }
}

/// Writes a HasX presence byte.
pub(crate) fn write_presence(w: &mut WriteCursor, present: bool) {
    w.u8(if present { 0xFF } else { 0x00 });
}

/// Reads an optional structure behind a presence byte.
pub(crate) fn read_opt<T>(
    r: &mut ReadCursor<'_>,
    field: &'static str,
    f: impl FnOnce(&mut ReadCursor<'_>) -> DecodeResult<T>,
) -> DecodeResult<Option<T>> {
    if read_presence(r, field)? {
        f(r).map(Some)
    } else {
        Ok(None)
    }
}

/// Writes an optional structure behind a presence byte.
pub(crate) fn write_opt<T>(
    w: &mut WriteCursor,
    v: Option<&T>,
    f: impl FnOnce(&mut WriteCursor, &T) -> EncodeResult,
) -> EncodeResult {
    write_presence(w, v.is_some());
    match v {
        Some(v) => f(w, v),
        None => Ok(()),
    }
}
