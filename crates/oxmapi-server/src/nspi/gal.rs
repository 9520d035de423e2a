//! The global address list: the organization's users, their minimal entry IDs and their
//! address-book properties (MS-OXOABK).

use oxmapi_wire::data::tags::*;
use oxmapi_wire::data::{ErrorCode, PropertyTag, PropertyType, PropertyValue, RowValue};

use crate::store::UserRecord;

/// MID_BEGINNING_OF_TABLE (MS-OXNSPI 2.2.8 Positioning Minimal Entry IDs).
pub(crate) const MID_BEGINNING_OF_TABLE: u32 = 0;
/// MID_END_OF_TABLE.
pub(crate) const MID_END_OF_TABLE: u32 = 2;
/// MID_UNRESOLVED (MS-OXNSPI 2.2.9 Ambiguous Name Resolution Minimal Entry IDs).
pub(crate) const MID_UNRESOLVED: u32 = 0;
/// MID_AMBIGUOUS (MS-OXNSPI 2.2.9). MID_RESOLVED (2) is not returned: ResolveNames gives a
/// resolved name its real MId, as Exchange does (gromox 3.10 returns the placeholder).
pub(crate) const MID_AMBIGUOUS: u32 = 1;

/// GUID_NSPI, the ProviderUID of address-book EntryIDs (MS-OXNSPI 2.2.1.1? / 2.2.9.3).
const GUID_NSPI: [u8; 16] = [
    0xDC, 0xA7, 0x40, 0xC8, 0xC0, 0x42, 0x10, 0x1A, 0xB4, 0xB9, 0x08, 0x00, 0x2B, 0x2F, 0xE1, 0x82,
];
/// DT_MAILUSER (MS-OXNSPI 2.2.1.3).
const DT_MAILUSER: i32 = 0;
/// MAPI_MAILUSER object type (MS-OXCPRPT / MS-OXOABK PidTagObjectType).
const MAPI_MAILUSER: i32 = 6;

/// The properties every GAL entry has (GetPropList, and GetProps without a tag list).
pub(crate) const ENTRY_PROPS: &[PropertyTag] = &[
    PidTagEntryId,
    PidTagInstanceKey,
    PidTagObjectType,
    PidTagDisplayType,
    PidTagDisplayName,
    PidTagAddressType,
    PidTagEmailAddress,
    PidTagSmtpAddress,
    PidTagAccount,
    PidTagAddressBookDisplayNamePrintable,
    PidTagAddressBookProxyAddresses,
];

/// The GAL, sorted by display name (SortTypeDisplayName).
pub(crate) struct Gal {
    pub(crate) users: Vec<UserRecord>,
}

impl Gal {
    pub(crate) fn new(mut users: Vec<UserRecord>) -> Self {
        users.sort_by(|a, b| {
            a.display_name
                .to_lowercase()
                .cmp(&b.display_name.to_lowercase())
                .then(a.id.cmp(&b.id))
        });
        Self { users }
    }

    /// The minimal ID of a user: stable, never 0..=2 (the reserved MIDs).
    pub(crate) fn mid(user: &UserRecord) -> u32 {
        0x1000_u32.saturating_add(u32::try_from(user.id).unwrap_or(u32::MAX - 0x1000))
    }

    pub(crate) fn by_mid(&self, mid: u32) -> Option<&UserRecord> {
        self.users.iter().find(|u| Self::mid(u) == mid)
    }

    pub(crate) fn position(&self, mid: u32) -> Option<usize> {
        self.users.iter().position(|u| Self::mid(u) == mid)
    }

    pub(crate) fn by_dn(&self, dn: &str) -> Option<&UserRecord> {
        self.users
            .iter()
            .find(|u| u.legacy_dn.eq_ignore_ascii_case(dn))
    }

    /// ANR, ambiguous name resolution (MS-OXNSPI 3.1.4.7): the matching algorithm is left to
    /// the server as local policy; the outcome is MID_UNRESOLVED when no entry matches,
    /// MID_AMBIGUOUS when more than one does, else the one entry. The spec prefers no exact
    /// match, and neither does this server: with `test` and `tester` in the GAL, `test` is
    /// ambiguous and the client narrows the candidates it gets from GetMatches (MS-OXOABK
    /// 3.1.4.4). ResolveNames (both transports) and the PidTagAnr restriction of GetMatches
    /// use the same set, [`Gal::anr`].
    pub(crate) fn resolve(&self, name: &str) -> Result<&UserRecord, u32> {
        match self.anr(name).as_slice() {
            [one] => Ok(one),
            [] => Err(MID_UNRESOLVED),
            _ => Err(MID_AMBIGUOUS),
        }
    }

    /// NspiResolveNamesW / ResolveNames (MS-OXNSPI 3.1.4.1.17, MS-OXCMAPIHTTP 2.2.5.14): one
    /// MId per name (the entry's own MId, MID_AMBIGUOUS or MID_UNRESOLVED) and the entries
    /// of the resolved names, in order (one row each).
    pub(crate) fn resolve_names<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> (Vec<u32>, Vec<&UserRecord>) {
        let mut mids = Vec::new();
        let mut resolved = Vec::new();
        for name in names {
            match self.resolve(name.as_ref()) {
                Ok(u) => {
                    mids.push(Self::mid(u));
                    resolved.push(u);
                }
                Err(flag) => mids.push(flag),
            }
        }
        (mids, resolved)
    }

    /// The entries ANR selects for `name`, in GAL order. Like Exchange's ANR (a prefix match
    /// on a set of directory attributes), case-insensitive: the display name or any word of
    /// it, the alias or the SMTP address starts with `name` (an `smtp:` prefix is ignored),
    /// or `name` is the entry's legacy DN. (gromox 3.10 matches substrings instead.) The
    /// empty name matches nothing (MS-OXNSPI 3.1.4.7: it maps to MID_UNRESOLVED).
    pub(crate) fn anr(&self, name: &str) -> Vec<&UserRecord> {
        let n = name.trim().to_lowercase();
        let n = n.strip_prefix("smtp:").unwrap_or(&n);
        if n.is_empty() {
            return Vec::new();
        }
        self.users
            .iter()
            .filter(|u| {
                let dn = u.display_name.to_lowercase();
                dn.starts_with(n)
                    || dn.split_whitespace().any(|w| w.starts_with(n))
                    || u.alias.to_lowercase().starts_with(n)
                    || u.smtp.to_lowercase().starts_with(n)
                    || u.legacy_dn.eq_ignore_ascii_case(n)
            })
            .collect()
    }

    /// One cell for `tag` of `user`: the value in the tag's type, or a not-found error.
    pub(crate) fn cell(&self, user: &UserRecord, tag: PropertyTag) -> RowValue {
        match self.value(user, tag) {
            Some(v) => RowValue::Value(v),
            None => RowValue::Error(tag.ty(), ErrorCode::NOT_FOUND),
        }
    }

    /// The value of `tag` for `user`, converted to the tag's string type; PtypUnspecified
    /// columns get the native type.
    pub(crate) fn value(&self, user: &UserRecord, tag: PropertyTag) -> Option<PropertyValue> {
        let native = self.native(user, tag.id())?;
        convert(native, tag.ty())
    }

    fn native(&self, user: &UserRecord, id: u16) -> Option<PropertyValue> {
        let s = |v: &str| Some(PropertyValue::Unicode(v.to_owned()));
        match id {
            x if x == PidTagDisplayName.id() => s(&user.display_name),
            x if x == PidTagAddressBookDisplayNamePrintable.id() => s(&user.alias),
            x if x == PidTagAddressType.id() => s("EX"),
            x if x == PidTagEmailAddress.id() => s(&user.legacy_dn),
            x if x == PidTagSmtpAddress.id() => s(&user.smtp),
            x if x == PidTagAccount.id() => s(&user.alias),
            x if x == PidTagObjectType.id() => Some(PropertyValue::Int32(MAPI_MAILUSER)),
            x if x == PidTagDisplayType.id() => Some(PropertyValue::Int32(DT_MAILUSER)),
            x if x == PidTagEntryId.id() => {
                Some(PropertyValue::Binary(permanent_entry_id(&user.legacy_dn)))
            }
            x if x == PidTagInstanceKey.id() => Some(PropertyValue::Binary(
                Self::mid(user).to_le_bytes().to_vec(),
            )),
            x if x == PidTagAddressBookProxyAddresses.id() => {
                Some(PropertyValue::MvUnicode(vec![format!(
                    "SMTP:{}",
                    user.smtp
                )]))
            }
            _ => None,
        }
    }
}

/// DT_CONTAINER (MS-OXNSPI 2.2.1.3): the display type of the GAL container.
const DT_CONTAINER: i32 = 0x0000_0100;

/// The PermanentEntryID of the GAL container (MS-OXNSPI 2.2.9.3: DN "/", DT_CONTAINER).
pub(crate) fn gal_entry_id() -> Vec<u8> {
    let mut v = permanent_entry_id("/");
    if let Some(display_type) = v.get_mut(24..28) {
        display_type.copy_from_slice(&DT_CONTAINER.to_le_bytes());
    }
    v
}

/// PermanentEntryID (MS-OXNSPI 2.2.9.3): IDType 0x00, R1..R3 0, ProviderUID GUID_NSPI,
/// R4 0x00000001, DisplayTypeString, DN (NUL-terminated 8-bit string).
pub(crate) fn permanent_entry_id(dn: &str) -> Vec<u8> {
    let mut v = vec![0x00, 0, 0, 0];
    v.extend_from_slice(&GUID_NSPI);
    v.extend_from_slice(&1u32.to_le_bytes());
    v.extend_from_slice(&DT_MAILUSER.to_le_bytes());
    v.extend_from_slice(dn.as_bytes());
    v.push(0);
    v
}

fn convert(v: PropertyValue, want: PropertyType) -> Option<PropertyValue> {
    let want = want.without_instance();
    if want == PropertyType::UNSPECIFIED || want == v.ty() {
        return Some(v);
    }
    let latin1 = |s: &str| s.chars().map(|c| u8::try_from(c).unwrap_or(b'?')).collect();
    match (v, want) {
        (PropertyValue::Unicode(s), PropertyType::STRING8) => {
            Some(PropertyValue::String8(latin1(&s)))
        }
        (PropertyValue::MvUnicode(v), PropertyType::MV_STRING8) => Some(PropertyValue::MvString8(
            v.iter().map(|s| latin1(s)).collect(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, alias: &str, name: &str) -> UserRecord {
        UserRecord {
            id,
            alias: alias.into(),
            display_name: name.into(),
            smtp: format!("{alias}@example.test"),
            legacy_dn: format!("/o=Oxmapi/cn={alias}"),
            mailbox_guid: [0; 16],
            replica_guid: [0; 16],
            personalized_server_name: String::new(),
        }
    }

    fn gal() -> Gal {
        Gal::new(vec![
            user(1, "test", "Test User"),
            user(2, "tester", "Another Tester"),
            user(3, "bob", "Bob Builder"),
        ])
    }

    #[test]
    fn anr_rules() {
        let g = gal();
        // No exact-match precedence (MS-OXNSPI 3.1.4.7): "test" also starts "tester".
        assert_eq!(g.resolve("TEST").unwrap_err(), MID_AMBIGUOUS);
        let ids: Vec<i64> = g.anr("test").iter().map(|u| u.id).collect();
        assert_eq!(ids, [2, 1], "GAL order: Another Tester, Test User");
        assert_eq!(g.resolve("Test User").unwrap().id, 1);
        assert_eq!(g.resolve("bob").unwrap().id, 3);
        assert_eq!(g.resolve("bob@example.test").unwrap().id, 3);
        assert_eq!(g.resolve("SMTP:bob@example.test").unwrap().id, 3);
        assert_eq!(g.resolve("/o=oxmapi/cn=bob").unwrap().id, 3);
        assert_eq!(g.resolve("Builder").unwrap().id, 3);
        assert_eq!(g.resolve("tes").unwrap_err(), MID_AMBIGUOUS);
        assert_eq!(g.resolve("zzz").unwrap_err(), MID_UNRESOLVED);
        assert_eq!(g.resolve("").unwrap_err(), MID_UNRESOLVED);
        assert_eq!(g.resolve("   ").unwrap_err(), MID_UNRESOLVED);
        // A substring that starts no word matches nothing (prefix ANR, not substring).
        assert_eq!(g.resolve("uilder").unwrap_err(), MID_UNRESOLVED);
        let (mids, rows) = g.resolve_names(["bob", "tes", "zzz"]);
        assert_eq!(mids, [Gal::mid(&g.users[1]), MID_AMBIGUOUS, MID_UNRESOLVED]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].id, 3);
    }

    #[test]
    fn values_follow_requested_type() {
        let g = gal();
        let u = &g.users[0];
        assert_eq!(
            g.value(u, PropertyTag(0x3001_001E)),
            Some(PropertyValue::String8(b"Another Tester".to_vec()))
        );
        assert_eq!(
            g.cell(u, PidTagTitle),
            RowValue::Error(PropertyType::UNICODE, ErrorCode::NOT_FOUND)
        );
    }

    #[test]
    fn permanent_entry_id_layout() {
        let e = permanent_entry_id("/o=X");
        assert_eq!(e.len(), 28 + 5);
        assert_eq!(&e[..4], &[0, 0, 0, 0]);
        assert_eq!(&e[4..20], &GUID_NSPI);
        assert_eq!(&e[20..28], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&e[28..], b"/o=X\0");
    }
}
