//! Import of `RPCHttpProxyMap` and `Ignore No PF` from a Windows registry export
//! (`.reg`, as written by regedit: "Windows Registry Editor Version 5.00" in UTF-16LE
//! with a byte order mark, or the older ANSI "REGEDIT4").
//!
//! CDO 1.2.1 / the Exchange MAPI download read these values from
//! `HKEY_CURRENT_USER\Software\Microsoft\Windows NT\CurrentVersion\Windows Messaging Subsystem`
//! (`RpcHttpProxyMap`, and `RpcHttpProxyMap_<exe name>` per application; D. Vespa,
//! MSDN blog, 2013). We could not confirm from public sources under which key
//! `Ignore No PF` lives, so both values are accepted under **any** key path; the key
//! each was found under is reported in [`RegImport::found`].
//!
//! Handled: comments (`;`), `[key]` and `[-key]` lines, `"name"="string"` with the
//! `\"` and `\\` escapes, `dword:`, `hex(1):`/`hex(2):`/`hex(4):` values with `\`
//! continuation lines, `"name"=-` deletions (ignored). Other values are skipped.

use crate::error::RegImportError;
use crate::proxy::ProxyMap;

/// The registry value name of the proxy map.
pub const RPC_HTTP_PROXY_MAP_VALUE: &str = "RpcHttpProxyMap";
/// The registry value name of the no-public-folders switch.
pub const IGNORE_NO_PF_VALUE: &str = "Ignore No PF";

/// What a `.reg` export held of interest to us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegImport {
    /// The proxy map, merged from every `RpcHttpProxyMap*` value in file order (a later
    /// value replaces entries of the same domain); `None` if there was none.
    pub proxy_map: Option<ProxyMap>,
    /// `Ignore No PF` (non-zero means true); the last one wins; `None` if absent.
    pub ignore_no_pf: Option<bool>,
    /// Where each imported value was found.
    pub found: Vec<RegValueRef>,
}

/// A registry value the importer used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegValueRef {
    /// The key path of the enclosing `[...]` section, if any.
    pub key: Option<String>,
    /// The value name as written.
    pub name: String,
    /// 1-based line number.
    pub line: usize,
}

impl RegImport {
    /// Imports from the raw bytes of a `.reg` file: UTF-16LE/BE with a byte order
    /// mark, UTF-8 (with or without BOM), else Latin-1 for old ANSI exports.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RegImportError> {
        import_reg_file(&decode(bytes)?)
    }
}

/// Imports from the text of a `.reg` file.
pub fn import_reg_file(text: &str) -> Result<RegImport, RegImportError> {
    let mut import = RegImport::default();
    let mut key: Option<String> = None;
    for (line_no, line) in logical_lines(text) {
        let line = line.trim();
        if line.is_empty()
            || line.starts_with(';')
            || line.starts_with('@')
            || line.eq_ignore_ascii_case("REGEDIT4")
            || line.starts_with("Windows Registry Editor")
        {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(RegImportError::Syntax {
                line: line_no,
                message: "a key line must end with `]`",
            })?;
            key = (!inner.starts_with('-')).then(|| inner.to_owned());
            continue;
        }
        if !line.starts_with('"') {
            return Err(RegImportError::Syntax {
                line: line_no,
                message: "expected a [key] line, a \"name\"=value line or a ; comment",
            });
        }
        let (name, value) = parse_value_line(line, line_no)?;
        import.apply(key.as_deref(), &name, value, line_no)?;
    }
    Ok(import)
}

impl RegImport {
    fn apply(
        &mut self,
        key: Option<&str>,
        name: &str,
        value: &str,
        line: usize,
    ) -> Result<(), RegImportError> {
        if value == "-" {
            return Ok(());
        }
        let found = RegValueRef {
            key: key.map(str::to_owned),
            name: name.to_owned(),
            line,
        };
        if is_proxy_map_name(name) {
            let text = string_value(value, line).ok_or_else(|| RegImportError::WrongType {
                line,
                name: name.to_owned(),
                expected: "a string (REG_SZ)",
            })??;
            let map = ProxyMap::import_rpc_http_proxy_map(&text)
                .map_err(|source| RegImportError::ProxyMap { line, source })?;
            self.proxy_map.get_or_insert_with(ProxyMap::new).merge(map);
            self.found.push(found);
        } else if name.eq_ignore_ascii_case(IGNORE_NO_PF_VALUE) {
            let dword = dword_value(value).ok_or_else(|| RegImportError::WrongType {
                line,
                name: name.to_owned(),
                expected: "a dword (dword:00000001)",
            })?;
            self.ignore_no_pf = Some(dword != 0);
            self.found.push(found);
        }
        Ok(())
    }
}

fn is_proxy_map_name(name: &str) -> bool {
    let n = RPC_HTTP_PROXY_MAP_VALUE.len();
    name.get(..n)
        .is_some_and(|p| p.eq_ignore_ascii_case(RPC_HTTP_PROXY_MAP_VALUE))
        && name
            .get(n..)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
}

/// `"name"=value` → (unescaped name, value text after `=`, trimmed).
fn parse_value_line(line: &str, line_no: usize) -> Result<(String, &str), RegImportError> {
    let syntax = |message| RegImportError::Syntax {
        line: line_no,
        message,
    };
    let (name, rest) = unquote(line).ok_or(syntax("the value name has no closing quote"))?;
    let value = rest
        .trim_start()
        .strip_prefix('=')
        .ok_or(syntax("expected `=` after the value name"))?;
    Ok((name, value.trim()))
}

/// Reads a `"..."` string with `\\` and `\"` escapes from the start of `text`;
/// returns the unescaped content and what follows the closing quote.
fn unquote(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, body.get(i + 1..)?)),
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\'))) => out.push(e),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => return None,
            },
            _ => out.push(c),
        }
    }
    None
}

/// A REG_SZ/REG_EXPAND_SZ value: `"..."`, `hex(1):..` or `hex(2):..`.
/// `None`: another type; `Some(Err)`: malformed.
fn string_value(value: &str, line: usize) -> Option<Result<String, RegImportError>> {
    let bad_value = |message| RegImportError::Syntax { line, message };
    if value.starts_with('"') {
        let (text, rest) = match unquote(value) {
            Some(v) => v,
            None => return Some(Err(bad_value("the string value has no closing quote"))),
        };
        if !rest.trim().is_empty() {
            return Some(Err(bad_value("text after the closing quote")));
        }
        return Some(Ok(text));
    }
    let hex = strip_prefix_ci(value, "hex(1):").or_else(|| strip_prefix_ci(value, "hex(2):"))?;
    let Some(bytes) = parse_hex_bytes(hex) else {
        return Some(Err(bad_value("malformed hex bytes")));
    };
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| {
            u16::from_le_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .take_while(|&u| u != 0)
        .collect();
    Some(String::from_utf16(&units).map_err(|_| bad_value("the hex string is not valid utf-16")))
}

/// A REG_DWORD value: `dword:XXXXXXXX` or `hex(4):b0,b1,b2,b3`.
fn dword_value(value: &str) -> Option<u32> {
    if let Some(hex) = strip_prefix_ci(value, "dword:") {
        let hex = hex.trim();
        if hex.is_empty() || hex.len() > 8 {
            return None;
        }
        return u32::from_str_radix(hex, 16).ok();
    }
    let bytes = parse_hex_bytes(strip_prefix_ci(value, "hex(4):")?)?;
    let arr: [u8; 4] = bytes.try_into().ok()?;
    Some(u32::from_le_bytes(arr))
}

fn parse_hex_bytes(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|b| {
            let b = b.trim();
            (b.len() <= 2)
                .then(|| u8::from_str_radix(b, 16).ok())
                .flatten()
        })
        .collect()
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// Physical lines joined where a line ends with `\` (hex continuation); yields the
/// 1-based number of each logical line's first physical line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (start, mut joined) = match pending.take() {
            Some((start, mut acc)) => {
                acc.push_str(raw.trim_start());
                (start, acc)
            }
            None => (i + 1, raw.to_owned()),
        };
        let trimmed_end = joined.trim_end();
        if !trimmed_end.trim_start().starts_with(';') && trimmed_end.ends_with('\\') {
            let keep = trimmed_end.len() - 1;
            joined.truncate(keep);
            pending = Some((start, joined));
        } else {
            out.push((start, joined));
        }
    }
    out.extend(pending);
    out
}

fn decode(bytes: &[u8]) -> Result<String, RegImportError> {
    let utf16 = |rest: &[u8], from: fn([u8; 2]) -> u16| {
        if !rest.len().is_multiple_of(2) {
            return Err(RegImportError::Encoding(
                "utf-16 text with an odd number of bytes",
            ));
        }
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| {
                from([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ])
            })
            .collect();
        String::from_utf16(&units)
            .map_err(|_| RegImportError::Encoding("invalid utf-16 (unpaired surrogate)"))
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes);
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::{AuthMethod, CertPolicy};

    const KEY: &str = r"HKEY_CURRENT_USER\Software\Microsoft\Windows NT\CurrentVersion\Windows Messaging Subsystem";

    fn sample() -> String {
        format!(
            "Windows Registry Editor Version 5.00\r\n\
             \r\n\
             ; exported for the lab\r\n\
             [{KEY}]\r\n\
             \"Other\"=\"C:\\\\Program Files\\\\x\"\r\n\
             \"RpcHttpProxyMap\"=\"contoso.com=mail.contoso.com,ntlm,ssl|msstd:mail.contoso.com;fabrikam.com=webmail.fabrikam.com,basic\"\r\n\
             \"Ignore No PF\"=dword:00000001\r\n\
             \"Blob\"=hex:01,02,\\\r\n  03,04\r\n"
        )
    }

    fn utf16le_with_bom(text: &str) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        bytes
    }

    #[test]
    fn imports_both_values_from_text() {
        let import = import_reg_file(&sample()).unwrap();
        let map = import.proxy_map.unwrap();
        assert_eq!(map.len(), 2);
        let c = map.get("contoso.com").unwrap();
        assert_eq!(c.auth(), AuthMethod::Ntlm);
        assert_eq!(c.expected_certificate_name(), Some("mail.contoso.com"));
        assert_eq!(map.get("fabrikam.com").unwrap().auth(), AuthMethod::Basic);
        assert_eq!(import.ignore_no_pf, Some(true));
        assert_eq!(import.found.len(), 2);
        assert_eq!(import.found[0].key.as_deref(), Some(KEY));
        assert_eq!(import.found[0].name, "RpcHttpProxyMap");
        assert_eq!(import.found[0].line, 6);
        assert_eq!(import.found[1].line, 7);
    }

    #[test]
    fn imports_utf16le_bom_bytes() {
        let bytes = utf16le_with_bom(&sample());
        assert_eq!(&bytes[..4], &[0xFF, 0xFE, b'W', 0x00]);
        let import = RegImport::from_bytes(&bytes).unwrap();
        assert_eq!(import, import_reg_file(&sample()).unwrap());
    }

    #[test]
    fn imports_utf8_bom_and_utf16be() {
        let mut utf8 = vec![0xEF, 0xBB, 0xBF];
        utf8.extend(sample().as_bytes());
        assert_eq!(
            RegImport::from_bytes(&utf8).unwrap().ignore_no_pf,
            Some(true)
        );
        let mut be = vec![0xFE, 0xFF];
        be.extend(sample().encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(RegImport::from_bytes(&be).unwrap().ignore_no_pf, Some(true));
    }

    #[test]
    fn odd_utf16_is_an_encoding_error() {
        let mut bytes = utf16le_with_bom("REGEDIT4");
        bytes.push(0);
        assert!(matches!(
            RegImport::from_bytes(&bytes),
            Err(RegImportError::Encoding(_))
        ));
    }

    #[test]
    fn values_anywhere_app_variant_escapes_and_zero() {
        let text = "REGEDIT4\n\
                    \"RpcHttpProxyMap_MFCMAPI\"=\"lab.test=proxy.lab.test,0x10,ignorecert\"\n\
                    [HKEY_LOCAL_MACHINE\\SOFTWARE\\Whatever]\n\
                    \"ignore no pf\"=dword:0\n\
                    \"RpcHttpProxyMapX\"=\"not ours\"\n";
        let import = import_reg_file(text).unwrap();
        let map = import.proxy_map.unwrap();
        let lab = map.get("lab.test").unwrap();
        assert_eq!(lab.auth(), AuthMethod::Negotiate);
        assert_eq!(lab.certificate(), &CertPolicy::Ignore);
        assert_eq!(import.ignore_no_pf, Some(false));
        assert_eq!(import.found[0].key, None);
        assert_eq!(
            import.found[1].key.as_deref(),
            Some("HKEY_LOCAL_MACHINE\\SOFTWARE\\Whatever")
        );
    }

    #[test]
    fn quoted_escapes_are_unescaped() {
        let (name, rest) = unquote(r#""a\"b\\c"=x"#).unwrap();
        assert_eq!(name, "a\"b\\c");
        assert_eq!(rest, "=x");
        assert_eq!(unquote(r#""open\""#), None);
    }

    #[test]
    fn hex_string_and_hex_dword_forms() {
        let hex: Vec<String> = "a.com=x.a.com,ntlm\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .map(|b| format!("{b:02x}"))
            .collect();
        let (first, second) = hex.split_at(10);
        let text = format!(
            "[K]\n\"RpcHttpProxyMap\"=hex(2):{},\\\n    {}\n\"Ignore No PF\"=hex(4):01,00,00,00\n",
            first.join(","),
            second.join(",")
        );
        let import = import_reg_file(&text).unwrap();
        assert!(import.proxy_map.unwrap().get("a.com").is_some());
        assert_eq!(import.ignore_no_pf, Some(true));
    }

    #[test]
    fn absent_values_give_none() {
        let import = import_reg_file("REGEDIT4\n[K]\n\"X\"=dword:1\n").unwrap();
        assert_eq!(import, RegImport::default());
    }

    #[test]
    fn deletions_are_ignored() {
        let import = import_reg_file("[K]\n\"Ignore No PF\"=-\n[-K2]\n").unwrap();
        assert_eq!(import.ignore_no_pf, None);
    }

    #[test]
    fn errors_carry_line_numbers() {
        let cases = [
            ("[K]\n\"Ignore No PF\"=\"1\"\n", 2, "must be a dword"),
            ("[K]\n\"RpcHttpProxyMap\"=dword:1\n", 2, "must be a string"),
            ("[K\n", 1, "must end with `]`"),
            ("[K]\n\n\"Name=1\n", 3, "no closing quote"),
            ("[K]\n\"Name\" 1\n", 2, "expected `=`"),
            ("[K]\nbogus\n", 2, "expected a [key] line"),
            (
                "[K]\n\"RpcHttpProxyMap\"=\"a.com=x\" junk\n",
                2,
                "after the closing quote",
            ),
            (
                "[K]\n\"RpcHttpProxyMap\"=\"a.com=x,krb\"\n",
                2,
                "unknown authentication",
            ),
            (
                "[K]\n\"Ignore No PF\"=dword:123456789\n",
                2,
                "must be a dword",
            ),
        ];
        for (text, line, needle) in cases {
            let err = import_reg_file(text).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!(".reg line {line}:")),
                "{text:?} => {msg}"
            );
            assert!(msg.contains(needle), "{text:?} => {msg}");
        }
    }
}
