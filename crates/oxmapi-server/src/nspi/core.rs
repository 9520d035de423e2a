//! The address book operations of MS-OXNSPI 3.1.4.1 over the GAL, independent of the
//! transport: typed inputs (one [`Stat`], MId lists, property tag lists, restrictions) in,
//! typed results (rows of property values, MS-OXNSPI 2.2.1.2 error codes) out.
//!
//! Two thin adapters call these: the MAPI/HTTP request types (`super`, MS-OXCMAPIHTTP
//! 2.2.5) and the NDR calls of RPC/HTTP (`crate::rpch::dispatch`). Each decodes its request
//! with `oxmapi_wire`, calls the operation here and encodes the result; sessions (context
//! cookie or RPC context handle) stay with the transport.

use oxmapi_wire::data::restriction::Restriction;
use oxmapi_wire::data::{
    ErrorCode, PropertyTag, PropertyType, PropertyValue, RowValue, TaggedPropertyValue, tags,
};
pub(crate) use oxmapi_wire::mapihttp::Stat;
use oxmapi_wire::mapihttp::nspi::{NSPI_ADDRESS_CREATION_TEMPLATES, NSPI_UNICODE_STRINGS};

use super::gal::{self, Gal, MID_BEGINNING_OF_TABLE, MID_END_OF_TABLE};
use super::matches::matches;
use crate::store::{Store, StoreError, UserRecord};

/// UnbindSuccess (MS-OXNSPI 2.2.1.2): NspiUnbind destroyed the session (3.1.4.1.2).
pub(crate) const UNBIND_SUCCESS: ErrorCode = ErrorCode(0x0000_0001);
/// GeneralFailure (MS-OXNSPI 2.2.1.2).
pub(crate) const GENERAL_FAILURE: ErrorCode = ErrorCode::CALL_FAILED;
/// ErrorsReturned (MS-OXNSPI 2.2.1.2): some properties came back as PtypErrorCode.
pub(crate) const ERRORS_RETURNED: ErrorCode = ErrorCode::WARN_ERRORS_RETURNED;
/// The most rows one QueryRows returns (MS-OXNSPI 3.1.4.1.8 sets no minimum) and the largest
/// Explicit Table GetMatches builds (3.1.4.1.10 constraint 17: larger is TableTooBig).
pub(crate) const MAX_ROWS: usize = 1000;
/// MID_CURRENT (MS-OXNSPI 2.2.1.8): CurrentRec asking for fractional positioning.
const MID_CURRENT: u32 = 0x0000_0001;

/// Columns returned when a request names none (QueryRows, GetMatches, ResolveNames).
/// MS-OXNSPI 3.1.4.1.8 constraint 6 lists PidTagPrimaryTelephoneNumber, PidTagDepartmentName
/// and PidTagOfficeLocation (PtypString8) after the display name; these entries have neither,
/// so the addressing columns a client needs come instead.
pub(crate) const DEFAULT_COLUMNS: &[PropertyTag] = &[
    tags::PidTagAddressBookContainerId,
    tags::PidTagObjectType,
    tags::PidTagDisplayType,
    tags::PidTagDisplayName,
    tags::PidTagAddressType,
    tags::PidTagEmailAddress,
    tags::PidTagEntryId,
];

/// PidTagAddressBookIsMaster (MS-OXPROPS 2.531).
const PID_TAG_ADDRESS_BOOK_IS_MASTER: PropertyTag = PropertyTag(0xFFFB_000B);
/// PidTagContainerFlags of the GAL: AB_RECIPIENTS | AB_UNMODIFIABLE (MS-OXOABK 2.2.2.1).
const GAL_CONTAINER_FLAGS: i32 = 0x0000_0001 | 0x0000_0008;

/// NspiBind (MS-OXNSPI 3.1.4.1.1): the GUID of this server (constraint 6). The session itself
/// belongs to the transport. Without an organization there is no GUID: GeneralFailure.
pub(crate) fn bind(store: &Store) -> Result<[u8; 16], ErrorCode> {
    match store.org() {
        Ok(Some(org)) => Ok(org.server_guid),
        _ => Err(GENERAL_FAILURE),
    }
}

/// The result of NspiGetSpecialTable (MS-OXNSPI 3.1.4.1.3).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpecialTable {
    /// lpVersion on output.
    pub(crate) version: u32,
    /// One row per container (the hierarchy table) or none (the address creation table).
    pub(crate) rows: Vec<Vec<TaggedPropertyValue>>,
}

/// NspiGetSpecialTable (MS-OXNSPI 3.1.4.1.3). With NspiAddressCreationTemplates (which wins
/// over NspiUnicodeStrings, constraint 4) the address creation table, empty here (constraint
/// 11: no table for the LCID is no rows, not an error). Otherwise the hierarchy table: one
/// container, the GAL, with the properties of constraint 14 in order (constraints 15, 16).
/// The version is not compared: like Exchange (MS-OXNSPI 7 <3>, <4>) the rows always come.
pub(crate) fn special_table(flags: u32, version: u32) -> SpecialTable {
    let rows = if flags & NSPI_ADDRESS_CREATION_TEMPLATES != 0 {
        Vec::new()
    } else {
        vec![gal_container_row(flags & NSPI_UNICODE_STRINGS != 0)]
    };
    SpecialTable {
        version: version.max(1),
        rows,
    }
}

/// The hierarchy table row of the GAL (MS-OXNSPI 3.1.4.1.3 constraints 14-16): a
/// PermanentEntryID with DT_CONTAINER, flags, depth 0, container ID 0, the (empty) display
/// name as PtypString or PtypString8 (constraints 12, 13) and PidTagAddressBookIsMaster.
fn gal_container_row(unicode: bool) -> Vec<TaggedPropertyValue> {
    use PropertyValue as V;
    let name = if unicode {
        TaggedPropertyValue::new(tags::PidTagDisplayName, V::Unicode(String::new()))
    } else {
        TaggedPropertyValue::new(
            tags::PidTagDisplayName.with_type(PropertyType::STRING8),
            V::String8(Vec::new()),
        )
    };
    vec![
        TaggedPropertyValue::new(tags::PidTagEntryId, V::Binary(gal::gal_entry_id())),
        TaggedPropertyValue::new(tags::PidTagContainerFlags, V::Int32(GAL_CONTAINER_FLAGS)),
        TaggedPropertyValue::new(tags::PidTagDepth, V::Int32(0)),
        TaggedPropertyValue::new(tags::PidTagAddressBookContainerId, V::Int32(0)),
        name,
        TaggedPropertyValue::new(PID_TAG_ADDRESS_BOOK_IS_MASTER, V::Boolean(false)),
    ]
}

/// Rows for a column set (QueryRows, GetMatches, ResolveNames): each cell is the value in
/// the column's type or, for a property the entry lacks, ecNotFound.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowSet {
    /// The columns, as requested (or [`DEFAULT_COLUMNS`]).
    pub(crate) columns: Vec<PropertyTag>,
    /// One cell per column in each row.
    pub(crate) rows: Vec<Vec<RowValue>>,
}

impl RowSet {
    /// The rows as PropertyRow_r values (MS-OXNSPI 2.2.4): a cell without a value is its
    /// column's tag with PtypErrorCode (3.1.4.1.7 constraint 12).
    pub(crate) fn tagged_rows(&self) -> Vec<Vec<TaggedPropertyValue>> {
        self.rows.iter().map(|r| tagged(&self.columns, r)).collect()
    }
}

/// One row as tagged values (see [`RowSet::tagged_rows`]).
pub(crate) fn tagged(columns: &[PropertyTag], row: &[RowValue]) -> Vec<TaggedPropertyValue> {
    columns
        .iter()
        .zip(row)
        .map(|(c, cell)| match cell {
            RowValue::Value(v) => TaggedPropertyValue {
                tag: c.with_type(v.ty()),
                value: v.clone(),
            },
            RowValue::NotFound(_) => error_value(*c, ErrorCode::NOT_FOUND),
            RowValue::Error(_, e) => error_value(*c, *e),
        })
        .collect()
}

fn error_value(tag: PropertyTag, e: ErrorCode) -> TaggedPropertyValue {
    TaggedPropertyValue {
        tag: tag.with_type(PropertyType::ERROR),
        value: PropertyValue::Error(e),
    }
}

/// The properties of one entry (NspiGetProps).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Props {
    /// Success, or ErrorsReturned when a value is a PtypErrorCode.
    pub(crate) code: ErrorCode,
    /// One value per requested tag, in order.
    pub(crate) values: Vec<TaggedPropertyValue>,
}

/// The result of NspiGetMatches (MS-OXNSPI 3.1.4.1.10).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Matches {
    /// pStat on output.
    pub(crate) stat: Stat,
    /// The Explicit Table: the MIds of the matching entries, in GAL order.
    pub(crate) mids: Vec<u32>,
    /// Their rows when columns were requested (constraint 18).
    pub(crate) rows: Option<RowSet>,
}

/// The GAL as the NSPI operations see it.
pub(crate) struct AddressBook {
    gal: Gal,
}

impl AddressBook {
    /// The GAL of `store`: the organization's users.
    pub(crate) fn load(store: &Store) -> Result<Self, StoreError> {
        Ok(Self::new(store.all_users()?))
    }

    /// An address book of `users` (sorted by display name).
    pub(crate) fn new(users: Vec<UserRecord>) -> Self {
        Self {
            gal: Gal::new(users),
        }
    }

    fn len(&self) -> usize {
        self.gal.users.len()
    }

    /// The row the STAT designates before Delta (MS-OXNSPI 3.1.4.5): absolute positioning
    /// (3.1.4.5.1) by CurrentRec, MID_BEGINNING_OF_TABLE and MID_END_OF_TABLE included; an
    /// unknown MId leaves the position undefined (step 4), taken as the first row. Fractional
    /// positioning (3.1.4.5.2) for MID_CURRENT: NumPos × rows / the client's TotalRecs,
    /// truncated, at most the end of the table.
    fn position(&self, stat: &Stat) -> usize {
        let len = self.len();
        match stat.current_rec {
            MID_BEGINNING_OF_TABLE => 0,
            MID_END_OF_TABLE => len,
            MID_CURRENT => {
                if stat.total_recs == 0 {
                    return 0;
                }
                let rows = u64::try_from(len).unwrap_or(u64::MAX);
                let n = u64::from(stat.num_pos).saturating_mul(rows) / u64::from(stat.total_recs);
                usize::try_from(n).unwrap_or(len).min(len)
            }
            mid => self.gal.position(mid).unwrap_or(0),
        }
    }

    /// The initial row and the row Delta moves to, kept within the table: before the first
    /// row is the first row, past the last is one past it (MS-OXNSPI 3.1.4.5.1 steps 6-8).
    fn seek(&self, stat: &Stat) -> (usize, usize) {
        let from = self.position(stat);
        let by = usize::try_from(stat.delta.unsigned_abs()).unwrap_or(usize::MAX);
        let to = if stat.delta >= 0 {
            from.saturating_add(by).min(self.len())
        } else {
            from.saturating_sub(by)
        };
        (from, to)
    }

    /// `stat` at row `at`: CurrentRec its MId (MID_END_OF_TABLE past the last row), NumPos,
    /// TotalRecs, and Delta 0 (MS-OXNSPI 2.2.8); the other fields stay as the client sent them.
    fn at(&self, stat: &Stat, at: usize) -> Stat {
        Stat {
            current_rec: self.gal.users.get(at).map_or(MID_END_OF_TABLE, Gal::mid),
            num_pos: u32::try_from(at).unwrap_or(u32::MAX),
            total_recs: u32::try_from(self.len()).unwrap_or(u32::MAX),
            delta: 0,
            ..*stat
        }
    }

    /// NspiUpdateStat (MS-OXNSPI 3.1.4.1.4): the STAT moved by its Delta (constraints 5-11)
    /// and the rows actually moved (constraint 7).
    pub(crate) fn update_stat(&self, stat: &Stat) -> (Stat, i32) {
        let (from, to) = self.seek(stat);
        let moved = i64::try_from(to).unwrap_or(i64::MAX) - i64::try_from(from).unwrap_or(0);
        let moved = i32::try_from(moved).unwrap_or(if moved < 0 { i32::MIN } else { i32::MAX });
        (self.at(stat, to), moved)
    }

    /// NspiQueryRows (MS-OXNSPI 3.1.4.1.8). With an Explicit Table (`explicit` not empty),
    /// one row per MId from its start (constraints 8, 13), an unknown MId giving a row of
    /// errors; the STAT is not moved. Otherwise the rows of the GAL from the STAT's position
    /// including Delta (constraint 12), and the STAT is updated as NspiUpdateStat would
    /// (constraint 16). At most `count` and [`MAX_ROWS`] rows, and at least one when there is
    /// one (constraint 10; a 0 count with an Explicit Table, which constraint 9 forbids the
    /// client, reads one).
    pub(crate) fn query_rows(
        &self,
        stat: &Stat,
        explicit: Option<&[u32]>,
        count: u32,
        columns: Option<Vec<PropertyTag>>,
    ) -> (Stat, RowSet) {
        let columns = columns.unwrap_or_else(|| DEFAULT_COLUMNS.to_vec());
        let count = usize::try_from(count).unwrap_or(MAX_ROWS).min(MAX_ROWS);
        let (out, rows) = match explicit {
            Some(mids) if !mids.is_empty() => {
                let rows = mids
                    .iter()
                    .take(count.max(1))
                    .map(|&mid| match self.gal.by_mid(mid) {
                        Some(u) => self.row(u, &columns),
                        None => columns
                            .iter()
                            .map(|c| RowValue::Error(c.ty(), ErrorCode::NOT_FOUND))
                            .collect(),
                    })
                    .collect();
                let out = Stat {
                    delta: 0,
                    total_recs: u32::try_from(self.len()).unwrap_or(u32::MAX),
                    ..*stat
                };
                (out, rows)
            }
            _ => {
                let (_, start) = self.seek(stat);
                let end = start.saturating_add(count).min(self.len());
                let rows = self
                    .gal
                    .users
                    .get(start..end)
                    .unwrap_or_default()
                    .iter()
                    .map(|u| self.row(u, &columns))
                    .collect();
                (self.at(stat, end), rows)
            }
        };
        (out, RowSet { columns, rows })
    }

    /// NspiGetMatches (MS-OXNSPI 3.1.4.1.10): the Explicit Table of the GAL entries the
    /// Filter selects (constraint 8; a null Filter selects every entry), in GAL order, and
    /// their rows when `columns` is given (constraint 18). A property to open as a table
    /// (`prop_name`) is NotSupported: no entry has link attributes (constraint 12). More
    /// matches than [`MAX_ROWS`] are TableTooBig (constraint 17); the table is then cut to
    /// `requested` entries. The STAT is returned as given.
    pub(crate) fn get_matches(
        &self,
        stat: &Stat,
        filter: Option<&Restriction>,
        prop_name: bool,
        requested: u32,
        columns: Option<Vec<PropertyTag>>,
    ) -> Result<Matches, ErrorCode> {
        if prop_name {
            return Err(ErrorCode::NO_SUPPORT);
        }
        let matched: Vec<&UserRecord> = self
            .gal
            .users
            .iter()
            .filter(|u| filter.is_none_or(|f| matches(&self.gal, u, f)))
            .collect();
        if matched.len() > MAX_ROWS {
            return Err(ErrorCode::TABLE_TOO_BIG);
        }
        let limit = usize::try_from(requested).unwrap_or(usize::MAX);
        let matched = matched.get(..limit.min(matched.len())).unwrap_or_default();
        let rows = columns.map(|columns| RowSet {
            rows: matched.iter().map(|u| self.row(u, &columns)).collect(),
            columns,
        });
        Ok(Matches {
            stat: *stat,
            mids: matched.iter().map(|u| Gal::mid(u)).collect(),
            rows,
        })
    }

    /// NspiResolveNamesW (MS-OXNSPI 3.1.4.1.17): one MId per name by the ANR of
    /// [`Gal::resolve`] (the entry's MId, MID_AMBIGUOUS or MID_UNRESOLVED; a null name is
    /// MID_UNRESOLVED, 3.1.4.7) and one row per resolved name.
    pub(crate) fn resolve_names<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
        columns: Option<Vec<PropertyTag>>,
    ) -> (Vec<u32>, RowSet) {
        let columns = columns.unwrap_or_else(|| DEFAULT_COLUMNS.to_vec());
        let (mids, resolved) = self.gal.resolve_names(names);
        let rows = resolved.iter().map(|u| self.row(u, &columns)).collect();
        (mids, RowSet { columns, rows })
    }

    /// NspiGetProps (MS-OXNSPI 3.1.4.1.7): the properties of the entry CurrentRec names, one
    /// value per tag in order (constraint 12), the tags of NspiGetPropList when none are given
    /// (constraint 5). A property the entry lacks is PtypErrorCode ecNotFound and the code
    /// ErrorsReturned (constraint 12). An unknown entry is NotFound.
    pub(crate) fn get_props(
        &self,
        stat: &Stat,
        tags: Option<Vec<PropertyTag>>,
    ) -> Result<Props, ErrorCode> {
        let user = self
            .gal
            .by_mid(stat.current_rec)
            .ok_or(ErrorCode::NOT_FOUND)?;
        let tags = tags.unwrap_or_else(|| gal::ENTRY_PROPS.to_vec());
        let values = tagged(&tags, &self.row(user, &tags));
        let code = if values.iter().any(|v| v.tag.ty() == PropertyType::ERROR) {
            ERRORS_RETURNED
        } else {
            ErrorCode::SUCCESS
        };
        Ok(Props { code, values })
    }

    /// NspiGetPropList (MS-OXNSPI 3.1.4.1.6): the tags the entry `mid` has values for; an
    /// unknown entry is InvalidParameter.
    pub(crate) fn get_prop_list(&self, mid: u32) -> Result<Vec<PropertyTag>, ErrorCode> {
        match self.gal.by_mid(mid) {
            Some(_) => Ok(gal::ENTRY_PROPS.to_vec()),
            None => Err(ErrorCode::INVALID_PARAMETER),
        }
    }

    /// NspiDNToMId (MS-OXNSPI 3.1.4.1.13): one MId per DN in order, 0 for an unknown (or
    /// null) DN (constraints 3, 4).
    pub(crate) fn dn_to_mid<'n>(&self, dns: impl IntoIterator<Item = Option<&'n str>>) -> Vec<u32> {
        dns.into_iter()
            .map(|dn| dn.and_then(|d| self.gal.by_dn(d)).map_or(0, Gal::mid))
            .collect()
    }

    fn row(&self, user: &UserRecord, columns: &[PropertyTag]) -> Vec<RowValue> {
        columns.iter().map(|c| self.gal.cell(user, *c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmapi_wire::data::restriction::RELOP_EQ;

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

    /// Sorted by display name: Alice (1), Bob (2), Carol (3), Dave (4).
    fn book() -> AddressBook {
        AddressBook::new(vec![
            user(3, "carol", "Carol"),
            user(1, "alice", "Alice"),
            user(4, "dave", "Dave"),
            user(2, "bob", "Bob"),
        ])
    }

    fn mid(id: i64) -> u32 {
        Gal::mid(&user(id, "x", "x"))
    }

    fn stat(current_rec: u32, delta: i32) -> Stat {
        Stat {
            current_rec,
            delta,
            code_page: 1252,
            sort_locale: 0x409,
            ..Stat::default()
        }
    }

    fn accounts(rows: &RowSet) -> Vec<String> {
        rows.rows
            .iter()
            .map(|r| match &r[0] {
                RowValue::Value(v) => v.as_str().map(|s| s.into_owned()).unwrap_or_default(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    /// MS-OXNSPI 3.1.4.1.8 constraints 12 and 16: QueryRows starts at CurrentRec + Delta and
    /// leaves the STAT where NspiUpdateStat would.
    #[test]
    fn query_rows_applies_delta_like_update_stat() {
        let b = book();
        let cols = Some(vec![tags::PidTagAccount]);
        let (out, rows) = b.query_rows(&stat(mid(2), 1), None, 2, cols.clone());
        assert_eq!(accounts(&rows), ["carol", "dave"]);
        assert_eq!(
            (out.current_rec, out.delta, out.num_pos, out.total_recs),
            (MID_END_OF_TABLE, 0, 4, 4)
        );
        assert_eq!((out.code_page, out.sort_locale), (1252, 0x409));
        let (moved, delta) = b.update_stat(&stat(mid(2), 1));
        assert_eq!((moved.current_rec, moved.num_pos, delta), (mid(3), 2, 1));
        // Before the first row is the first row; past the end is MID_END_OF_TABLE.
        let (s, d) = b.update_stat(&stat(mid(2), -5));
        assert_eq!((s.current_rec, s.num_pos, d), (mid(1), 0, -1));
        let (s, d) = b.update_stat(&stat(MID_BEGINNING_OF_TABLE, 9));
        assert_eq!((s.current_rec, s.num_pos, d), (MID_END_OF_TABLE, 4, 4));
        // A 0 count reads nothing from the GAL.
        let (out, rows) = b.query_rows(&stat(0, 0), None, 0, cols);
        assert!(rows.rows.is_empty());
        assert_eq!(out.current_rec, mid(1));
    }

    /// MS-OXNSPI 3.1.4.5.2: MID_CURRENT positions at NumPos / TotalRecs of the table.
    #[test]
    fn fractional_positioning() {
        let b = book();
        let frac = |num_pos, total_recs| Stat {
            current_rec: MID_CURRENT,
            num_pos,
            total_recs,
            ..Stat::default()
        };
        assert_eq!(b.update_stat(&frac(50, 100)).0.current_rec, mid(3));
        assert_eq!(b.update_stat(&frac(1, 3)).0.current_rec, mid(2));
        assert_eq!(b.update_stat(&frac(7, 3)).0.current_rec, MID_END_OF_TABLE);
        assert_eq!(b.update_stat(&frac(7, 0)).0.current_rec, mid(1));
    }

    /// An Explicit Table is read from its start, at least one row, unknown MIds as error rows.
    #[test]
    fn query_rows_explicit_table() {
        let b = book();
        let cols = Some(vec![tags::PidTagAccount]);
        let table = [mid(4), 0x9999, mid(1)];
        let (out, rows) = b.query_rows(&stat(mid(2), 3), Some(&table), 2, cols.clone());
        assert_eq!(rows.rows.len(), 2);
        assert_eq!(accounts(&rows)[0], "dave");
        assert_eq!(
            rows.rows[1],
            [RowValue::Error(PropertyType::UNICODE, ErrorCode::NOT_FOUND)]
        );
        assert_eq!((out.current_rec, out.delta, out.total_recs), (mid(2), 0, 4));
        let (_, rows) = b.query_rows(&stat(0, 0), Some(&table), 0, cols);
        assert_eq!(rows.rows.len(), 1, "a 0 count still reads one row");
        let tagged = rows.tagged_rows();
        assert_eq!(tagged[0][0].tag, tags::PidTagAccount);
    }

    /// MS-OXNSPI 3.1.4.1.10: the filter's matches in GAL order, cut to `requested`; a named
    /// property is NotSupported; more matches than the server allows are TableTooBig.
    #[test]
    fn get_matches_limits() {
        let b = book();
        let anr = Restriction::Property {
            relop: RELOP_EQ,
            tag: PropertyTag(0x360C_001F),
            value: TaggedPropertyValue::new(
                PropertyTag(0x360C_001F),
                PropertyValue::Unicode("a".into()),
            ),
        };
        let m = b
            .get_matches(&stat(0, 0), None, false, 3, Some(vec![tags::PidTagAccount]))
            .unwrap();
        assert_eq!(m.mids, [mid(1), mid(2), mid(3)]);
        assert_eq!(
            accounts(m.rows.as_ref().unwrap()),
            ["alice", "bob", "carol"]
        );
        assert_eq!(m.stat, stat(0, 0));
        let m = b
            .get_matches(&stat(0, 0), Some(&anr), false, 10, None)
            .unwrap();
        assert_eq!(m.mids, [mid(1)]);
        assert!(m.rows.is_none());
        assert_eq!(
            b.get_matches(&stat(0, 0), None, true, 10, None),
            Err(ErrorCode::NO_SUPPORT)
        );
        let big = AddressBook::new(
            (1..=i64::try_from(MAX_ROWS).unwrap() + 1)
                .map(|i| user(i, &format!("u{i}"), &format!("User {i}")))
                .collect(),
        );
        assert_eq!(
            big.get_matches(&stat(0, 0), None, false, 5, None),
            Err(ErrorCode::TABLE_TOO_BIG)
        );
        let (_, rows) = big.query_rows(&stat(0, 0), None, u32::MAX, None);
        assert_eq!(
            rows.rows.len(),
            MAX_ROWS,
            "QueryRows returns at most MAX_ROWS"
        );
    }

    /// MS-OXNSPI 3.1.4.1.3 constraints 4, 9, 11, 14: templates win and have no rows; the
    /// hierarchy row carries the six properties in order.
    #[test]
    fn special_table_rows() {
        let t = special_table(NSPI_UNICODE_STRINGS, 0);
        assert_eq!(t.version, 1);
        let got: Vec<u32> = t.rows[0].iter().map(|v| v.tag.0).collect();
        assert_eq!(
            got,
            [
                0x0FFF_0102,
                0x3600_0003,
                0x3005_0003,
                0xFFFD_0003,
                0x3001_001F,
                0xFFFB_000B
            ]
        );
        assert_eq!(special_table(0, 7).rows[0][4].tag, PropertyTag(0x3001_001E));
        let t = special_table(NSPI_ADDRESS_CREATION_TEMPLATES | NSPI_UNICODE_STRINGS, 0);
        assert!(t.rows.is_empty());
    }

    /// GetProps: values in order, missing ones as PtypErrorCode with ErrorsReturned; DNToMId
    /// maps unknown and null DNs to 0; ResolveNames gives one row per resolved name.
    #[test]
    fn props_dns_and_names() {
        let b = book();
        let p = b
            .get_props(
                &stat(mid(2), 0),
                Some(vec![tags::PidTagAccount, tags::PidTagTitle]),
            )
            .unwrap();
        assert_eq!(p.code, ERRORS_RETURNED);
        assert_eq!(p.values[0].value, PropertyValue::Unicode("bob".into()));
        assert_eq!(
            p.values[1].tag,
            tags::PidTagTitle.with_type(PropertyType::ERROR)
        );
        let p = b.get_props(&stat(mid(2), 0), None).unwrap();
        assert_eq!(p.code, ErrorCode::SUCCESS);
        assert_eq!(p.values.len(), gal::ENTRY_PROPS.len());
        assert_eq!(
            b.get_props(&stat(0x9999, 0), None),
            Err(ErrorCode::NOT_FOUND)
        );
        assert_eq!(
            b.dn_to_mid([Some("/O=OXMAPI/CN=DAVE"), Some("/o=x"), None]),
            [mid(4), 0, 0]
        );
        assert_eq!(b.get_prop_list(mid(1)).unwrap(), gal::ENTRY_PROPS);
        assert_eq!(b.get_prop_list(7), Err(ErrorCode::INVALID_PARAMETER));
        let (mids, rows) = b.resolve_names(["bob", "", "zed"], None);
        assert_eq!(mids, [mid(2), gal::MID_UNRESOLVED, gal::MID_UNRESOLVED]);
        assert_eq!(rows.columns, DEFAULT_COLUMNS);
        assert_eq!(rows.rows.len(), 1);
    }
}
