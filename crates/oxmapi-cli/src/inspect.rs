//! `oxmapi inspect`: decode captured MAPI bytes and print them as a tree or JSON.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use oxmapi_wire::data::PropertyTag;
use oxmapi_wire::mapihttp::emsmdb::{
    ConnectRequest, ConnectResponse, DisconnectRequest, DisconnectResponse, ExecuteRequest,
    ExecuteResponse, NotificationWaitRequest, NotificationWaitResponse,
};
use oxmapi_wire::mapihttp::framing::parse_response;
use oxmapi_wire::mapihttp::nspi::*;
use oxmapi_wire::rop::{ResponseContext, RopRequestBuffer, RopResponseBuffer};
use oxmapi_wire::rpcext::unpack_segments;
use oxmapi_wire::{Decode, DecodeError};
use serde_json::{Value, json};

use crate::debugjson;

/// What the bytes are.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A ROP input buffer (RopSize, ROPs, handle table; MS-OXCROPS 2.2.1).
    RopRequest,
    /// A ROP output buffer; needs `--request` (the buffer it answers) to be decoded.
    RopResponse,
    /// An RPC_HEADER_EXT chain (MS-OXCRPC 2.2.2.1), de-obfuscated and decompressed, then the
    /// ROPs inside (as requests, or as responses with `--request`).
    RpcExt,
    /// A MAPI/HTTP request body (MS-OXCMAPIHTTP 2.2.4/2.2.5); needs `--type`.
    MapihttpRequest,
    /// A MAPI/HTTP response body, with or without the PROCESSING/DONE framing; needs `--type`.
    MapihttpResponse,
}

/// Arguments of `oxmapi inspect`.
#[derive(Args, Debug)]
pub(crate) struct InspectArgs {
    /// What the bytes are.
    #[arg(value_enum)]
    kind: Kind,
    /// Hex (spaces, colons and `0010:` dump offsets allowed), a file path, or `-`/nothing for
    /// stdin (hex text or raw bytes).
    input: Option<String>,
    /// Print JSON instead of a tree.
    #[arg(long)]
    json: bool,
    /// The ROP request buffer (hex) a response answers: its ROPs give the response context.
    #[arg(long, value_name = "HEX")]
    request: Option<String>,
    /// Columns (hex tags, comma-separated) of tables queried without a RopSetColumns in
    /// `--request`.
    #[arg(long, value_delimiter = ',', value_name = "TAG")]
    columns: Vec<String>,
    /// MAPI/HTTP request type (X-RequestType): Connect, Execute, Bind, ResolveNames, ...
    #[arg(long = "type", value_name = "X-RequestType")]
    request_type: Option<String>,
}

/// A failure: exit status 2 and a message.
struct Failure(String);

impl From<DecodeError> for Failure {
    fn from(e: DecodeError) -> Self {
        Self(format!("decode error: {e}"))
    }
}

pub(crate) fn run(args: InspectArgs) -> ExitCode {
    match inspect(&args) {
        Ok(v) => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`oxmapi inspect ... | head`) is not an error worth a panic.
            let _ = if args.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
                )
            } else {
                print_tree(&mut out, &v)
            };
            ExitCode::SUCCESS
        }
        Err(Failure(msg)) => {
            eprintln!("oxmapi inspect: {msg}");
            ExitCode::from(2)
        }
    }
}

fn print_tree(out: &mut impl Write, v: &Value) -> std::io::Result<()> {
    if let Some(items) = v.get("items").and_then(Value::as_array) {
        for item in items {
            if let Some(title) = item.get("title").and_then(Value::as_str) {
                writeln!(out, "{title}")?;
            }
            if let Some(Value::String(tree)) = item.get("tree") {
                for line in tree.lines() {
                    writeln!(out, "  {line}")?;
                }
            }
        }
    }
    Ok(())
}

/// One decoded structure: a title, its Debug tree for the text output (byte vectors
/// collapsed, see [`collapse_byte_lists`]) and the JSON derived from the full Debug tree.
fn item(title: impl Into<String>, value: &impl std::fmt::Debug) -> Value {
    let tree = format!("{value:#?}");
    json!({
        "title": title.into(),
        "decoded": debugjson::to_json(&tree),
        "tree": collapse_byte_lists(&tree),
    })
}

/// Byte lists longer than this print as one hex summary line in the text tree.
const BYTES_INLINE_MAX: usize = 16;
/// Bytes shown in such a summary line before `...`.
const BYTES_SHOWN: usize = 32;

/// Rewrites each pretty-Debug list of more than [`BYTES_INLINE_MAX`] integers that all fit
/// in a byte (`Vec<u8>`, `[u8; N]`: one element per line) as `[bytes; N]: 00 01 ... ` on
/// one line, keeping the list's indentation, label and trailing punctuation.
fn collapse_byte_lists(tree: &str) -> String {
    let lines: Vec<&str> = tree.lines().collect();
    let mut out = String::with_capacity(tree.len());
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        if let Some(head) = line.strip_suffix('[') {
            let bytes: Vec<u8> = lines
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .map_while(|l| l.trim().strip_suffix(',')?.parse::<u8>().ok())
                .collect();
            let close = lines.get(i + 1 + bytes.len()).map(|l| l.trim_start());
            if bytes.len() > BYTES_INLINE_MAX
                && let Some(tail) = close.and_then(|l| l.strip_prefix(']'))
            {
                let shown: Vec<String> = bytes
                    .iter()
                    .take(BYTES_SHOWN)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let more = if bytes.len() > BYTES_SHOWN {
                    " ..."
                } else {
                    ""
                };
                out.push_str(&format!(
                    "{head}[bytes; {}]: {}{more}{tail}\n",
                    bytes.len(),
                    shown.join(" ")
                ));
                i += bytes.len() + 2;
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    out
}

fn inspect(args: &InspectArgs) -> Result<Value, Failure> {
    let bytes = read_input(args.input.as_deref())?;
    let items = match args.kind {
        Kind::RopRequest => vec![item(
            "ROP input buffer (MS-OXCROPS 2.2.1)",
            &RopRequestBuffer::decode(&bytes)?,
        )],
        Kind::RopResponse => vec![rop_response(&bytes, args)?],
        Kind::RpcExt => rpc_ext(&bytes, args)?,
        Kind::MapihttpRequest => mapihttp_request(&bytes, args)?,
        Kind::MapihttpResponse => mapihttp_response(&bytes, args)?,
    };
    let mut v = json!({ "kind": format!("{:?}", args.kind), "bytes": bytes.len(), "items": items });
    if args.json
        && let Some(items) = v.get_mut("items").and_then(Value::as_array_mut)
    {
        for i in items {
            if let Some(o) = i.as_object_mut() {
                o.remove("tree");
            }
        }
    }
    Ok(v)
}

fn contexts(args: &InspectArgs) -> Result<Vec<ResponseContext>, Failure> {
    let Some(req) = &args.request else {
        return Err(Failure(
            "a ROP response cannot be decoded alone (its layout depends on the request): \
             give the request buffer with --request HEX"
                .into(),
        ));
    };
    let req = parse_hex(req).ok_or_else(|| Failure("--request is not valid hex".into()))?;
    // Accept either a bare ROP buffer or an RPC_HEADER_EXT-wrapped one.
    let rops = match RopRequestBuffer::decode(&req) {
        Ok(r) => r,
        Err(e) => match unpack_segments(&req) {
            Ok(segs) if !segs.is_empty() => RopRequestBuffer::decode(&segs[0].payload)?,
            _ => return Err(e.into()),
        },
    };
    let mut columns = Vec::new();
    for c in &args.columns {
        let t = u32::from_str_radix(c.trim_start_matches("0x"), 16)
            .map_err(|_| Failure(format!("--columns: {c:?} is not a hex property tag")))?;
        columns.push(PropertyTag(t));
    }
    rops.response_contexts(|_, _| (!columns.is_empty()).then(|| columns.clone()))
        .map_err(|e| Failure(format!("{e}; give the table's columns with --columns")))
}

fn rop_response(bytes: &[u8], args: &InspectArgs) -> Result<Value, Failure> {
    let ctx = contexts(args)?;
    Ok(item(
        "ROP output buffer (MS-OXCROPS 2.2.1)",
        &RopResponseBuffer::decode(bytes, &ctx)?,
    ))
}

fn rpc_ext(bytes: &[u8], args: &InspectArgs) -> Result<Vec<Value>, Failure> {
    let segments = unpack_segments(bytes)?;
    let mut out = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        out.push(item(
            format!(
                "RPC_HEADER_EXT #{i} at offset {} (MS-OXCRPC 2.2.2.1), payload {} bytes after unpacking",
                seg.payload_offset.saturating_sub(8),
                seg.payload.len()
            ),
            &seg.header,
        ));
        if args.request.is_some() {
            let ctx = contexts(args)?;
            out.push(item(
                format!("ROP output buffer in segment #{i}"),
                &RopResponseBuffer::decode(&seg.payload, &ctx)?,
            ));
        } else {
            match RopRequestBuffer::decode(&seg.payload) {
                Ok(r) => out.push(item(format!("ROP input buffer in segment #{i}"), &r)),
                Err(e) => out.push(json!({
                    "title": format!(
                        "segment #{i}: not a ROP request buffer ({e}); for a response give --request"
                    ),
                    "payload_hex": hex::encode(&seg.payload),
                    "tree": hex::encode(&seg.payload),
                })),
            }
        }
    }
    Ok(out)
}

fn request_type(args: &InspectArgs) -> Result<String, Failure> {
    args.request_type.clone().ok_or_else(|| {
        Failure(
            "MAPI/HTTP bodies do not say what they are: give --type (the X-RequestType, e.g. Connect, \
             Execute, Bind, ResolveNames)"
                .into(),
        )
    })
}

macro_rules! by_type {
    ($t:expr, $bytes:expr, { $($name:literal => $ty:ty,)* }) => {
        match $t.to_ascii_lowercase().as_str() {
            $( $name => Some(item(concat!("MAPI/HTTP ", stringify!($ty)), &<$ty>::from_bytes($bytes)?)), )*
            _ => None,
        }
    };
}

fn mapihttp_request(bytes: &[u8], args: &InspectArgs) -> Result<Vec<Value>, Failure> {
    let t = request_type(args)?;
    let decoded = by_type!(t, bytes, {
        "connect" => ConnectRequest,
        "disconnect" => DisconnectRequest,
        "notificationwait" => NotificationWaitRequest,
        "bind" => BindRequest,
        "unbind" => UnbindRequest,
        "comparemids" => CompareMIdsRequest,
        "dntomid" => DnToMIdRequest,
        "getmatches" => GetMatchesRequest,
        "getproplist" => GetPropListRequest,
        "getprops" => GetPropsRequest,
        "getspecialtable" => GetSpecialTableRequest,
        "querycolumns" => QueryColumnsRequest,
        "queryrows" => QueryRowsRequest,
        "resolvenames" => ResolveNamesRequest,
        "resortrestriction" => ResortRestrictionRequest,
        "seekentries" => SeekEntriesRequest,
        "updatestat" => UpdateStatRequest,
        "getmailboxurl" => GetUrlRequest,
        "getaddressbookurl" => GetUrlRequest,
    });
    if let Some(v) = decoded {
        return Ok(vec![v]);
    }
    if t.eq_ignore_ascii_case("execute") {
        let req = ExecuteRequest::from_bytes(bytes)?;
        let mut out = vec![item("MAPI/HTTP ExecuteRequest", &req)];
        out.extend(rpc_ext(&req.rop_buffer, args)?);
        return Ok(out);
    }
    Err(Failure(format!("unknown request type {t:?}")))
}

fn mapihttp_response(bytes: &[u8], args: &InspectArgs) -> Result<Vec<Value>, Failure> {
    let t = request_type(args)?;
    let mut out = Vec::new();
    let body = if bytes.starts_with(b"PROCESSING") {
        let (framed, pending) = parse_response(bytes)?;
        out.push(json!({
            "title": format!("framing: PROCESSING, {pending} PENDING, DONE (MS-OXCMAPIHTTP 2.2.2.2)"),
            "additional_headers": framed.additional_headers,
            "tree": format!("{:#?}", framed.additional_headers),
        }));
        framed.body
    } else {
        bytes.to_vec()
    };
    let decoded = by_type!(t, &body, {
        "connect" => ConnectResponse,
        "disconnect" => DisconnectResponse,
        "notificationwait" => NotificationWaitResponse,
        "bind" => BindResponse,
        "unbind" => UnbindResponse,
        "comparemids" => CompareMIdsResponse,
        "dntomid" => DnToMIdResponse,
        "getmatches" => GetMatchesResponse,
        "getproplist" => GetPropListResponse,
        "getprops" => GetPropsResponse,
        "getspecialtable" => GetSpecialTableResponse,
        "querycolumns" => QueryColumnsResponse,
        "queryrows" => QueryRowsResponse,
        "resolvenames" => ResolveNamesResponse,
        "resortrestriction" => ResortRestrictionResponse,
        "seekentries" => SeekEntriesResponse,
        "updatestat" => UpdateStatResponse,
        "getmailboxurl" => GetUrlResponse,
        "getaddressbookurl" => GetUrlResponse,
    });
    if let Some(v) = decoded {
        out.push(v);
        return Ok(out);
    }
    if t.eq_ignore_ascii_case("execute") {
        let resp = ExecuteResponse::from_bytes(&body)?;
        out.push(item("MAPI/HTTP ExecuteResponse", &resp));
        if let oxmapi_wire::mapihttp::Response::Success(ok) = &resp
            && args.request.is_some()
        {
            out.extend(rpc_ext(&ok.rop_buffer, args)?);
        }
        return Ok(out);
    }
    Err(Failure(format!("unknown request type {t:?}")))
}

/// Reads the input: hex text (argument or stdin), else raw file/stdin bytes.
fn read_input(input: Option<&str>) -> Result<Vec<u8>, Failure> {
    match input {
        None | Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| Failure(format!("reading stdin: {e}")))?;
            Ok(std::str::from_utf8(&buf)
                .ok()
                .and_then(parse_hex)
                .unwrap_or(buf))
        }
        Some(s) => {
            if let Some(b) = parse_hex(s) {
                return Ok(b);
            }
            let path = std::path::Path::new(s);
            if path.is_file() {
                let buf = std::fs::read(path).map_err(|e| Failure(format!("reading {s}: {e}")))?;
                return Ok(std::str::from_utf8(&buf)
                    .ok()
                    .and_then(parse_hex)
                    .unwrap_or(buf));
            }
            let digits = s.chars().filter(char::is_ascii_hexdigit).count();
            if digits % 2 == 1
                && s.chars()
                    .all(|c| c.is_ascii_hexdigit() || " \t\n:-".contains(c))
            {
                return Err(Failure(format!(
                    "input has an odd number of hex digits ({digits}): a byte is cut in half"
                )));
            }
            Err(Failure(format!(
                "input {s:?} is neither hex nor a readable file"
            )))
        }
    }
}

/// Parses hex text: whitespace, `:`, `-` separators and leading `0010:` dump offsets are
/// ignored. `None` when it is not hex.
pub(crate) fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let mut digits = String::new();
    for line in text.lines() {
        let line = line.trim();
        // A dump line "0010: aa bb ..." — drop the offset before the first colon.
        let line = match line.split_once(':') {
            Some((off, rest))
                if !off.is_empty()
                    && off.len() <= 8
                    && off.chars().all(|c| c.is_ascii_hexdigit())
                    && rest.starts_with(' ') =>
            {
                rest
            }
            _ => line,
        };
        for c in line.chars() {
            if c.is_ascii_hexdigit() {
                digits.push(c);
            } else if !(c.is_whitespace() || c == ':' || c == '-') {
                return None;
            }
        }
    }
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return None;
    }
    hex::decode(digits).ok()
}

#[cfg(test)]
mod tests {
    use super::{collapse_byte_lists, parse_hex};

    #[test]
    fn long_byte_lists_collapse_to_one_hex_line() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct S {
            short: Vec<u8>,
            long: Vec<u8>,
            huge: [u8; 40],
            wide: Vec<u16>,
            nested: Option<Vec<u8>>,
        }
        let s = S {
            short: vec![1, 2, 3],
            long: (0..20).collect(),
            huge: [0xAB; 40],
            wide: (250..270).collect(),
            nested: Some(vec![0xFF; 17]),
        };
        let tree = collapse_byte_lists(&format!("{s:#?}"));
        let want_long = "    long: [bytes; 20]: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f \
                         10 11 12 13,";
        assert!(tree.contains(want_long), "{tree}");
        assert!(tree.contains("    short: [\n        1,\n        2,\n        3,\n    ],"));
        let ab = vec!["ab"; 32].join(" ");
        assert!(
            tree.contains(&format!("    huge: [bytes; 40]: {ab} ...,")),
            "{tree}"
        );
        // 256..270 do not fit in a byte: the list stays as it was.
        assert!(tree.contains("    wide: [\n        250,"), "{tree}");
        let ff = vec!["ff"; 17].join(" ");
        assert!(
            tree.contains(&format!("        [bytes; 17]: {ff},\n    ),")),
            "{tree}"
        );
        assert_eq!(collapse_byte_lists("x: [\n    1,\n"), "x: [\n    1,\n");
    }

    #[test]
    fn hex_forms() {
        assert_eq!(parse_hex("00 01 ff"), Some(vec![0, 1, 0xff]));
        assert_eq!(
            parse_hex("0000: 0A 00 00-24\n0010: 01"),
            Some(vec![0x0a, 0, 0, 0x24, 1])
        );
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(parse_hex("hello"), None);
    }
}
