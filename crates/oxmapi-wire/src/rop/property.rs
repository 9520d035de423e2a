//! Property ROPs (MS-OXCROPS 2.2.8, semantics in MS-OXCPRPT) and PropertyName (MS-OXCDATA 2.6.1).

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u16};
use crate::data::{
    ErrorCode, PropertyProblem, PropertyRow, PropertyTag, TaggedPropertyValue, ValueContext,
};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeError, EncodeResult};
use crate::rop::wire::{
    RopId, expect_rop_id, read_tags, rop_request, write_response_header, write_tags, write_utf16_z,
};

/// MS-OXCROPS 2.2.8.3.1 RopGetPropertiesSpecific request.
///
/// [MS-OXCROPS 2.2.8.3](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/dd6d164d-12ab-4cf4-ade3-dd14b295780d)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetPropertiesSpecificRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the object.
    pub input_handle_index: u8,
    /// PropertySizeLimit (0: no limit).
    pub property_size_limit: u16,
    /// WantUnicode (non-zero: PtypUnspecified strings as PtypString).
    pub want_unicode: u16,
    /// PropertyTags to read.
    pub property_tags: Vec<PropertyTag>,
}

impl GetPropertiesSpecificRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::GET_PROPERTIES_SPECIFIC;
}

impl Decode for GetPropertiesSpecificRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                logon_id: r.u8("LogonId")?,
                input_handle_index: r.u8("InputHandleIndex")?,
                property_size_limit: r.u16("PropertySizeLimit")?,
                want_unicode: r.u16("WantUnicode")?,
                property_tags: read_tags(r, "PropertyTagCount")?,
            })
        })()
        .within("RopGetPropertiesSpecific request")
    }
}

impl Encode for GetPropertiesSpecificRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        w.u16(self.property_size_limit);
        w.u16(self.want_unicode);
        write_tags(
            w,
            &self.property_tags,
            "RopGetPropertiesSpecific request",
            "PropertyTagCount",
        )
    }
}

/// MS-OXCROPS 2.2.8.3.2 RopGetPropertiesSpecific success response: one PropertyRow.
///
/// `tags` is not on the wire: the requested tags, filled from the context when decoding and
/// used for the row layout when encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct GetPropertiesSpecificResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// The requested tags (not sent).
    pub tags: Vec<PropertyTag>,
    /// RowData: the values in request order.
    pub row: PropertyRow,
}

impl GetPropertiesSpecificResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::GET_PROPERTIES_SPECIFIC;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
        tags: &[PropertyTag],
    ) -> DecodeResult<Self> {
        Ok(Self {
            input_handle_index,
            tags: tags.to_vec(),
            row: PropertyRow::decode(r, tags, ValueContext::Rop)?,
        })
    }
}

impl Encode for GetPropertiesSpecificResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(w, Self::ROP_ID, self.input_handle_index, ErrorCode::SUCCESS);
        self.row.encode(w, &self.tags, ValueContext::Rop)
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.8.4.1 RopGetPropertiesAll request.
    pub struct GetPropertiesAllRequest = RopId::GET_PROPERTIES_ALL, "RopGetPropertiesAll request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the object.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// PropertySizeLimit (0: no limit).
        pub property_size_limit: u16 => "PropertySizeLimit",
        /// WantUnicode.
        pub want_unicode: u16 => "WantUnicode",
    }
}

/// MS-OXCROPS 2.2.8.4.2 RopGetPropertiesAll success response.
///
/// [MS-OXCROPS 2.2.8.4.2](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/27d4dcc2-4922-4cbf-9c72-c675d6c98ec5)
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GetPropertiesAllResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// PropertyValues.
    pub values: Vec<TaggedPropertyValue>,
}

impl GetPropertiesAllResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::GET_PROPERTIES_ALL;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
    ) -> DecodeResult<Self> {
        Ok(Self {
            input_handle_index,
            values: read_tagged_values(r)?,
        })
    }
}

impl Encode for GetPropertiesAllResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(w, Self::ROP_ID, self.input_handle_index, ErrorCode::SUCCESS);
        write_tagged_values(w, &self.values, "RopGetPropertiesAll response")
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.8.5.1 RopGetPropertiesList request.
    pub struct GetPropertiesListRequest = RopId::GET_PROPERTIES_LIST, "RopGetPropertiesList request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the object.
        pub input_handle_index: u8 => "InputHandleIndex",
    }
}

/// MS-OXCROPS 2.2.8.5.2 RopGetPropertiesList success response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetPropertiesListResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// PropertyTags present on the object.
    pub property_tags: Vec<PropertyTag>,
}

impl GetPropertiesListResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::GET_PROPERTIES_LIST;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
    ) -> DecodeResult<Self> {
        Ok(Self {
            input_handle_index,
            property_tags: read_tags(r, "PropertyTagCount")?,
        })
    }
}

impl Encode for GetPropertiesListResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(w, Self::ROP_ID, self.input_handle_index, ErrorCode::SUCCESS);
        write_tags(
            w,
            &self.property_tags,
            "RopGetPropertiesList response",
            "PropertyTagCount",
        )
    }
}

/// MS-OXCROPS 2.2.8.6.1 RopSetProperties request.
///
/// [MS-OXCROPS 2.2.8.6](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/c7b3e546-4f5e-4fe6-a932-8734c5f2369d)
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetPropertiesRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the object.
    pub input_handle_index: u8,
    /// PropertyValues (PropertyValueSize and PropertyValueCount are derived).
    pub values: Vec<TaggedPropertyValue>,
}

impl SetPropertiesRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::SET_PROPERTIES;
}

impl Decode for SetPropertiesRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            let logon_id = r.u8("LogonId")?;
            let input_handle_index = r.u8("InputHandleIndex")?;
            let size = usize::from(r.u16("PropertyValueSize")?);
            let mut s = r.sub(size, "PropertyValues")?;
            let values = read_tagged_values(&mut s)?;
            s.finish("PropertyValues")?;
            Ok(Self {
                logon_id,
                input_handle_index,
                values,
            })
        })()
        .within("RopSetProperties request")
    }
}

impl Encode for SetPropertiesRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "RopSetProperties request";
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        let at = w.reserve_u16();
        write_tagged_values(w, &self.values, S)?;
        let size = w.len() - at - 2;
        w.patch_u16(at, size, S, "PropertyValueSize")
    }
}

/// PropertyProblemCount (u16) + PropertyProblems, the tail of the RopSetProperties and
/// RopDeleteProperties responses (MS-OXCROPS 2.2.8.6.2, 2.2.8.8.2).
pub(crate) fn decode_problems(r: &mut ReadCursor<'_>) -> DecodeResult<Vec<PropertyProblem>> {
    let n = usize::from(r.u16("PropertyProblemCount")?);
    r.ensure(n * 10, "PropertyProblems")?;
    (0..n).map(|_| PropertyProblem::decode(r)).collect()
}

/// Writes what [`decode_problems`] reads.
pub(crate) fn encode_problems(
    w: &mut WriteCursor,
    problems: &[PropertyProblem],
    structure: &'static str,
) -> EncodeResult {
    w.u16(count_u16(
        problems.len(),
        structure,
        "PropertyProblemCount",
    )?);
    for p in problems {
        p.encode(w);
    }
    Ok(())
}

/// MS-OXCROPS 2.2.8.6.2 RopSetProperties success response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetPropertiesResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// PropertyProblems: properties that could not be set.
    pub problems: Vec<PropertyProblem>,
}

impl SetPropertiesResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::SET_PROPERTIES;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
    ) -> DecodeResult<Self> {
        Ok(Self {
            input_handle_index,
            problems: decode_problems(r)?,
        })
    }
}

impl Encode for SetPropertiesResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(w, Self::ROP_ID, self.input_handle_index, ErrorCode::SUCCESS);
        encode_problems(w, &self.problems, "RopSetProperties response")
    }
}

/// What a [`PropertyName`] names the property by (MS-OXCDATA 2.6.1 `Kind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyNameKind {
    /// Kind 0x00: a numeric LID.
    Lid(u32),
    /// Kind 0x01: a string name.
    Name(String),
    /// Kind 0xFF: no name (only in responses, for IDs that have none).
    NoName,
}

/// PropertyName (MS-OXCDATA 2.6.1): a named property's GUID and LID or name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyName {
    /// GUID: the property set.
    pub guid: [u8; 16],
    /// Kind and LID or Name.
    pub kind: PropertyNameKind,
}

impl PropertyName {
    /// Decodes one PropertyName.
    pub fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            let at = r.offset();
            let kind = r.u8("Kind")?;
            let guid = r.guid("GUID")?;
            let kind = match kind {
                0x00 => PropertyNameKind::Lid(r.u32("LID")?),
                0x01 => {
                    let size = usize::from(r.u8("NameSize")?);
                    let mut s = r.sub(size, "Name")?;
                    let name = s.utf16_z("Name")?;
                    s.finish("Name")?;
                    PropertyNameKind::Name(name)
                }
                0xFF => PropertyNameKind::NoName,
                k => {
                    return Err(DecodeError::invalid(
                        "Kind",
                        at,
                        format!(
                            "0x{k:02X} is not 0x00 (LID), 0x01 (Name) or 0xFF (NoPropertyName)"
                        ),
                    ));
                }
            };
            Ok(Self { guid, kind })
        })()
        .within("PropertyName")
    }

    /// Encodes the PropertyName.
    pub fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "PropertyName";
        match &self.kind {
            PropertyNameKind::Lid(lid) => {
                w.u8(0x00);
                w.bytes(&self.guid);
                w.u32(*lid);
            }
            PropertyNameKind::Name(name) => {
                w.u8(0x01);
                w.bytes(&self.guid);
                let size = (name.encode_utf16().count() + 1) * 2;
                let size = u8::try_from(size).map_err(|_| EncodeError::TooLarge {
                    structure: S,
                    field: "NameSize",
                    value: size,
                    max: 255,
                })?;
                w.u8(size);
                write_utf16_z(w, name, S, "Name")?;
            }
            PropertyNameKind::NoName => {
                w.u8(0xFF);
                w.bytes(&self.guid);
            }
        }
        Ok(())
    }
}

/// MS-OXCROPS 2.2.10.1.1 RopGetPropertyIdsFromNames request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetPropertyIdsFromNamesRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the logon or an object.
    pub input_handle_index: u8,
    /// Flags (0x02 Create: assign IDs to unknown names).
    pub flags: u8,
    /// PropertyNames to map.
    pub property_names: Vec<PropertyName>,
}

impl GetPropertyIdsFromNamesRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::GET_PROPERTY_IDS_FROM_NAMES;
}

impl Decode for GetPropertyIdsFromNamesRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                logon_id: r.u8("LogonId")?,
                input_handle_index: r.u8("InputHandleIndex")?,
                flags: r.u8("Flags")?,
                property_names: read_names(r)?,
            })
        })()
        .within("RopGetPropertyIdsFromNames request")
    }
}

impl Encode for GetPropertyIdsFromNamesRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        w.u8(self.flags);
        write_names(
            w,
            &self.property_names,
            "RopGetPropertyIdsFromNames request",
        )
    }
}

/// MS-OXCROPS 2.2.10.1.2 RopGetPropertyIdsFromNames response.
///
/// Sent with ReturnValue 0 or ecWarnWithErrors (0x00040380, some names unmapped; their IDs
/// are 0x0000); both carry the IDs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetPropertyIdsFromNamesResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// ReturnValue: success or ecWarnWithErrors.
    pub return_value: ErrorCode,
    /// PropertyIds, in request order.
    pub property_ids: Vec<u16>,
}

impl GetPropertyIdsFromNamesResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::GET_PROPERTY_IDS_FROM_NAMES;
    /// ecWarnWithErrors: the warning that still carries IDs.
    pub const WARN_WITH_ERRORS: ErrorCode = ErrorCode(0x0004_0380);

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
        return_value: ErrorCode,
    ) -> DecodeResult<Self> {
        let n = usize::from(r.u16("PropertyIdCount")?);
        r.ensure(n * 2, "PropertyIds")?;
        let property_ids = (0..n)
            .map(|_| r.u16("PropertyId"))
            .collect::<DecodeResult<_>>()?;
        Ok(Self {
            input_handle_index,
            return_value,
            property_ids,
        })
    }
}

impl Encode for GetPropertyIdsFromNamesResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "RopGetPropertyIdsFromNames response";
        if self.return_value != ErrorCode::SUCCESS && self.return_value != Self::WARN_WITH_ERRORS {
            return Err(EncodeError::Invalid {
                structure: S,
                field: "ReturnValue",
                detail: format!(
                    "{} is neither success nor ecWarnWithErrors",
                    self.return_value
                ),
            });
        }
        write_response_header(w, Self::ROP_ID, self.input_handle_index, self.return_value);
        w.u16(count_u16(self.property_ids.len(), S, "PropertyIdCount")?);
        for id in &self.property_ids {
            w.u16(*id);
        }
        Ok(())
    }
}

/// MS-OXCROPS 2.2.10.2.1 RopGetNamesFromPropertyIds request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetNamesFromPropertyIdsRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the logon or an object.
    pub input_handle_index: u8,
    /// PropertyIds to look up.
    pub property_ids: Vec<u16>,
}

impl GetNamesFromPropertyIdsRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::GET_NAMES_FROM_PROPERTY_IDS;
}

impl Decode for GetNamesFromPropertyIdsRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            let logon_id = r.u8("LogonId")?;
            let input_handle_index = r.u8("InputHandleIndex")?;
            let n = usize::from(r.u16("PropertyIdCount")?);
            r.ensure(n * 2, "PropertyIds")?;
            let property_ids = (0..n)
                .map(|_| r.u16("PropertyId"))
                .collect::<DecodeResult<_>>()?;
            Ok(Self {
                logon_id,
                input_handle_index,
                property_ids,
            })
        })()
        .within("RopGetNamesFromPropertyIds request")
    }
}

impl Encode for GetNamesFromPropertyIdsRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        w.u16(count_u16(
            self.property_ids.len(),
            "RopGetNamesFromPropertyIds request",
            "PropertyIdCount",
        )?);
        for id in &self.property_ids {
            w.u16(*id);
        }
        Ok(())
    }
}

/// MS-OXCROPS 2.2.10.2.2 RopGetNamesFromPropertyIds success response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetNamesFromPropertyIdsResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// PropertyNames, in request order.
    pub property_names: Vec<PropertyName>,
}

impl GetNamesFromPropertyIdsResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::GET_NAMES_FROM_PROPERTY_IDS;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
    ) -> DecodeResult<Self> {
        Ok(Self {
            input_handle_index,
            property_names: read_names(r)?,
        })
    }
}

impl Encode for GetNamesFromPropertyIdsResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(w, Self::ROP_ID, self.input_handle_index, ErrorCode::SUCCESS);
        write_names(
            w,
            &self.property_names,
            "RopGetNamesFromPropertyIds response",
        )
    }
}

fn read_names(r: &mut ReadCursor<'_>) -> DecodeResult<Vec<PropertyName>> {
    let n = usize::from(r.u16("PropertyNameCount")?);
    // Kind + GUID at least.
    r.ensure(n * 17, "PropertyNames")?;
    (0..n).map(|_| PropertyName::decode(r)).collect()
}

fn write_names(w: &mut WriteCursor, names: &[PropertyName], s: &'static str) -> EncodeResult {
    w.u16(count_u16(names.len(), s, "PropertyNameCount")?);
    names.iter().try_for_each(|n| n.encode(w))
}

fn read_tagged_values(r: &mut ReadCursor<'_>) -> DecodeResult<Vec<TaggedPropertyValue>> {
    let n = usize::from(r.u16("PropertyValueCount")?);
    // A tag at least.
    r.ensure(n * 4, "PropertyValues")?;
    (0..n)
        .map(|_| TaggedPropertyValue::decode(r, ValueContext::Rop))
        .collect()
}

fn write_tagged_values(
    w: &mut WriteCursor,
    values: &[TaggedPropertyValue],
    s: &'static str,
) -> EncodeResult {
    w.u16(count_u16(values.len(), s, "PropertyValueCount")?);
    values
        .iter()
        .try_for_each(|v| v.encode(w, ValueContext::Rop))
}
