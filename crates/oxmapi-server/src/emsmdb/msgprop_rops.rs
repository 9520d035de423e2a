//! Property ROPs on Message and Attachment objects (MS-OXCPRPT 3.2.5.1 - 3.2.5.7:
//! RopGetPropertiesSpecific, RopGetPropertiesAll, RopGetPropertiesList, RopSetProperties,
//! RopDeleteProperties), over the object's current instance (`msgobj`), and the
//! named-property ROPs on any object (MS-OXCPRPT 3.2.5.8, 3.2.5.9).

use oxmapi_wire::data::{
    ErrorCode, PropertyProblem, PropertyRow, PropertyTag, PropertyType, PropertyValue, RowValue,
    TaggedPropertyValue, tags,
};
use oxmapi_wire::rop::{
    DeletePropertiesRequest, DeletePropertiesResponse, GetNamesFromPropertyIdsRequest,
    GetNamesFromPropertyIdsResponse, GetPropertiesAllRequest, GetPropertiesAllResponse,
    GetPropertiesListRequest, GetPropertiesListResponse, GetPropertiesSpecificRequest,
    GetPropertiesSpecificResponse, GetPropertyIdsFromNamesRequest, GetPropertyIdsFromNamesResponse,
    PropertyName, PropertyNameKind, RopId, SetPropertiesRequest, SetPropertiesResponse,
};

use super::context::MailboxContext;
use super::msgobj;
use super::step::{Step, WRITE_ROOM, fail, reply, slot};
use crate::store::messages::{self as m, NamedProp};
use crate::store::tx;

/// PS_MAPI (MS-OXPROPS 1.3.2): names in this set map to the property ID = LID.
const PS_MAPI: [u8; 16] = [
    0x28, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];

/// RopGetPropertiesSpecific (MS-OXCPRPT 3.2.5.1): values above PropertySizeLimit are
/// ecMAPIOOM in a flagged row.
pub(super) fn get_specific(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &GetPropertiesSpecificRequest,
) -> Step {
    let rop = RopId::GET_PROPERTIES_SPECIFIC;
    let idx = q.input_handle_index;
    let result = (|| {
        let h = slot(handles, idx)?;
        let cells = msgobj::object_cells(ctx, h)?;
        let bag = msgobj::object_bag(ctx, h, false)?;
        let limit = msgobj::effective_limit(q.property_size_limit);
        let values = msgobj::project(
            ctx,
            bag,
            &cells,
            &q.property_tags,
            q.want_unicode != 0,
            limit,
        )?;
        Ok(GetPropertiesSpecificResponse {
            input_handle_index: idx,
            tags: q.property_tags.clone(),
            row: PropertyRow::from_values(values),
        })
    })();
    match result {
        Ok(resp) => reply(rop, idx, &resp),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopGetPropertiesAll (MS-OXCPRPT 3.2.5.2): values above the limit come back as
/// PtypErrorCode ecMAPIOOM.
pub(super) fn get_all(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &GetPropertiesAllRequest,
) -> Step {
    let rop = RopId::GET_PROPERTIES_ALL;
    let idx = q.input_handle_index;
    let result = (|| {
        let h = slot(handles, idx)?;
        let cells = msgobj::object_cells(ctx, h)?;
        let bag = msgobj::object_bag(ctx, h, false)?;
        let limit = msgobj::effective_limit(q.property_size_limit);
        let mut values = Vec::with_capacity(cells.len());
        for (tag, _) in &cells {
            let want = if q.want_unicode == 0 && tag.ty() == PropertyType::UNICODE {
                tag.with_type(PropertyType::STRING8)
            } else {
                *tag
            };
            let v = msgobj::project(ctx, bag, &cells, &[want], q.want_unicode != 0, limit)?;
            values.push(match v.into_iter().next() {
                Some(RowValue::Value(v)) => TaggedPropertyValue::new(*tag, v),
                Some(RowValue::Error(_, e)) => {
                    TaggedPropertyValue::new(*tag, PropertyValue::Error(e))
                }
                _ => continue,
            });
        }
        Ok(GetPropertiesAllResponse {
            input_handle_index: idx,
            values,
        })
    })();
    match result {
        Ok(resp) => reply(rop, idx, &resp),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopGetPropertiesList (MS-OXCPRPT 3.2.5.3).
pub(super) fn get_list(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &GetPropertiesListRequest,
) -> Step {
    let rop = RopId::GET_PROPERTIES_LIST;
    let idx = q.input_handle_index;
    let result = (|| {
        let cells = msgobj::object_cells(ctx, slot(handles, idx)?)?;
        Ok(GetPropertiesListResponse {
            input_handle_index: idx,
            property_tags: cells.into_iter().map(|(t, _)| t).collect(),
        })
    })();
    match result {
        Ok(resp) => reply(rop, idx, &resp),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// Property IDs the server computes; setting or deleting them is ecAccessDenied.
fn computed_only(tag: PropertyTag) -> bool {
    [
        tags::PidTagMid,
        tags::PidTagFolderId,
        tags::PidTagEntryId,
        tags::PidTagRecordKey,
        tags::PidTagInstanceKey,
        tags::PidTagMessageSize,
        tags::PidTagMessageSizeExtended,
        tags::PidTagHasAttachments,
        tags::PidTagObjectType,
        tags::PidTagAttachNumber,
        tags::PidTagAttachSize,
        tags::PidTagParentEntryId,
    ]
    .iter()
    .any(|t| t.id() == tag.id())
}

/// RopSetProperties (MS-OXCPRPT 3.2.5.5) on a Message (into its working copy) or an
/// Attachment.
pub(super) fn set_props(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &SetPropertiesRequest,
    room: usize,
) -> Step {
    let rop = RopId::SET_PROPERTIES;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM + 10 * q.values.len() {
        return Step::NoRoom(WRITE_ROOM + 10 * q.values.len());
    }
    let result = (|| {
        let bag = msgobj::object_bag(ctx, slot(handles, idx)?, true)?;
        let mut problems = Vec::new();
        ctx.with_conn(|c| {
            tx::write(c, |c| {
                for (i, tv) in q.values.iter().enumerate() {
                    if computed_only(tv.tag) {
                        problems.push(PropertyProblem {
                            index: u16::try_from(i).unwrap_or(u16::MAX),
                            tag: tv.tag,
                            error: ErrorCode::NO_ACCESS,
                        });
                        continue;
                    }
                    m::put_prop(c, bag.mailbox_id, bag.kind, bag.id, tv.tag, &tv.value)?;
                }
                Ok(())
            })
        })?;
        Ok(SetPropertiesResponse {
            input_handle_index: idx,
            problems,
        })
    })();
    match result {
        Ok(resp) => reply(rop, idx, &resp),
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopDeleteProperties (MS-OXCPRPT 3.2.5.7).
pub(super) fn delete_props(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &DeletePropertiesRequest,
    room: usize,
) -> Step {
    let rop = RopId::DELETE_PROPERTIES;
    let idx = q.input_handle_index;
    if room < WRITE_ROOM + 10 * q.property_tags.len() {
        return Step::NoRoom(WRITE_ROOM + 10 * q.property_tags.len());
    }
    let result = (|| {
        let bag = msgobj::object_bag(ctx, slot(handles, idx)?, true)?;
        let mut problems = Vec::new();
        ctx.with_conn(|c| {
            for (i, tag) in q.property_tags.iter().enumerate() {
                if computed_only(*tag) {
                    problems.push(PropertyProblem {
                        index: u16::try_from(i).unwrap_or(u16::MAX),
                        tag: *tag,
                        error: ErrorCode::NO_ACCESS,
                    });
                    continue;
                }
                m::delete_prop(c, bag.mailbox_id, bag.kind, bag.id, tag.id())?;
            }
            Ok(())
        })?;
        Ok(DeletePropertiesResponse {
            input_handle_index: idx,
            problems,
        })
    })();
    match result {
        Ok(resp) => reply(rop, idx, &resp),
        Err(ec) => fail(rop, idx, ec),
    }
}

// ---------------------------------------------------------------------------------------
// Named properties (MS-OXCPRPT 3.2.5.8, 3.2.5.9)
// ---------------------------------------------------------------------------------------

/// The mailbox of the object behind an input handle (any kind).
fn mailbox_of(ctx: &MailboxContext, handle: u32) -> Result<i64, ErrorCode> {
    Ok(ctx.handles.get(handle)?.mailbox_id())
}

fn named(n: &PropertyName) -> Option<NamedProp> {
    match &n.kind {
        PropertyNameKind::Lid(l) => Some(NamedProp::Lid(n.guid, *l)),
        PropertyNameKind::Name(s) => Some(NamedProp::Name(n.guid, s.clone())),
        PropertyNameKind::NoName => None,
    }
}

/// RopGetPropertyIdsFromNames: IDs ≥ 0x8000 per mailbox, created with flag 0x02
/// (MS-OXCPRPT 2.2.12.1); an unmapped name is 0 and the ROP returns ecWarnWithErrors.
pub(super) fn ids_from_names(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &GetPropertyIdsFromNamesRequest,
) -> Step {
    let rop = RopId::GET_PROPERTY_IDS_FROM_NAMES;
    let idx = q.input_handle_index;
    let create = q.flags & 0x02 != 0;
    let result = (|| {
        let mb = mailbox_of(ctx, slot(handles, idx)?)?;
        ctx.with_conn(|c| {
            let mut ids = Vec::with_capacity(q.property_names.len());
            for n in &q.property_names {
                let id = match (&n.kind, named(n)) {
                    (PropertyNameKind::Lid(l), _) if n.guid == PS_MAPI => u16::try_from(*l).ok(),
                    (_, Some(name)) => m::id_of(c, mb, &name, create)?,
                    (_, None) => None,
                };
                ids.push(id.unwrap_or(0));
            }
            Ok(ids)
        })
    })();
    match result {
        Ok(ids) => {
            let return_value = if ids.contains(&0) {
                GetPropertyIdsFromNamesResponse::WARN_WITH_ERRORS
            } else {
                ErrorCode::SUCCESS
            };
            reply(
                rop,
                idx,
                &GetPropertyIdsFromNamesResponse {
                    input_handle_index: idx,
                    return_value,
                    property_ids: ids,
                },
            )
        }
        Err(ec) => fail(rop, idx, ec),
    }
}

/// RopGetNamesFromPropertyIds: IDs below 0x8000 are PS_MAPI LIDs; unknown IDs are
/// Kind 0xFF (no name).
pub(super) fn names_from_ids(
    ctx: &mut MailboxContext,
    handles: &[u32],
    q: &GetNamesFromPropertyIdsRequest,
) -> Step {
    let rop = RopId::GET_NAMES_FROM_PROPERTY_IDS;
    let idx = q.input_handle_index;
    let result = (|| {
        let mb = mailbox_of(ctx, slot(handles, idx)?)?;
        ctx.with_conn(|c| {
            let mut names = Vec::with_capacity(q.property_ids.len());
            for &id in &q.property_ids {
                names.push(if id < 0x8000 {
                    PropertyName {
                        guid: PS_MAPI,
                        kind: PropertyNameKind::Lid(u32::from(id)),
                    }
                } else {
                    match m::name_of(c, mb, id)? {
                        Some(NamedProp::Lid(guid, lid)) => PropertyName {
                            guid,
                            kind: PropertyNameKind::Lid(lid),
                        },
                        Some(NamedProp::Name(guid, s)) => PropertyName {
                            guid,
                            kind: PropertyNameKind::Name(s),
                        },
                        None => PropertyName {
                            guid: [0; 16],
                            kind: PropertyNameKind::NoName,
                        },
                    }
                });
            }
            Ok(names)
        })
    })();
    match result {
        Ok(names) => reply(
            rop,
            idx,
            &GetNamesFromPropertyIdsResponse {
                input_handle_index: idx,
                property_names: names,
            },
        ),
        Err(ec) => fail(rop, idx, ec),
    }
}
