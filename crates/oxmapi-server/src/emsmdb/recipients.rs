//! Recipients on the wire: RecipientRow (MS-OXCDATA 2.8.3.2) to and from the stored
//! recipient properties (MS-OXCMSG 2.2.1 recipient properties; MS-OXOMSG 2.2.3).
//!
//! The server sends one fixed recipient column set ([`COLUMNS`]) in RopOpenMessage,
//! RopOpenEmbeddedMessage and RopReadRecipients, so rows read later always match the
//! columns the client got when it opened the message.

use oxmapi_wire::data::{PropertyRow, PropertyTag, PropertyType, PropertyValue, RowValue, tags};
use oxmapi_wire::rop::{
    MessageInfo, OpenRecipientRow, ReadRecipientRow, RecipientRow, TypedString, X500Info,
    recipient_flags as rf,
};

use super::objects::Bag;
use crate::store::messages::{self as m, KIND_MESSAGE, PropList, Recipient};

/// PidTag7BitDisplayName (SimpleDisplayName).
const PID_TAG_7BIT_DISPLAY_NAME: PropertyTag = PropertyTag(0x39FF_001F);
/// PidTagTransmittableDisplayName.
const PID_TAG_TRANSMITTABLE_DISPLAY_NAME: PropertyTag = PropertyTag(0x3A20_001F);
/// PidTagResponsibility.
const PID_TAG_RESPONSIBILITY: PropertyTag = PropertyTag(0x0E0F_000B);
/// PidTagRowid.
const PID_TAG_ROWID: PropertyTag = PropertyTag(0x3000_0003);
/// PidTagSearchKey.
const PID_TAG_SEARCH_KEY: PropertyTag = PropertyTag(0x300B_0102);
/// PidTagRecipientEntryId-less EntryId of a recipient: PidTagEntryId.
const PID_TAG_ENTRY_ID: PropertyTag = tags::PidTagEntryId;
/// PidTagSendRichInfo (MS-OXPROPS 2.1000): the recipient takes TNEF; the RecipientRow N flag
/// (NonRichInfo) is its negation.
const PID_TAG_SEND_RICH_INFO: PropertyTag = PropertyTag(0x3A40_000B);
/// MAPI_MAILUSER and MAPI_DISTLIST (PidTagObjectType, MS-OXCPRPT 2.2.1.7).
const MAPI_MAILUSER: i32 = 6;
const MAPI_DISTLIST: i32 = 8;
/// DT_DISTLIST (PidTagDisplayType, MS-OXOABK 2.2.3.11).
const DT_DISTLIST: u8 = 1;
/// MAPI_ONE_OFF_UID (MS-OXCDATA 2.2.5.1): the ProviderUID of a One-Off EntryID.
const ONE_OFF_PROVIDER_UID: [u8; 16] = [
    0x81, 0x2B, 0x1F, 0xA4, 0xBE, 0xA3, 0x10, 0x19, 0x9D, 0x6E, 0x00, 0xDD, 0x01, 0x0F, 0x54, 0x02,
];
/// One-Off EntryID flags (MS-OXCDATA 2.2.5.1): U (UTF-16 strings) and M (no rich info).
const ONE_OFF_UNICODE: u16 = 0x8000;
const ONE_OFF_NO_RICH_INFO: u16 = 0x0001;

/// The properties a RecipientRow carries in its own fields (MS-OXCDATA 2.8.3.2: address type,
/// e-mail address / X500 DN, display names, entry ID, search key, the N flag) plus the row's
/// identity and type, which RopModifyRecipients carries outside the row (RowId, RecipientType).
/// A RecipientColumns list naming any of them is refused with ecInvalidParam, as a real
/// server (gromox 3.10) does; the reachable text of MS-OXCMSG 3.2.5.5 lists only ecNullObject,
/// so this is interoperability, not a quoted MUST.
pub(super) const ROW_FIELD_PROPERTIES: [PropertyTag; 9] = [
    tags::PidTagAddressType,
    tags::PidTagDisplayName,
    tags::PidTagEmailAddress,
    tags::PidTagEntryId,
    tags::PidTagInstanceKey,
    tags::PidTagRecipientType,
    PID_TAG_SEARCH_KEY,
    PID_TAG_SEND_RICH_INFO,
    PID_TAG_TRANSMITTABLE_DISPLAY_NAME,
];

/// The first of `columns` that names a RecipientRow field property ([`ROW_FIELD_PROPERTIES`],
/// compared by property ID, whatever the type).
pub(super) fn row_field_column(columns: &[PropertyTag]) -> Option<PropertyTag> {
    columns
        .iter()
        .copied()
        .find(|c| ROW_FIELD_PROPERTIES.iter().any(|f| f.id() == c.id()))
}

/// CodePageId of the rows: CP_WINUNICODE (the strings are UTF-16LE, U flag set).
const CODE_PAGE_UNICODE: u16 = 1200;

/// The recipient columns of every row the server sends.
pub(super) const COLUMNS: [PropertyTag; 4] = [
    tags::PidTagSmtpAddress,
    PID_TAG_ENTRY_ID,
    tags::PidTagDisplayType,
    PID_TAG_SEARCH_KEY,
];

/// What RopOpenMessage / RopOpenEmbeddedMessage say about a message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Header {
    pub(super) has_named_properties: u8,
    pub(super) subject_prefix: TypedString,
    pub(super) normalized_subject: TypedString,
    pub(super) recipient_count: u16,
    pub(super) rows: Vec<OpenRecipientRow>,
}

impl Header {
    /// The MessageInfo with the first `n` rows.
    pub(super) fn info(&self, n: usize) -> MessageInfo {
        MessageInfo {
            has_named_properties: self.has_named_properties,
            subject_prefix: self.subject_prefix.clone(),
            normalized_subject: self.normalized_subject.clone(),
            recipient_count: self.recipient_count,
            recipient_columns: COLUMNS.to_vec(),
            recipient_rows: self.rows.iter().take(n).cloned().collect(),
        }
    }
}

/// Reads the header of a message instance.
pub(super) fn header(c: &rusqlite::Connection, bag: Bag) -> rusqlite::Result<Header> {
    let props = m::inline_props(c, bag.mailbox_id, KIND_MESSAGE, bag.id)?;
    let has_named = props.iter().any(|(t, _)| t.id() >= 0x8000)
        || m::blob_props(c, bag.mailbox_id, KIND_MESSAGE, bag.id)?
            .iter()
            .any(|(t, _)| t.id() >= 0x8000);
    let text = |tag: PropertyTag| {
        props
            .iter()
            .find(|(t, _)| t.id() == tag.id())
            .and_then(|(_, v)| v.as_str().map(|s| s.into_owned()))
    };
    let prefix = text(tags::PidTagSubjectPrefix);
    let normalized = text(tags::PidTagNormalizedSubject).or_else(|| {
        text(tags::PidTagSubject).map(|s| match &prefix {
            Some(p) if !p.is_empty() => s.strip_prefix(p.as_str()).unwrap_or(&s).to_owned(),
            _ => s,
        })
    });
    let rcpts = m::recipients(c, bag.mailbox_id, bag.id)?;
    Ok(Header {
        has_named_properties: u8::from(has_named),
        subject_prefix: typed(prefix),
        normalized_subject: typed(normalized),
        recipient_count: u16::try_from(rcpts.len()).unwrap_or(u16::MAX),
        rows: rcpts
            .iter()
            .map(|r| OpenRecipientRow {
                recipient_type: r.recipient_type,
                code_page_id: CODE_PAGE_UNICODE,
                reserved: 0,
                row: to_row(&r.props),
            })
            .collect(),
    })
}

fn typed(s: Option<String>) -> TypedString {
    match s {
        None => TypedString::None,
        Some(s) if s.is_empty() => TypedString::Empty,
        Some(s) => TypedString::Unicode(s.replace('\0', "")),
    }
}

/// ReadRecipientRows from `start` (RowId) on.
pub(super) fn read_rows(
    c: &rusqlite::Connection,
    bag: Bag,
    start: u32,
) -> rusqlite::Result<Vec<ReadRecipientRow>> {
    Ok(m::recipients(c, bag.mailbox_id, bag.id)?
        .into_iter()
        .filter(|r| r.row_id >= start)
        .map(|r| ReadRecipientRow {
            row_id: r.row_id,
            recipient_type: r.recipient_type,
            code_page_id: CODE_PAGE_UNICODE,
            reserved: 0,
            row: to_row(&r.props),
        })
        .collect())
}

fn text(props: &PropList, tag: PropertyTag) -> Option<String> {
    props
        .iter()
        .find(|(t, _)| t.id() == tag.id())
        .and_then(|(_, v)| v.as_str().map(|s| s.replace('\0', "")))
}

fn latin1(s: &str) -> bool {
    s.chars().all(|c| c != '\0' && u32::from(c) <= 0xFF)
}

/// Builds the RecipientRow of stored recipient properties (MS-OXCDATA 2.8.3.2).
pub(super) fn to_row(props: &PropList) -> RecipientRow {
    let addr_type = text(props, tags::PidTagAddressType).unwrap_or_default();
    let email = text(props, tags::PidTagEmailAddress);
    let display = text(props, tags::PidTagDisplayName);
    let simple = text(props, PID_TAG_7BIT_DISPLAY_NAME);
    let transmittable = text(props, PID_TAG_TRANSMITTABLE_DISPLAY_NAME);
    let mut flags = rf::UNICODE;
    let mut x500 = None;
    let mut address_type = None;
    let mut email_address = None;
    if addr_type.eq_ignore_ascii_case("EX") && email.as_deref().is_some_and(latin1) {
        flags |= rf::TYPE_X500DN;
        let display_type = props
            .iter()
            .find(|(t, _)| t.id() == tags::PidTagDisplayType.id())
            .and_then(|(_, v)| v.as_i64())
            .and_then(|v| u8::try_from(v).ok())
            .unwrap_or(0);
        x500 = Some(X500Info {
            address_prefix_used: 0,
            display_type,
            x500_dn: email.clone().unwrap_or_default(),
        });
    } else if addr_type.eq_ignore_ascii_case("SMTP") {
        flags |= rf::TYPE_SMTP;
        if email.is_some() {
            flags |= rf::EMAIL;
            email_address = email;
        }
    } else if !addr_type.is_empty() && latin1(&addr_type) {
        flags |= rf::TYPE_NONE | rf::OUT_OF_STANDARD;
        address_type = Some(addr_type);
        if email.is_some() {
            flags |= rf::EMAIL;
            email_address = email;
        }
    } else if email.is_some() {
        flags |= rf::EMAIL;
        email_address = email;
    }
    let display_name = display.clone();
    if display.is_some() {
        flags |= rf::DISPLAY;
    }
    let simple_display_name = simple;
    if simple_display_name.is_some() {
        flags |= rf::SIMPLE;
    }
    let transmittable_display_name = match (&transmittable, &display) {
        (Some(t), Some(d)) if t == d => {
            flags |= rf::SAME;
            None
        }
        (Some(_), _) => {
            flags |= rf::TRANSMITTABLE;
            transmittable
        }
        _ => None,
    };
    if props.iter().any(|(t, v)| {
        t.id() == PID_TAG_RESPONSIBILITY.id() && matches!(v, PropertyValue::Boolean(true))
    }) {
        flags |= rf::RESPONSIBLE;
    }
    if props.iter().any(|(t, v)| {
        t.id() == PID_TAG_SEND_RICH_INFO.id() && matches!(v, PropertyValue::Boolean(false))
    }) {
        flags |= rf::NON_RICH;
    }
    let values = COLUMNS
        .iter()
        .map(|col| {
            match props
                .iter()
                .find(|(t, v)| t.id() == col.id() && v.ty() == col.ty())
            {
                Some((_, v)) => RowValue::Value(v.clone()),
                None => RowValue::NotFound(col.ty()),
            }
        })
        .collect();
    RecipientRow {
        flags,
        x500,
        entry_id: None,
        search_key: None,
        address_type,
        email_address,
        display_name,
        simple_display_name,
        transmittable_display_name,
        column_count: COLUMNS.len() as u16,
        properties: PropertyRow {
            flagged: true,
            values,
        },
    }
}

/// The stored recipient for a RopModifyRecipients row (MS-OXCDATA 2.8.3.2 fields mapped
/// to PidTagAddressType, PidTagEmailAddress, PidTagDisplayName, ...; the columns kept as
/// properties).
pub(super) fn from_row(
    row_id: u32,
    recipient_type: u8,
    row: &RecipientRow,
    columns: &[PropertyTag],
) -> Recipient {
    let mut props: PropList = Vec::new();
    let mut put = |tag: PropertyTag, v: PropertyValue| {
        props.retain(|(t, _)| t.id() != tag.id());
        props.push((tag, v));
    };
    let s = |x: &str| PropertyValue::Unicode(x.to_owned());
    let ty = row.flags & rf::TYPE_MASK;
    let addr_type = match ty {
        rf::TYPE_X500DN => Some("EX"),
        rf::TYPE_MSMAIL => Some("MSMAIL"),
        rf::TYPE_SMTP => Some("SMTP"),
        rf::TYPE_FAX => Some("FAX"),
        rf::TYPE_PROFESSIONAL_OFFICE_SYSTEM => Some("PROFS"),
        rf::TYPE_PERSONAL_DLIST1 | rf::TYPE_PERSONAL_DLIST2 => Some("MAPIPDL"),
        _ => row.address_type.as_deref(),
    };
    // Columns first, so the fixed part wins where both are given.
    for (i, col) in columns
        .iter()
        .take(usize::from(row.column_count))
        .enumerate()
    {
        if let Some(RowValue::Value(v)) = row.properties.values.get(i)
            && v.ty() != PropertyType::ERROR
        {
            put(col.with_type(v.ty()), v.clone());
        }
    }
    if let Some(a) = addr_type {
        put(tags::PidTagAddressType, s(a));
    }
    if let Some(x) = &row.x500 {
        put(tags::PidTagEmailAddress, s(&x.x500_dn));
        put(
            tags::PidTagDisplayType,
            PropertyValue::Int32(i32::from(x.display_type)),
        );
    }
    if let Some(e) = &row.email_address {
        put(tags::PidTagEmailAddress, s(e));
        if ty == rf::TYPE_SMTP {
            put(tags::PidTagSmtpAddress, s(e));
        }
    }
    if let Some(e) = &row.entry_id {
        put(PID_TAG_ENTRY_ID, PropertyValue::Binary(e.clone()));
    }
    if let Some(k) = &row.search_key {
        put(PID_TAG_SEARCH_KEY, PropertyValue::Binary(k.clone()));
    }
    if let Some(d) = &row.display_name {
        put(tags::PidTagDisplayName, s(d));
        if row.flags & rf::SAME != 0 {
            put(PID_TAG_TRANSMITTABLE_DISPLAY_NAME, s(d));
        }
    }
    if let Some(d) = &row.simple_display_name {
        put(PID_TAG_7BIT_DISPLAY_NAME, s(d));
    }
    if let Some(d) = &row.transmittable_display_name {
        put(PID_TAG_TRANSMITTABLE_DISPLAY_NAME, s(d));
    }
    put(
        PID_TAG_RESPONSIBILITY,
        PropertyValue::Boolean(row.flags & rf::RESPONSIBLE != 0),
    );
    put(
        PID_TAG_SEND_RICH_INFO,
        PropertyValue::Boolean(row.flags & rf::NON_RICH == 0),
    );
    derive_identity(&mut props, row);
    let mut put = |tag: PropertyTag, v: PropertyValue| {
        props.retain(|(t, _)| t.id() != tag.id());
        props.push((tag, v));
    };
    put(
        tags::PidTagRecipientType,
        PropertyValue::Int32(i32::from(recipient_type)),
    );
    put(
        PID_TAG_ROWID,
        PropertyValue::Int32(i32::try_from(row_id).unwrap_or(i32::MAX)),
    );
    Recipient {
        row_id,
        recipient_type,
        props,
    }
}

/// Fills in what the row's fields imply and the client no longer sends as columns
/// (MS-OXCDATA 2.8.3.2 carries no EntryId for X500DN or SMTP rows): PidTagEntryId (the
/// Address Book EntryID of the DN, MS-OXCDATA 2.2.5.2, or a One-Off EntryID, 2.2.5.1),
/// PidTagSearchKey (`ADDRTYPE:ADDRESS`, upper case, NUL-terminated, as MAPI forms it) and
/// PidTagObjectType. Values already present (a personal distribution list row's EntryId and
/// SearchKey, or a column) are kept.
fn derive_identity(props: &mut PropList, row: &RecipientRow) {
    let has = |props: &PropList, tag: PropertyTag| props.iter().any(|(t, _)| t.id() == tag.id());
    let addr_type = text(props, tags::PidTagAddressType).unwrap_or_default();
    let email = text(props, tags::PidTagEmailAddress).filter(|e| !e.is_empty());
    let dl = row
        .x500
        .as_ref()
        .is_some_and(|x| x.display_type == DT_DISTLIST);
    if !has(props, PID_TAG_ENTRY_ID)
        && let Some(e) = &email
    {
        let id = if row.x500.is_some() {
            super::props::ab_entry_id(e)
        } else {
            let name = text(props, tags::PidTagDisplayName).unwrap_or_else(|| e.clone());
            one_off_entry_id(&name, &addr_type, e)
        };
        props.push((PID_TAG_ENTRY_ID, PropertyValue::Binary(id)));
    }
    if !has(props, PID_TAG_SEARCH_KEY)
        && !addr_type.is_empty()
        && let Some(e) = &email
    {
        let mut key = format!("{addr_type}:{e}").to_uppercase().into_bytes();
        key.push(0);
        props.push((PID_TAG_SEARCH_KEY, PropertyValue::Binary(key)));
    }
    if !has(props, tags::PidTagObjectType) {
        let ty = if dl { MAPI_DISTLIST } else { MAPI_MAILUSER };
        props.push((tags::PidTagObjectType, PropertyValue::Int32(ty)));
    }
}

/// A One-Off EntryID (MS-OXCDATA 2.2.5.1): Flags 0, MAPI_ONE_OFF_UID, Version 0, flags U|M,
/// then display name, address type and address as NUL-terminated UTF-16LE strings.
fn one_off_entry_id(name: &str, addr_type: &str, address: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(24 + 2 * (name.len() + addr_type.len() + address.len() + 3));
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(&ONE_OFF_PROVIDER_UID);
    v.extend_from_slice(&0u16.to_le_bytes());
    v.extend_from_slice(&(ONE_OFF_UNICODE | ONE_OFF_NO_RICH_INFO).to_le_bytes());
    for s in [name, addr_type, address] {
        for u in s.encode_utf16().chain(std::iter::once(0)) {
            v.extend_from_slice(&u.to_le_bytes());
        }
    }
    v
}

/// Recomputes PidTagDisplayTo / Cc / Bcc (MS-OXOMSG 2.2.1.7-2.2.1.9) from the recipients.
pub(super) fn update_display_lists(c: &rusqlite::Connection, bag: Bag) -> rusqlite::Result<()> {
    let rcpts = m::recipients(c, bag.mailbox_id, bag.id)?;
    for (ty, tag) in [
        (1u8, tags::PidTagDisplayTo),
        (2, tags::PidTagDisplayCc),
        (3, tags::PidTagDisplayBcc),
    ] {
        let names: Vec<String> = rcpts
            .iter()
            .filter(|r| r.recipient_type & 0x0F == ty)
            .filter_map(|r| {
                text(&r.props, tags::PidTagDisplayName)
                    .or_else(|| text(&r.props, tags::PidTagEmailAddress))
            })
            .collect();
        m::put_prop(
            c,
            bag.mailbox_id,
            KIND_MESSAGE,
            bag.id,
            tag,
            &PropertyValue::Unicode(names.join("; ")),
        )?;
    }
    Ok(())
}
