//! CDO's `Fields`: arbitrary properties of a message or attachment, including named
//! properties resolved with RopGetPropertyIdsFromNames (MS-OXCPRPT 2.2.12, MS-OXPROPS 1.3.2).

use oxmapi_wire::data::{ErrorCode, PropertyTag, PropertyType, PropertyValue, RowValue};
use oxmapi_wire::rop::{
    GetPropertyIdsFromNamesRequest, PropertyName, PropertyNameKind, RopResponse,
};

use crate::error::Error;
use crate::message::Message;
use crate::ropkit::{Batch, bad_data, not_found};
use crate::session::Session;
use crate::stream::{INLINE_LIMIT, Target, needs_stream, value_from_stream};

/// A named property: a property set GUID plus a numeric LID or a string name, and the type
/// it is read as (MS-OXCDATA 2.6.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedProperty {
    /// The property set GUID in wire byte order.
    pub guid: [u8; 16],
    /// The LID or name.
    pub name: NameOrId,
    /// The type to read it as.
    pub ty: PropertyType,
}

/// A named property's LID or string name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NameOrId {
    /// A numeric LID (MNID_ID).
    Id(u32),
    /// A string name (MNID_STRING).
    Name(String),
}

impl From<u32> for NameOrId {
    fn from(v: u32) -> Self {
        Self::Id(v)
    }
}

impl From<&str> for NameOrId {
    fn from(v: &str) -> Self {
        Self::Name(v.to_owned())
    }
}

impl From<String> for NameOrId {
    fn from(v: String) -> Self {
        Self::Name(v)
    }
}

/// PS_PUBLIC_STRINGS {00020329-0000-0000-C000-000000000046} in wire byte order
/// (MS-OXPROPS 1.3.2), where string-named custom properties usually live.
pub const PS_PUBLIC_STRINGS: [u8; 16] = [
    0x29, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];

/// CDO `Fields`: property values read from an object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    values: Vec<(PropertyTag, RowValue)>,
    named: Vec<(NamedProperty, PropertyTag)>,
}

impl Fields {
    /// `Fields::named(guid, name_or_id)`: describes a named property to read as a string
    /// (use [`NamedProperty`] directly for another type).
    pub fn named(guid: [u8; 16], name: impl Into<NameOrId>) -> NamedProperty {
        NamedProperty {
            guid,
            name: name.into(),
            ty: PropertyType::UNICODE,
        }
    }

    /// CDO `Fields.Item(tag)`: the value, if the object has it.
    pub fn get(&self, tag: PropertyTag) -> Option<&PropertyValue> {
        self.values
            .iter()
            .find(|(t, _)| t.id() == tag.id())
            .and_then(|(_, v)| v.value())
    }

    /// The value of a named property read with [`Message::named_fields`].
    pub fn get_named(&self, p: &NamedProperty) -> Option<&PropertyValue> {
        self.named
            .iter()
            .find(|(n, _)| n == p)
            .and_then(|(_, t)| self.get(*t))
    }

    /// The tag a named property was mapped to in this mailbox.
    pub fn tag_of(&self, p: &NamedProperty) -> Option<PropertyTag> {
        self.named.iter().find(|(n, _)| n == p).map(|(_, t)| *t)
    }

    /// The error the server gave for a property (MAPI_E_NOT_FOUND when absent).
    pub fn error(&self, tag: PropertyTag) -> Option<ErrorCode> {
        self.values
            .iter()
            .find(|(t, _)| t.id() == tag.id())
            .and_then(|(_, v)| match v {
                RowValue::Value(_) => None,
                RowValue::NotFound(_) => Some(ErrorCode::NOT_FOUND),
                RowValue::Error(_, e) => Some(*e),
            })
    }

    /// Every (tag, cell) read.
    pub fn iter(&self) -> impl Iterator<Item = (PropertyTag, &RowValue)> {
        self.values.iter().map(|(t, v)| (*t, v))
    }

    /// Reads `tags` of `target`; values too large to come inline are streamed.
    pub(crate) async fn read(
        session: &mut Session,
        target: Target,
        tags: &[PropertyTag],
    ) -> Result<Self, Error> {
        const STEP: &str = "fields";
        let row = session.read_props(target, tags, INLINE_LIMIT, STEP).await?;
        let mut values = Vec::with_capacity(tags.len());
        for (&tag, cell) in tags.iter().zip(row.values) {
            let cell = if needs_stream(&cell) {
                let mut buf = Vec::new();
                session.stream_property(target, tag, &mut buf, STEP).await?;
                let v = value_from_stream(tag, buf).ok_or_else(|| {
                    bad_data(
                        STEP,
                        format!("{}: {tag} stream is not valid", target.describe()),
                    )
                })?;
                RowValue::Value(v)
            } else {
                cell
            };
            values.push((tag, cell));
        }
        Ok(Self {
            values,
            named: Vec::new(),
        })
    }
}

impl Message {
    /// CDO `Message.Fields`: reads any properties of the message.
    pub async fn fields(
        &self,
        session: &mut Session,
        tags: &[PropertyTag],
    ) -> Result<Fields, Error> {
        Fields::read(session, self.target(), tags).await
    }

    /// CDO `Message.Fields.Item(name, propset)`: resolves named properties to this
    /// mailbox's IDs (RopGetPropertyIdsFromNames without the Create flag) and reads them.
    /// A name the mailbox has never seen is a NotFound error naming it.
    pub async fn named_fields(
        &self,
        session: &mut Session,
        names: &[NamedProperty],
    ) -> Result<Fields, Error> {
        let ids = session.property_ids(self.target(), names).await?;
        let tags: Vec<PropertyTag> = ids
            .iter()
            .zip(names)
            .map(|(&id, n)| PropertyTag::new(id, n.ty))
            .collect();
        let mut f = Fields::read(session, self.target(), &tags).await?;
        f.named = names.iter().cloned().zip(tags).collect();
        Ok(f)
    }
}

impl Session {
    /// RopGetPropertyIdsFromNames on `target` (MS-OXCPRPT 2.2.12): one ID per name.
    pub(crate) async fn property_ids(
        &mut self,
        target: Target,
        names: &[NamedProperty],
    ) -> Result<Vec<u16>, Error> {
        const STEP: &str = "named-properties";
        let wire: Vec<PropertyName> = names
            .iter()
            .map(|n| PropertyName {
                guid: n.guid,
                kind: match &n.name {
                    NameOrId::Id(l) => PropertyNameKind::Lid(*l),
                    NameOrId::Name(s) => PropertyNameKind::Name(s.clone()),
                },
            })
            .collect();
        let ids = self
            .with_reconnect(move |s| {
                let wire = wire.clone();
                Box::pin(async move {
                    let mut b = Batch::new(target.handles(s.logon_handle(), 0));
                    let (_, slot) = target.push_open(&mut b);
                    b.push(GetPropertyIdsFromNamesRequest {
                        logon_id: 0,
                        input_handle_index: slot,
                        flags: 0,
                        property_names: wire,
                    });
                    target.push_release(&mut b, slot, 0);
                    let mut r = b.send(s, STEP).await?;
                    let what = || format!("named properties of {}", target.describe());
                    target.take_open(&mut r, &what)?;
                    r.next(&what, |x| match x {
                        RopResponse::GetPropertyIdsFromNames(g) => Ok(g.property_ids),
                        other => Err(other),
                    })
                })
            })
            .await?;
        if ids.len() != names.len() {
            return Err(bad_data(
                STEP,
                format!("{} IDs for {} names", ids.len(), names.len()),
            ));
        }
        for (id, n) in ids.iter().zip(names) {
            if *id == 0 {
                return Err(not_found(
                    STEP,
                    format!(
                        "named property {:?} in {} is not known to the mailbox",
                        n.name,
                        crate::hex_guid(&n.guid)
                    ),
                ));
            }
        }
        Ok(ids)
    }
}
