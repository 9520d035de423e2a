//! The address book: CDO's `Session.AddressLists`, `AddressList.AddressEntries` and
//! `AddressEntry`, over the session's address-book channel: the NSPI endpoint of MAPI/HTTP
//! (MS-OXCMAPIHTTP 2.2.5) or NSPI over RPC/HTTP (MS-OXNSPI 3.1.4.1), whichever the session uses.
//!
//! * [`Session::address_lists`]: GetSpecialTable, the hierarchy of address-book containers
//!   (MS-OXNSPI 3.1.4.1.3).
//! * [`Session::gal_entries`]: QueryRows over the GAL, page by page (MS-OXNSPI 3.1.4.1.8).
//! * [`Session::find_address_entries`]: GetMatches with an ANR restriction (MS-OXNSPI
//!   3.1.4.1.10, 3.1.4.7).
//! * [`Session::resolve_name`]: ResolveNames with CDO's semantics (`Recipient.Resolve`):
//!   exactly one entry, or [`Resolution::Ambiguous`] listing the candidates, or
//!   [`Resolution::NotFound`]. An SMTP address no directory entry matches becomes a one-off
//!   recipient (MS-OXCDATA 2.2.5.1).

use oxmapi_wire::data::{
    ErrorCode, PropertyTag, PropertyValue, RowValue, TaggedPropertyValue, tags,
};
use oxmapi_wire::mapihttp::Stat;
use oxmapi_wire::mapihttp::nspi::{
    ColumnsAndRows, MID_AMBIGUOUS, MID_UNRESOLVED, NSPI_UNICODE_STRINGS,
};
use serde::Serialize;

use crate::error::Error;
use crate::nspi::{self, MAX_CANDIDATES, initial_stat};
use crate::session::Session;

/// Rows asked for per QueryRows call when listing the GAL.
const GAL_PAGE: u32 = 100;

/// MAPI_ONE_OFF_UID (MS-OXCDATA 2.2.5.1): the ProviderUID of a One-Off EntryID.
pub(crate) const ONE_OFF_PROVIDER_UID: [u8; 16] = [
    0x81, 0x2B, 0x1F, 0xA4, 0xBE, 0xA3, 0x10, 0x19, 0x9D, 0x6E, 0x00, 0xDD, 0x01, 0x0F, 0x54, 0x02,
];

/// One-Off EntryID flag MAPI_ONE_OFF_UNICODE (the U bit): strings are UTF-16LE.
const ONE_OFF_UNICODE: u16 = 0x8000;
/// One-Off EntryID flag MAPI_ONE_OFF_NO_RICH_INFO (the M bit): send MIME, not TNEF.
const ONE_OFF_NO_RICH_INFO: u16 = 0x0001;

/// An address-book container (CDO `AddressList`): a row of the GetSpecialTable hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressList {
    /// PidTagDisplayName (empty for the GAL on many servers; see [`AddressList::name`]).
    pub display_name: String,
    /// PidTagAddressBookContainerId: the container's MId (0 is the GAL).
    pub container_id: u32,
    /// PidTagDepth in the hierarchy.
    pub depth: i32,
    /// PidTagContainerFlags (AB_RECIPIENTS 0x1, AB_SUBCONTAINERS 0x2, AB_UNMODIFIABLE 0x8 ...).
    pub flags: u32,
    /// PidTagEntryId of the container.
    pub entry_id: Vec<u8>,
}

impl AddressList {
    /// The name CDO shows: "Global Address List" for the unnamed container 0.
    pub fn name(&self) -> &str {
        if self.display_name.is_empty() && self.container_id == 0 {
            "Global Address List"
        } else {
            &self.display_name
        }
    }
}

/// An address-book entry (CDO `AddressEntry`): a directory user, or a one-off SMTP recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressEntry {
    /// PidTagDisplayName (CDO `AddressEntry.Name`).
    pub name: String,
    /// PidTagAddressType (CDO `AddressEntry.Type`): `EX` for directory users, `SMTP` for one-offs.
    pub address_type: String,
    /// PidTagEmailAddress (CDO `AddressEntry.Address`): the legacy DN, or the SMTP address.
    pub address: String,
    /// PidTagSmtpAddress.
    pub smtp_address: Option<String>,
    /// PidTagAccount (the alias), for directory users.
    pub alias: Option<String>,
    /// PidTagEntryId: a PermanentEntryID (MS-OXNSPI 2.2.9.3) or a One-Off EntryID
    /// (MS-OXCDATA 2.2.5.1).
    #[serde(serialize_with = "hex_bytes")]
    pub entry_id: Vec<u8>,
    /// The minimal entry ID, for directory users.
    pub mid: Option<u32>,
}

impl AddressEntry {
    /// A one-off SMTP recipient (CDO resolves an Internet address nobody in the directory
    /// has to one): address type `SMTP` and a One-Off EntryID.
    pub fn one_off(display_name: &str, smtp: &str) -> Self {
        let name = if display_name.is_empty() {
            smtp
        } else {
            display_name
        };
        Self {
            name: name.to_owned(),
            address_type: "SMTP".into(),
            address: smtp.to_owned(),
            smtp_address: Some(smtp.to_owned()),
            alias: None,
            entry_id: one_off_entry_id(name, "SMTP", smtp),
            mid: None,
        }
    }

    /// True for a one-off recipient (not in the directory).
    pub fn is_one_off(&self) -> bool {
        self.entry_id.get(4..20) == Some(&ONE_OFF_PROVIDER_UID[..])
    }

    /// `Name <smtp>` (or the name alone), for messages and listings.
    pub fn describe(&self) -> String {
        match &self.smtp_address {
            Some(s) if s != &self.name => format!("{} <{s}>", self.name),
            _ => self.name.clone(),
        }
    }

    /// True when `name` is this entry's alias, SMTP address, DN or display name, or the local
    /// part of its SMTP address or of an `alias@domain` account (case-blind; an `smtp:`
    /// prefix is ignored).
    pub fn matches_exactly(&self, name: &str) -> bool {
        !nspi::exactly_named(std::slice::from_ref(self), name, Self::name_keys).is_empty()
    }

    fn name_keys(&self) -> nspi::NameKeys<'_> {
        nspi::NameKeys {
            display_name: &self.name,
            dn: &self.address,
            smtp_address: self.smtp_address.as_deref(),
            account: self.alias.as_deref(),
        }
    }
}

/// The outcome of resolving one name, as CDO's `Recipient.Resolve` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Resolution {
    /// Exactly one entry (or a one-off SMTP recipient).
    Resolved(AddressEntry),
    /// More than one entry matches; the candidates are listed.
    Ambiguous {
        /// The entries the name matches.
        candidates: Vec<AddressEntry>,
    },
    /// Nothing matches and the name is not an SMTP address.
    NotFound,
}

/// Builds a One-Off EntryID (MS-OXCDATA 2.2.5.1) with Unicode strings and MIME format:
/// Flags u32 0, ProviderUID MAPI_ONE_OFF_UID, Version u16 0, flags u16 (U | M), then
/// DisplayName, AddressType and EmailAddress as NUL-terminated UTF-16LE strings.
pub fn one_off_entry_id(display_name: &str, address_type: &str, email: &str) -> Vec<u8> {
    let mut v =
        Vec::with_capacity(24 + 2 * (display_name.len() + address_type.len() + email.len() + 3));
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(&ONE_OFF_PROVIDER_UID);
    v.extend_from_slice(&0u16.to_le_bytes());
    v.extend_from_slice(&(ONE_OFF_UNICODE | ONE_OFF_NO_RICH_INFO).to_le_bytes());
    for s in [display_name, address_type, email] {
        for u in s.encode_utf16().chain(std::iter::once(0)) {
            v.extend_from_slice(&u.to_le_bytes());
        }
    }
    v
}

/// A plausible Internet address: `local@domain.tld`, no spaces or angle brackets.
pub(crate) fn looks_like_smtp(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';'))
        && !domain.contains('@')
}

/// Splits `"Name <addr@x.y>"` into its parts; a bare address has an empty name.
pub(crate) fn split_mailbox(s: &str) -> (String, String) {
    let s = s.trim();
    if let (Some(open), true) = (s.rfind('<'), s.ends_with('>')) {
        let addr = s.get(open + 1..s.len() - 1).unwrap_or_default().trim();
        let name = s
            .get(..open)
            .unwrap_or_default()
            .trim()
            .trim_matches('"')
            .trim();
        return (name.to_owned(), addr.to_owned());
    }
    (String::new(), s.to_owned())
}

impl Session {
    /// The address-book containers (CDO `Session.AddressLists`): NspiGetSpecialTable.
    pub async fn address_lists(&mut self) -> Result<Vec<AddressList>, Error> {
        const STEP: &str = "nspi-get-special-table";
        let ok = self
            .nspi_channel()
            .get_special_table(STEP, NSPI_UNICODE_STRINGS, initial_stat(), 0)
            .await?;
        check(STEP, ok.error_code, || {
            "the address book refused to list its containers".into()
        })?;
        Ok(ok
            .rows
            .unwrap_or_default()
            .iter()
            .map(|row| address_list(row))
            .collect())
    }

    /// Every entry of the GAL (CDO `AddressList.AddressEntries`), in the directory's order:
    /// NspiQueryRows from the beginning of the table, a page at a time, following the STAT
    /// the server returns until it reports the end of the table.
    pub async fn gal_entries(&mut self) -> Result<Vec<AddressEntry>, Error> {
        const STEP: &str = "nspi-query-rows";
        let mut stat = initial_stat();
        let mut out = Vec::new();
        loop {
            let ok = self
                .nspi_channel()
                .query_rows(STEP, 0, stat, Vec::new(), GAL_PAGE, entry_columns())
                .await?;
            check(STEP, ok.error_code, || {
                "the address book refused to list the GAL".into()
            })?;
            let got = match &ok.columns_and_rows {
                Some(cr) => {
                    out.extend((0..cr.rows.len()).filter_map(|i| entry_from_row(cr, i, None)));
                    cr.rows.len()
                }
                None => 0,
            };
            let Some(next) = ok.state else { break };
            if got == 0 || next.current_rec == Stat::MID_END_OF_TABLE || got < GAL_PAGE as usize {
                break;
            }
            stat = next;
        }
        Ok(out)
    }

    /// The entries an ambiguous-name (ANR) search selects (NspiGetMatches with a
    /// PidTagAnr restriction): what Outlook's "Check Names" offers. A server that refuses
    /// the search has its GAL listed and matched here instead (see `nspi::anr_matches`).
    pub async fn find_address_entries(&mut self, name: &str) -> Result<Vec<AddressEntry>, Error> {
        const STEP: &str = "nspi-get-matches";
        let found = nspi::anr_matches(
            self.nspi_channel(),
            STEP,
            name,
            entry_columns(),
            MAX_CANDIDATES,
        )
        .await?;
        Ok((0..found.rows.rows.len())
            .filter_map(|i| entry_from_row(&found.rows, i, found.mids.get(i).copied()))
            .collect())
    }

    /// Resolves one name with CDO's `Recipient.Resolve` semantics: NspiResolveNames; an
    /// ambiguous answer is narrowed to the one candidate the name names exactly (its alias,
    /// SMTP address, DN or display name, else the local part of its SMTP address or account;
    /// see [`AddressEntry::matches_exactly`]), else reported with the candidates; a name
    /// nobody matches that is an SMTP address (`a@b.c` or `Name <a@b.c>`) becomes a one-off
    /// recipient.
    pub async fn resolve_name(&mut self, name: &str) -> Result<Resolution, Error> {
        const STEP: &str = "nspi-resolve-names";
        let (display, lookup) = split_mailbox(name);
        let ok = self
            .nspi_channel()
            .resolve_names(STEP, initial_stat(), &[lookup.as_str()], entry_columns())
            .await?;
        if ok.error_code != 0 && ok.error_code != ErrorCode::WARN_ERRORS_RETURNED.0 {
            return Err(Error::mapi(
                STEP,
                ErrorCode(ok.error_code),
                format!("the address book could not resolve {name:?}"),
            ));
        }
        let mid = ok.minimal_ids.as_ref().and_then(|m| m.first().copied());
        match mid {
            None | Some(MID_UNRESOLVED) => Ok(not_found(&display, &lookup)),
            Some(MID_AMBIGUOUS) => {
                let candidates = self.find_address_entries(&lookup).await?;
                Ok(narrow(candidates, &display, &lookup))
            }
            Some(mid) => ok
                .columns_and_rows
                .as_ref()
                .and_then(|cr| entry_from_row(cr, 0, Some(mid)))
                .map(Resolution::Resolved)
                .ok_or_else(|| {
                    Error::protocol(
                        STEP,
                        oxmapi_wire::DecodeError::invalid(
                            "ColumnsAndRows",
                            0,
                            format!("the row resolved for {name:?} has no PidTagEmailAddress"),
                        ),
                    )
                }),
        }
    }
}

/// The columns read for an [`AddressEntry`].
fn entry_columns() -> Vec<PropertyTag> {
    vec![
        tags::PidTagDisplayName,
        tags::PidTagEmailAddress,
        tags::PidTagSmtpAddress,
        tags::PidTagAccount,
        tags::PidTagEntryId,
        tags::PidTagAddressType,
    ]
}

fn check(step: &'static str, code: u32, what: impl FnOnce() -> String) -> Result<(), Error> {
    if code == 0 {
        Ok(())
    } else {
        Err(Error::mapi(step, ErrorCode(code), what()))
    }
}

fn not_found(display: &str, lookup: &str) -> Resolution {
    if looks_like_smtp(lookup) {
        Resolution::Resolved(AddressEntry::one_off(display, lookup))
    } else {
        Resolution::NotFound
    }
}

/// CDO keeps an ambiguous name only when no single candidate matches it exactly (by the
/// tiers of `nspi::exactly_named`: a full alias, SMTP address, DN or display name before a
/// local part).
fn narrow(candidates: Vec<AddressEntry>, display: &str, lookup: &str) -> Resolution {
    let exact = nspi::exactly_named(&candidates, lookup, AddressEntry::name_keys);
    if let [one] = exact.as_slice() {
        return Resolution::Resolved((*one).clone());
    }
    match candidates.len() {
        0 => not_found(display, lookup),
        1 => Resolution::Resolved(
            candidates
                .into_iter()
                .next()
                .unwrap_or_else(|| AddressEntry::one_off(display, lookup)),
        ),
        _ => Resolution::Ambiguous { candidates },
    }
}

fn address_list(row: &[TaggedPropertyValue]) -> AddressList {
    let find = |tag: PropertyTag| {
        row.iter()
            .find(|v| v.tag.id() == tag.id())
            .map(|v| &v.value)
    };
    let int = |tag| find(tag).and_then(PropertyValue::as_i64).unwrap_or(0);
    AddressList {
        display_name: find(tags::PidTagDisplayName)
            .and_then(PropertyValue::as_str)
            .map(|s| s.into_owned())
            .unwrap_or_default(),
        container_id: int(tags::PidTagAddressBookContainerId) as u32,
        depth: int(tags::PidTagDepth) as i32,
        flags: int(tags::PidTagContainerFlags) as u32,
        entry_id: find(tags::PidTagEntryId)
            .and_then(PropertyValue::as_bytes)
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
    }
}

fn entry_from_row(cr: &ColumnsAndRows, i: usize, mid: Option<u32>) -> Option<AddressEntry> {
    let row = cr.rows.get(i)?;
    let cell = |tag: PropertyTag| -> Option<&PropertyValue> {
        let idx = cr.columns.0.iter().position(|c| c.id() == tag.id())?;
        row.values.get(idx).and_then(RowValue::value)
    };
    let text = |tag| {
        cell(tag)
            .and_then(PropertyValue::as_str)
            .map(|s| s.into_owned())
    };
    let address = text(tags::PidTagEmailAddress)?;
    Some(AddressEntry {
        name: text(tags::PidTagDisplayName).unwrap_or_else(|| address.clone()),
        address_type: text(tags::PidTagAddressType).unwrap_or_else(|| "EX".into()),
        address,
        smtp_address: text(tags::PidTagSmtpAddress),
        alias: text(tags::PidTagAccount),
        entry_id: cell(tags::PidTagEntryId)
            .and_then(PropertyValue::as_bytes)
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
        mid: mid.filter(|m| *m > 2),
    })
}

fn hex_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    let mut out = String::with_capacity(b.len() * 2);
    for x in b {
        out.push_str(&format!("{x:02X}"));
    }
    s.serialize_str(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MS-OXCDATA 2.2.5.1 layout: Flags, ProviderUID, Version, flags (U|M), 3 UTF-16 strings.
    #[test]
    fn one_off_entry_id_layout() {
        let id = one_off_entry_id("Ed", "SMTP", "e@x.org");
        let mut want = vec![0u8, 0, 0, 0];
        want.extend_from_slice(&[
            0x81, 0x2B, 0x1F, 0xA4, 0xBE, 0xA3, 0x10, 0x19, 0x9D, 0x6E, 0x00, 0xDD, 0x01, 0x0F,
            0x54, 0x02,
        ]);
        want.extend_from_slice(&[0x00, 0x00, 0x01, 0x80]);
        want.extend_from_slice(b"E\0d\0\0\0S\0M\0T\0P\0\0\0e\0@\0x\0.\0o\0r\0g\0\0\0");
        assert_eq!(id, want);
        assert!(AddressEntry::one_off("Ed", "e@x.org").is_one_off());
    }

    #[test]
    fn smtp_detection_and_mailbox_split() {
        assert!(looks_like_smtp("carol@outside.example"));
        assert!(!looks_like_smtp("alice"));
        assert!(!looks_like_smtp("a@b"));
        assert!(!looks_like_smtp("a b@c.d"));
        assert!(!looks_like_smtp("@c.d"));
        assert_eq!(
            split_mailbox("\"Carol X\" <carol@outside.example>"),
            ("Carol X".to_owned(), "carol@outside.example".to_owned())
        );
        assert_eq!(split_mailbox("bob"), (String::new(), "bob".to_owned()));
    }

    fn entry(name: &str, alias: &str) -> AddressEntry {
        AddressEntry {
            name: name.into(),
            address_type: "EX".into(),
            address: format!("/o=x/cn={alias}"),
            smtp_address: Some(format!("{alias}@x.test")),
            alias: Some(alias.into()),
            entry_id: vec![],
            mid: Some(0x1001),
        }
    }

    #[test]
    fn ambiguity_is_narrowed_only_by_an_exact_match() {
        let c = vec![entry("Jo Smith", "jsmith"), entry("Jo Brown", "jbrown")];
        assert_eq!(
            narrow(c.clone(), "", "jsmith"),
            Resolution::Resolved(c[0].clone())
        );
        assert_eq!(
            narrow(c.clone(), "", "jo"),
            Resolution::Ambiguous { candidates: c }
        );
        assert_eq!(narrow(vec![], "", "nobody"), Resolution::NotFound);
        assert!(matches!(
            narrow(vec![], "Out Sider", "o@outside.example"),
            Resolution::Resolved(e) if e.is_one_off() && e.name == "Out Sider"
        ));
    }
}
