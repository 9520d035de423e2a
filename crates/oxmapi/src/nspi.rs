//! Address-book (NSPI) calls used by logon: bind over either transport, then name resolution
//! through the [`AddressBook`] channel (MAPI/HTTP MS-OXCMAPIHTTP 2.2.5, or RPC/HTTP MS-OXNSPI).

use oxmapi_transport::MapiHttpSession;
use oxmapi_wire::data::restriction::{RELOP_EQ, Restriction};
use oxmapi_wire::data::{ErrorCode, PropertyTag, PropertyValue, RowValue, tags};
use oxmapi_wire::mapihttp::nspi::{
    BindRequest, BindResponse, ColumnsAndRows, MID_AMBIGUOUS, MID_UNRESOLVED,
};
use oxmapi_wire::mapihttp::stat::Stat;

use crate::abook_channel::{AddressBook, ndr_stat};
use crate::channel::{decode, encode, post, success};
use crate::error::{Error, ErrorKind};
use crate::report::ResolvedName;

/// PidTagAnr (MS-OXPROPS): ambiguous name resolution in a restriction.
const PID_TAG_ANR: PropertyTag = PropertyTag(0x360C_001F);

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

/// Resolves `name` to exactly one address-book entry, with CDO's semantics: unknown ⇒
/// `MAPI_E_NOT_FOUND`; several matches ⇒ the exact alias/SMTP/DN match among them if there
/// is exactly one, else `MAPI_E_AMBIGUOUS_RECIP` listing the candidates.
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
    match mid {
        MID_UNRESOLVED => Err(Error::mapi(
            STEP,
            ErrorCode::NOT_FOUND,
            format!("no address-book entry matches the mailbox name {name:?}"),
        )
        .with_hint("the mailbox part of ProfileInfo must be the user's alias, display name or SMTP address")),
        MID_AMBIGUOUS => resolve_ambiguous(session, name).await,
        _ => {
            let rows = ok.columns_and_rows.as_ref();
            let entry = rows
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
                })?;
            Ok(entry)
        }
    }
}

async fn resolve_ambiguous(session: &mut AddressBook, name: &str) -> Result<ResolvedName, Error> {
    const STEP: &str = "nspi-resolve";
    let candidates = get_matches(session, name).await.unwrap_or_default();
    let lname = name.to_lowercase();
    let exact: Vec<&ResolvedName> = candidates
        .iter()
        .filter(|c| {
            c.account.as_deref().map(str::to_lowercase).as_deref() == Some(&lname)
                || c.smtp_address.as_deref().map(str::to_lowercase).as_deref() == Some(&lname)
                || c.dn.to_lowercase() == lname
        })
        .collect();
    if let [one] = exact.as_slice() {
        return Ok((*one).clone());
    }
    let listed: Vec<String> = candidates
        .iter()
        .map(|c| match &c.smtp_address {
            Some(s) => format!("{} <{s}>", c.display_name),
            None => c.display_name.clone(),
        })
        .collect();
    let what = if listed.is_empty() {
        format!("the mailbox name {name:?} matches more than one address-book entry")
    } else {
        format!(
            "the mailbox name {name:?} matches {} entries: {}",
            listed.len(),
            listed.join("; ")
        )
    };
    Err(Error::mapi(STEP, ErrorCode::AMBIGUOUS_RECIP, what)
        .with_hint("use the user's exact alias or SMTP address as the mailbox name"))
}

/// NspiGetMatches with an ambiguous-name restriction (PidTagAnr = name).
pub(crate) async fn get_matches(
    session: &mut AddressBook,
    name: &str,
) -> Result<Vec<ResolvedName>, Error> {
    const STEP: &str = "nspi-get-matches";
    let filter = Restriction::Property {
        relop: RELOP_EQ,
        tag: PID_TAG_ANR,
        value: oxmapi_wire::data::TaggedPropertyValue::new(
            PID_TAG_ANR,
            PropertyValue::Unicode(name.to_owned()),
        ),
    };
    let ok = session
        .get_matches(STEP, initial_stat(), Some(filter), 50, columns())
        .await?;
    if ok.error_code != 0 {
        return Err(Error::new(
            ErrorKind::Mapi,
            ErrorCode(ok.error_code),
            "GetMatches failed",
        )
        .at_step(STEP));
    }
    let mids = ok.minimal_ids.unwrap_or_default();
    let Some(cr) = ok.columns_and_rows else {
        return Ok(Vec::new());
    };
    Ok((0..cr.rows.len())
        .filter_map(|i| entry_from_row(&cr, i, mids.get(i).copied().unwrap_or(0)))
        .collect())
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
        .bind(ndr_stat(&initial_stat()))
        .await
        .map_err(|e| crate::channel::rpc_error("nspi-bind", e))?;
    Ok(guid.map(|g| g.to_string()).unwrap_or_default())
}
