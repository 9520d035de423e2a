//! Importer for the `RPCHttpProxyMap` registry value of the Exchange MAPI/CDO 1.2.1
//! download.
//!
//! # What is public, and what is our reading
//!
//! Public sources confirm that the MAPI/CDO download (6.5.8309 and later, May 2013)
//! reads a `REG_SZ` value named `RpcHttpProxyMap` to learn which RPC proxy serves the
//! personalized servers of Exchange 2013, and an application-specific variant
//! `RpcHttpProxyMap_<exe name>` (for example `RpcHttpProxyMap_MFCMAPI`), under
//! `HKEY_CURRENT_USER\Software\Microsoft\Windows NT\CurrentVersion\Windows Messaging Subsystem`
//! (D. Vespa, "How to use the same profile to connect to both Exchange 2013 and legacy
//! versions of Exchange Server", MSDN blog, 2013). Its exact grammar is described in the
//! guidance document "Configuring the MAPI download for Exchange 2013" shipped with the
//! download, whose body we could not consult. The grammar below is therefore **our
//! reading**, built from the fields that document and the RPC/HTTP profile properties
//! (`PR_ROH_PROXY_SERVER`, `PR_ROH_FLAGS`, `PR_ROH_PROXY_AUTH_SCHEME`,
//! `PR_ROH_PROXY_PRINCIPAL_NAME`) name: a namespace, a proxy server, an authentication
//! scheme and flags.
//!
//! # Accepted grammar
//!
//! ```text
//! map       = entry *( sep entry )         ; empty entries are skipped
//! sep       = ";" / CR / LF
//! entry     = domain "=" front-end "," auth *( "," flags )
//! domain    = ["*." / "."] host            ; a domain suffix, case-insensitive
//! front-end = host [":" port] [path] / "https://" host [":" port] [path]
//! auth      = "ntlm" / "negotiate" / "basic"   ; case-insensitive, or the numeric
//!           / number                        ; RPC_C_HTTP_AUTHN_SCHEME: 1 basic, 2 ntlm,
//!                                           ; 0x10 negotiate (decimal or 0x-hex)
//! flags     = flag *( ("|" / "+") flag )
//! flag      = "ssl"                         ; accepted, always on (https is required)
//!           / "ignorecert" / "ignore_cert"  ; certificate = "ignore"
//!           / "ignorecertcn" / "ignore_cert_cn"  ; also "ignore": we have no
//!                                           ; name-only relaxation, review after import
//!           / "msstd:" name                 ; expected_principal = "msstd:<name>"
//! ```
//!
//! Whitespace around every token is ignored. `http://` front ends are refused (add such
//! lab entries by hand with `allow_http = true`); `bearer`, `4` (passport), `8` (digest)
//! and `0x10000` (certificate) are refused. A domain given twice is an error.

use crate::error::{ProfileError, ProxyMapImportError, ProxyMapImportErrorKind as Kind};
use crate::proxy::{
    AuthMethod, CertPolicy, FrontEndUrl, ProxyEntry, ProxyEntryOptions, ProxyMap, normalize_domain,
};

impl ProxyMap {
    /// Parses an `RPCHttpProxyMap` value (see the [module docs](crate::rpc_proxy_map)
    /// for the grammar).
    pub fn import_rpc_http_proxy_map(text: &str) -> Result<Self, ProxyMapImportError> {
        let mut map = Self::new();
        let mut first_index = std::collections::BTreeMap::new();
        let entries = text
            .split([';', '\r', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty());
        for (i, entry_text) in entries.enumerate() {
            let index = i + 1;
            let fail = |kind| ProxyMapImportError {
                index,
                entry: entry_text.to_owned(),
                kind,
            };
            let (domain, entry) = parse_entry(entry_text).map_err(fail)?;
            if let Some(&first) = first_index.get(&domain) {
                return Err(fail(Kind::Duplicate { first }));
            }
            first_index.insert(domain.clone(), index);
            map.insert(&domain, entry)
                .map_err(|_| fail(Kind::InvalidDomain("not a domain suffix")))?;
        }
        Ok(map)
    }
}

fn parse_entry(text: &str) -> Result<(String, ProxyEntry), Kind> {
    let (domain, rest) = text.split_once('=').ok_or(Kind::MissingEquals)?;
    let domain = normalize_domain(domain).map_err(|e| match e {
        ProfileError::InvalidProxyDomain { reason, .. } => Kind::InvalidDomain(reason),
        _ => Kind::InvalidDomain("not a domain suffix"),
    })?;
    let mut fields = rest.split(',').map(str::trim);
    let front_end = fields
        .next()
        .filter(|f| !f.is_empty())
        .ok_or(Kind::MissingFrontEnd)?;
    let auth = fields
        .next()
        .filter(|f| !f.is_empty())
        .ok_or(Kind::MissingAuth)?;
    let auth = parse_auth(auth)?;
    let mut options = ProxyEntryOptions::default();
    for flag in fields.flat_map(|f| f.split(['|', '+'])).map(str::trim) {
        apply_flag(flag, &mut options)?;
    }
    let url = FrontEndUrl::parse(front_end).map_err(Kind::FrontEnd)?;
    let entry = ProxyEntry::new(url, auth, options).map_err(Kind::FrontEnd)?;
    Ok((domain, entry))
}

fn parse_auth(text: &str) -> Result<AuthMethod, Kind> {
    let lower = text.to_ascii_lowercase();
    let number = match lower.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => lower.parse::<u32>().ok(),
    };
    match (lower.as_str(), number) {
        (_, Some(1)) | ("basic", _) => Ok(AuthMethod::Basic),
        (_, Some(2)) | ("ntlm", _) => Ok(AuthMethod::Ntlm),
        (_, Some(0x10)) | ("negotiate", _) => Ok(AuthMethod::Negotiate),
        (_, Some(n)) => Err(Kind::UnsupportedAuthScheme(n)),
        _ => Err(Kind::UnknownAuth(text.to_owned())),
    }
}

fn apply_flag(flag: &str, options: &mut ProxyEntryOptions) -> Result<(), Kind> {
    if flag.is_empty() {
        return Ok(());
    }
    if let Some(prefix) = flag.get(..6)
        && prefix.eq_ignore_ascii_case("msstd:")
    {
        let name = flag.get(6..).unwrap_or("").trim();
        if name.is_empty() {
            return Err(Kind::EmptyPrincipal);
        }
        options.expected_principal = Some(format!("msstd:{name}"));
        return Ok(());
    }
    match flag.to_ascii_lowercase().as_str() {
        "ssl" => Ok(()),
        "ignorecert" | "ignore_cert" | "ignorecertcn" | "ignore_cert_cn" => {
            options.certificate = CertPolicy::Ignore;
            Ok(())
        }
        _ => Err(Kind::UnknownFlag(flag.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FrontEndError;

    #[test]
    fn imports_entries_with_all_forms() {
        let text = "contoso.com=mail.contoso.com,NTLM,ssl|msstd:mail.contoso.com; \
                    .eu.contoso.com = https://eu.contoso.com:444/ , 0x10 , SSL+IgnoreCert ;;\r\n\
                    fabrikam.com=webmail.fabrikam.com,1\n\
                    *.lab.test=proxy.lab.test,2,ssl,ignore_cert_cn\n";
        let map = ProxyMap::import_rpc_http_proxy_map(text).unwrap();
        assert_eq!(map.len(), 4);

        let c = map.get("contoso.com").unwrap();
        assert_eq!(c.url().to_string(), "https://mail.contoso.com");
        assert_eq!(c.auth(), AuthMethod::Ntlm);
        assert_eq!(c.certificate(), &CertPolicy::Verify);
        assert_eq!(c.expected_principal(), Some("msstd:mail.contoso.com"));

        let eu = map.get("eu.contoso.com").unwrap();
        assert_eq!(eu.url().to_string(), "https://eu.contoso.com:444");
        assert_eq!(eu.auth(), AuthMethod::Negotiate);
        assert_eq!(eu.certificate(), &CertPolicy::Ignore);

        let f = map.get("fabrikam.com").unwrap();
        assert_eq!(f.auth(), AuthMethod::Basic);
        assert_eq!(f.expected_principal(), None);

        let lab = map.get("lab.test").unwrap();
        assert_eq!(lab.auth(), AuthMethod::Ntlm);
        assert_eq!(lab.certificate(), &CertPolicy::Ignore);

        assert_eq!(
            map.lookup("x.eu.contoso.com").unwrap().key,
            "eu.contoso.com"
        );
    }

    #[test]
    fn empty_value_gives_empty_map() {
        assert!(
            ProxyMap::import_rpc_http_proxy_map(" ; \n ")
                .unwrap()
                .is_empty()
        );
    }

    fn err(text: &str) -> ProxyMapImportError {
        ProxyMap::import_rpc_http_proxy_map(text).unwrap_err()
    }

    #[test]
    fn errors_name_entry_index_and_text() {
        let e = err("a.com=x.a.com,ntlm;b.com=x.b.com,kerberos");
        assert_eq!(e.index, 2);
        assert_eq!(e.entry, "b.com=x.b.com,kerberos");
        assert_eq!(e.kind, Kind::UnknownAuth("kerberos".into()));
        assert_eq!(
            e.to_string(),
            "rpchttpproxymap entry 2 \"b.com=x.b.com,kerberos\": unknown authentication \
             \"kerberos\"; expected ntlm, negotiate, basic or 1, 2, 0x10"
        );
    }

    #[test]
    fn each_error_kind() {
        assert_eq!(err("a.com").kind, Kind::MissingEquals);
        assert_eq!(err("a.com=,ntlm").kind, Kind::MissingFrontEnd);
        assert_eq!(err("a.com=x").kind, Kind::MissingAuth);
        assert_eq!(err("a.com=x, ").kind, Kind::MissingAuth);
        assert_eq!(err("a.com=x,8").kind, Kind::UnsupportedAuthScheme(8));
        assert_eq!(
            err("a.com=x,0x10000").kind,
            Kind::UnsupportedAuthScheme(0x10000)
        );
        assert_eq!(
            err("a.com=x,bearer").kind,
            Kind::UnknownAuth("bearer".into())
        );
        assert_eq!(
            err("a.com=x,ntlm,fast").kind,
            Kind::UnknownFlag("fast".into())
        );
        assert_eq!(err("a.com=x,ntlm,msstd: ").kind, Kind::EmptyPrincipal);
        assert!(matches!(err("=x,ntlm").kind, Kind::InvalidDomain(_)));
        assert!(matches!(err("a..com=x,ntlm").kind, Kind::InvalidDomain(_)));
        assert!(matches!(
            err("a.com=http://x,ntlm").kind,
            Kind::FrontEnd(FrontEndError::PlainHttp { .. })
        ));
        assert!(matches!(
            err("a.com=x y,ntlm").kind,
            Kind::FrontEnd(FrontEndError::Invalid { .. })
        ));
        let dup = err("A.com=x,ntlm;a.COM.=y,basic");
        assert_eq!(dup.kind, Kind::Duplicate { first: 1 });
        assert_eq!(dup.index, 2);
    }

    #[test]
    fn plain_http_error_says_how_to_fix() {
        let msg = err("lab.test=http://10.0.0.1,basic").to_string();
        assert!(msg.contains("allow_http = true"), "{msg}");
    }
}
