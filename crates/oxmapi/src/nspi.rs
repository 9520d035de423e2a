//! Address-book (NSPI) calls used by logon: bind over either transport, then name resolution
//! through the [`AddressBook`] channel (MAPI/HTTP MS-OXCMAPIHTTP 2.2.5, or RPC/HTTP MS-OXNSPI).

use oxmapi_transport::MapiHttpSession;
use oxmapi_wire::data::restriction::{RELOP_EQ, Restriction};
use oxmapi_wire::data::{
    ErrorCode, PropertyRow, PropertyTag, PropertyValue, RowValue, TaggedPropertyValue, tags,
};
use oxmapi_wire::mapihttp::nspi::{
    BindRequest, BindResponse, ColumnsAndRows, LargePropertyTagArray, MID_AMBIGUOUS, MID_RESOLVED,
    MID_UNRESOLVED,
};
use oxmapi_wire::mapihttp::stat::Stat;

use crate::abook_channel::AddressBook;
use crate::channel::{decode, encode, post, success};
use crate::error::{Error, ErrorKind};
use crate::report::ResolvedName;

/// PidTagAnr (MS-OXPROPS): ambiguous name resolution in a restriction.
const PID_TAG_ANR: PropertyTag = PropertyTag(0x360C_001F);

/// Candidates asked for when a name is ambiguous.
pub(crate) const MAX_CANDIDATES: u32 = 50;

/// Rows per QueryRows call when the GAL is listed instead of searched.
const SCAN_PAGE: u32 = 100;

/// The most GAL entries listed when a server refuses the ANR search ([`anr_matches`]).
const MAX_SCANNED: usize = 5_000;

/// The columns asked for when resolving a name.
fn columns() -> Vec<PropertyTag> {
    vec![
        tags::PidTagDisplayName,
        tags::PidTagEmailAddress,
        tags::PidTagSmtpAddress,
        tags::PidTagAccount,
    ]
}

/// The STAT a client starts with (MS-OXNSPI 2.2.8): GAL, code page 1252, US English.
pub(crate) fn initial_stat() -> Stat {
    Stat {
        code_page: 1252,
        template_locale: 0x409,
        sort_locale: 0x409,
        ..Stat::default()
    }
}

/// NspiBind: returns the server GUID.
pub(crate) async fn bind(session: &mut MapiHttpSession) -> Result<[u8; 16], Error> {
    const STEP: &str = "nspi-bind";
    let req = BindRequest {
        flags: 0,
        state: Some(initial_stat()),
        aux: Vec::new(),
    };
    let body = post(session, STEP, "Bind", encode(STEP, &req)?).await?;
    let ok = success(STEP, decode::<BindResponse>(STEP, &body)?)?;
    if ok.error_code != 0 {
        return Err(Error::mapi(
            STEP,
            ErrorCode(ok.error_code),
            "the address book refused the bind",
        ));
    }
    Ok(ok.server_guid)
}

/// Resolves the mailbox name of a dynamic profile to exactly one address-book entry, as CDO
/// does at logon:
///
/// 1. ResolveNames (MS-OXNSPI 3.1.4.1.17). ANR is the server's local policy (3.1.4.7): a
///    real server (gromox 3.10) matches `test` as a substring of several entries and answers
///    MID_AMBIGUOUS, even for a name nothing matches; a resolved name may come back with the
///    placeholder MID_RESOLVED, whose real MId DNToMId gives (3.1.4.1.13).
/// 2. On MID_AMBIGUOUS: the ANR candidates ([`anr_matches`], GetMatches with a PidTagAnr
///    restriction, MS-OXOABK 3.1.4.4), narrowed to the one the name names exactly
///    ([`exactly_named`]). A single candidate is taken; none is `MAPI_E_NOT_FOUND`; several
///    without one exact match (or with two) are `MAPI_E_AMBIGUOUS_RECIP`, listing them.
pub(crate) async fn resolve_name(
    session: &mut AddressBook,
    name: &str,
) -> Result<ResolvedName, Error> {
    const STEP: &str = "nspi-resolve";
    let ok = session
        .resolve_names(STEP, initial_stat(), &[name], columns())
        .await?;
    if ok.error_code != 0 && ok.error_code != ErrorCode::WARN_ERRORS_RETURNED.0 {
        return Err(Error::mapi(
            STEP,
            ErrorCode(ok.error_code),
            format!("the address book could not resolve {name:?}"),
        ));
    }
    let mid = ok
        .minimal_ids
        .as_ref()
        .and_then(|m| m.first().copied())
        .ok_or_else(|| {
            Error::protocol(
                STEP,
                oxmapi_wire::DecodeError::invalid(
                    "MinimalIds",
                    0,
                    "ResolveNames returned no MId for the name",
                ),
            )
        })?;
    let mut entry = match mid {
        MID_UNRESOLVED => return Err(not_found(name)),
        MID_AMBIGUOUS => resolve_ambiguous(session, name).await?,
        _ => ok
            .columns_and_rows
            .as_ref()
            .and_then(|cr| entry_from_row(cr, 0, mid))
            .ok_or_else(|| {
                Error::protocol(
                    STEP,
                    oxmapi_wire::DecodeError::invalid(
                        "ColumnsAndRows",
                        0,
                        "the resolved row has no PidTagEmailAddress (DN)",
                    ),
                )
            })?,
    };
    if entry.mid <= MID_RESOLVED {
        entry.mid = real_mid(session, &entry.dn).await;
    }
    Ok(entry)
}

fn not_found(name: &str) -> Error {
    Error::mapi(
        "nspi-resolve",
        ErrorCode::NOT_FOUND,
        format!("no address-book entry matches the mailbox name {name:?}"),
    )
    .with_hint(
        "the mailbox part of ProfileInfo must be the user's alias, display name or SMTP address",
    )
}

async fn resolve_ambiguous(session: &mut AddressBook, name: &str) -> Result<ResolvedName, Error> {
    const STEP: &str = "nspi-resolve";
    let found = anr_matches(session, STEP, name, columns(), MAX_CANDIDATES).await?;
    let candidates: Vec<ResolvedName> = (0..found.rows.rows.len())
        .filter_map(|i| entry_from_row(&found.rows, i, found.mids.get(i).copied().unwrap_or(0)))
        .collect();
    let exact = exactly_named(&candidates, name, |c| NameKeys {
        display_name: &c.display_name,
        dn: &c.dn,
        smtp_address: c.smtp_address.as_deref(),
        account: c.account.as_deref(),
    });
    match (exact.as_slice(), candidates.as_slice()) {
        ([one], _) => return Ok((*one).clone()),
        ([], [one]) => return Ok(one.clone()),
        ([], []) => return Err(not_found(name)),
        _ => {}
    }
    let listed = if exact.is_empty() {
        candidates.iter().collect()
    } else {
        exact
    };
    let listed: Vec<String> = listed
        .iter()
        .map(|c| match &c.smtp_address {
            Some(s) => format!("{} <{s}>", c.display_name),
            None => c.display_name.clone(),
        })
        .collect();
    let more = if found.complete {
        ""
    } else {
        " (and maybe more)"
    };
    Err(Error::mapi(
        STEP,
        ErrorCode::AMBIGUOUS_RECIP,
        format!(
            "the mailbox name {name:?} matches {} entries{more}: {}",
            listed.len(),
            listed.join("; ")
        ),
    )
    .with_hint("use the user's exact alias or SMTP address as the mailbox name"))
}

/// The real MId of `dn` (NspiDNToMId, MS-OXNSPI 3.1.4.1.13), for a name ResolveNames
/// answered with the MID_RESOLVED placeholder; 0 when the server gives none (the MId is only
/// reported).
async fn real_mid(session: &mut AddressBook, dn: &str) -> u32 {
    match session.dn_to_mid("nspi-dn-to-mid", &[dn]).await {
        Ok(ok) if ok.error_code == 0 => ok
            .minimal_ids
            .and_then(|m| m.first().copied())
            .filter(|m| *m > MID_RESOLVED)
            .unwrap_or(0),
        Ok(ok) => {
            tracing::debug!(code = ok.error_code, "DNToMId refused the resolved DN");
            0
        }
        Err(e) => {
            tracing::debug!(error = %e, "DNToMId failed");
            0
        }
    }
}

/// The address-book entries ANR selects for a name, in the caller's columns.
pub(crate) struct AnrMatches {
    /// The rows, laid out by the requested columns.
    pub(crate) rows: ColumnsAndRows,
    /// The MId of each row, where the server gave them (GetMatches does; the GAL listing of
    /// the fallback does not).
    pub(crate) mids: Vec<u32>,
    /// False when the fallback stopped after [`MAX_SCANNED`] entries, before the GAL's end.
    pub(crate) complete: bool,
}

/// The entries ANR selects for `name`, at most `limit`: GetMatches / NspiGetMatches (MS-OXNSPI
/// 3.1.4.1.10) with a PropertyRestriction PidTagAnr = name, as MS-OXOABK 3.1.4.4 tells a
/// client to list the candidates of an ambiguous name. NOT_FOUND means no candidates.
///
/// Quirk: a server may refuse that request. gromox 3.10 answers X-ResponseCode 5 (invalid
/// request body) to every MAPI/HTTP GetMatches whose restriction carries a property value
/// (its RPC/HTTP NspiGetMatches works). Then the GAL is listed (QueryRows, 3.1.4.1.8; over
/// MAPI/HTTP after a fresh Bind, as the refused request leaves the session context's
/// sequence behind) up to [`MAX_SCANNED`] entries, and the candidates are the entries whose
/// display name, account or SMTP address contains the name (case-blind), or whose DN is it.
pub(crate) async fn anr_matches(
    session: &mut AddressBook,
    step: &'static str,
    name: &str,
    columns: Vec<PropertyTag>,
    limit: u32,
) -> Result<AnrMatches, Error> {
    let filter = Restriction::Property {
        relop: RELOP_EQ,
        tag: PID_TAG_ANR,
        value: TaggedPropertyValue::new(PID_TAG_ANR, PropertyValue::Unicode(name.to_owned())),
    };
    let refused = match session
        .get_matches(step, initial_stat(), Some(filter), limit, columns.clone())
        .await
    {
        Ok(ok) if ok.error_code == 0 || ok.error_code == ErrorCode::NOT_FOUND.0 => {
            return Ok(AnrMatches {
                rows: ok.columns_and_rows.unwrap_or_else(|| ColumnsAndRows {
                    columns: LargePropertyTagArray(columns),
                    rows: Vec::new(),
                }),
                mids: ok.minimal_ids.unwrap_or_default(),
                complete: true,
            });
        }
        Ok(ok) => Error::mapi(
            step,
            ErrorCode(ok.error_code),
            format!("GetMatches refused the ANR search for {name:?}"),
        ),
        Err(e) if matches!(e.kind(), ErrorKind::Authentication | ErrorKind::Tls) => {
            return Err(e);
        }
        Err(e) => e,
    };
    tracing::debug!(error = %refused, "ANR GetMatches refused; listing the GAL instead");
    scan_gal(session, step, name, columns, limit).await
}

/// The fallback of [`anr_matches`]: the GAL, page by page, matched here.
async fn scan_gal(
    session: &mut AddressBook,
    step: &'static str,
    name: &str,
    columns: Vec<PropertyTag>,
    limit: u32,
) -> Result<AnrMatches, Error> {
    if let AddressBook::Http(h) = session {
        bind(h).await?;
    }
    let mut scan_columns = columns.clone();
    for t in [
        tags::PidTagDisplayName,
        tags::PidTagEmailAddress,
        tags::PidTagSmtpAddress,
        tags::PidTagAccount,
    ] {
        if !scan_columns.iter().any(|c| c.id() == t.id()) {
            scan_columns.push(t);
        }
    }
    let needle = name.trim().to_lowercase();
    let needle = needle.strip_prefix("smtp:").unwrap_or(&needle);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut rows = Vec::new();
    let mut stat = initial_stat();
    let mut scanned = 0usize;
    let complete = loop {
        let ok = session
            .query_rows(step, 0, stat, Vec::new(), SCAN_PAGE, scan_columns.clone())
            .await?;
        if ok.error_code != 0 {
            return Err(Error::mapi(
                step,
                ErrorCode(ok.error_code),
                "the address book refused to list the GAL",
            ));
        }
        let got = ok.columns_and_rows.as_ref().map_or(0, |cr| cr.rows.len());
        if let Some(cr) = &ok.columns_and_rows {
            for row in &cr.rows {
                if rows.len() < limit && names_it(cr, row, needle) {
                    let mut row = row.clone();
                    row.values.truncate(columns.len());
                    rows.push(row);
                }
            }
        }
        scanned += got;
        let Some(next) = ok.state else { break true };
        if got == 0 || next.current_rec == Stat::MID_END_OF_TABLE || got < SCAN_PAGE as usize {
            break true;
        }
        if scanned >= MAX_SCANNED {
            break false;
        }
        stat = next;
    };
    Ok(AnrMatches {
        rows: ColumnsAndRows {
            columns: LargePropertyTagArray(columns),
            rows,
        },
        mids: Vec::new(),
        complete,
    })
}

/// Whether a GAL row's display name, account or SMTP address contains `needle` (lower
/// case), or its DN is `needle`.
fn names_it(cr: &ColumnsAndRows, row: &PropertyRow, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let text = |tag: PropertyTag| -> Option<String> {
        let idx = cr.columns.0.iter().position(|c| c.id() == tag.id())?;
        match row.values.get(idx)? {
            RowValue::Value(v) => v.as_str().map(|s| s.to_lowercase()),
            _ => None,
        }
    };
    [
        tags::PidTagDisplayName,
        tags::PidTagAccount,
        tags::PidTagSmtpAddress,
    ]
    .into_iter()
    .filter_map(text)
    .any(|s| s.contains(needle))
        || text(tags::PidTagEmailAddress).is_some_and(|dn| dn == needle)
}

/// What names an address-book entry, for [`exactly_named`].
pub(crate) struct NameKeys<'a> {
    /// PidTagDisplayName.
    pub(crate) display_name: &'a str,
    /// PidTagEmailAddress: the legacy DN.
    pub(crate) dn: &'a str,
    /// PidTagSmtpAddress.
    pub(crate) smtp_address: Option<&'a str>,
    /// PidTagAccount: the alias (some servers give `alias@domain`).
    pub(crate) account: Option<&'a str>,
}

/// The candidates `name` names exactly, case-blind (an `smtp:` prefix is ignored), in two
/// tiers; the first tier with any match decides, and more than one there is a true tie:
/// 1. the alias (PidTagAccount), the SMTP address, the DN or the display name is the name;
/// 2. the local part of the SMTP address, or of an account of the form `alias@domain`, is
///    the name (the bare alias `test` of `test@example.test`).
pub(crate) fn exactly_named<'a, T>(
    candidates: &'a [T],
    name: &str,
    keys: impl Fn(&'a T) -> NameKeys<'a>,
) -> Vec<&'a T> {
    let n = name.trim().to_lowercase();
    let n = n.strip_prefix("smtp:").unwrap_or(&n);
    if n.is_empty() {
        return Vec::new();
    }
    let eq = |s: &str| s.to_lowercase() == n;
    let local_eq = |s: &str| s.rsplit_once('@').is_some_and(|(l, _)| eq(l));
    let tier1 = |k: &NameKeys<'_>| {
        eq(k.display_name)
            || eq(k.dn)
            || k.smtp_address.is_some_and(eq)
            || k.account.is_some_and(eq)
    };
    let tier2 =
        |k: &NameKeys<'_>| k.smtp_address.is_some_and(local_eq) || k.account.is_some_and(local_eq);
    let first: Vec<&T> = candidates.iter().filter(|c| tier1(&keys(c))).collect();
    if !first.is_empty() {
        return first;
    }
    candidates.iter().filter(|c| tier2(&keys(c))).collect()
}

fn entry_from_row(cr: &ColumnsAndRows, i: usize, mid: u32) -> Option<ResolvedName> {
    let row = cr.rows.get(i)?;
    let get = |tag: PropertyTag| -> Option<String> {
        let idx = cr.columns.0.iter().position(|c| c.id() == tag.id())?;
        match row.values.get(idx)? {
            RowValue::Value(v) => v.as_str().map(|s| s.into_owned()),
            _ => None,
        }
    };
    Some(ResolvedName {
        display_name: get(tags::PidTagDisplayName).unwrap_or_default(),
        dn: get(tags::PidTagEmailAddress)?,
        smtp_address: get(tags::PidTagSmtpAddress),
        account: get(tags::PidTagAccount),
        mid,
    })
}

/// NspiBind over RPC/HTTP (MS-OXNSPI 3.1.4.1.1); returns the server GUID as text.
pub(crate) async fn bind_rpc(n: &mut oxmapi_transport::NspiRpc) -> Result<String, Error> {
    let guid = n
        .bind(initial_stat())
        .await
        .map_err(|e| crate::channel::rpc_error("nspi-bind", e))?;
    Ok(guid.map(|g| g.to_string()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, alias: &str, smtp: &str) -> ResolvedName {
        ResolvedName {
            display_name: name.into(),
            dn: format!("/o=Org/cn=Recipients/cn={alias}"),
            smtp_address: Some(smtp.into()),
            account: Some(alias.into()),
            mid: 0,
        }
    }

    fn exact<'a>(c: &'a [ResolvedName], name: &str) -> Vec<&'a str> {
        exactly_named(c, name, |e| NameKeys {
            display_name: &e.display_name,
            dn: &e.dn,
            smtp_address: e.smtp_address.as_deref(),
            account: e.account.as_deref(),
        })
        .into_iter()
        .map(|e| e.display_name.as_str())
        .collect()
    }

    /// gromox: the account is the whole address, and `test` is a substring of
    /// `other@example.test`; the bare alias names the local part of one entry.
    #[test]
    fn the_local_part_of_an_address_or_account_names_an_entry() {
        let c = [
            entry("Other User", "other@example.test", "other@example.test"),
            entry("Test User", "test@example.test", "test@example.test"),
        ];
        assert_eq!(exact(&c, "test"), ["Test User"]);
        assert_eq!(exact(&c, " TEST "), ["Test User"]);
        assert_eq!(exact(&c, "SMTP:test@example.test"), ["Test User"]);
        assert_eq!(exact(&c, "example"), Vec::<&str>::new());
        assert_eq!(exact(&c, ""), Vec::<&str>::new());
    }

    /// A full alias, address, DN or display name beats a local part; two in the same tier
    /// are a tie.
    #[test]
    fn tiers_and_ties() {
        let c = [
            entry("Jo Smith", "jo", "jsmith@example.test"),
            entry("Jo Brown", "jbrown", "jo@other.example"),
            entry("Sam Lee", "slee", "slee@example.test"),
            entry("Sam Lee", "samlee", "samlee@example.test"),
        ];
        assert_eq!(exact(&c, "jo"), ["Jo Smith"], "alias before local part");
        assert_eq!(exact(&c, "jbrown"), ["Jo Brown"]);
        assert_eq!(exact(&c, "sam lee"), ["Sam Lee", "Sam Lee"], "a true tie");
        assert_eq!(exact(&c, "/o=org/cn=recipients/cn=slee"), ["Sam Lee"]);
        assert_eq!(exact(&c, "Jo"), ["Jo Smith"]);
        assert_eq!(exact(&c, "J"), Vec::<&str>::new());
    }
}
