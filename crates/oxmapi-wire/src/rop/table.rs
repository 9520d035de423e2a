//! Table ROPs (MS-OXCROPS 2.2.5, semantics in MS-OXCTABL).

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor, count_u16};
use crate::data::{ErrorCode, PropertyRow, PropertyTag, Restriction, ValueContext};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeError, EncodeResult};
use crate::rop::wire::{
    RopId, WireField, expect_rop_id, read_tags, rop_request, rop_response, write_response_header,
    write_tags,
};

/// MS-OXCROPS 2.2.5.1.1 RopSetColumns request.
///
/// [MS-OXCROPS 2.2.5.1.1](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/f778bf74-f995-4fdc-bca1-1f328e02c0d4)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetColumnsRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the table.
    pub input_handle_index: u8,
    /// SetColumnsFlags (0x00 TBL_SYNC, 0x01 TBL_ASYNC).
    pub set_columns_flags: u8,
    /// PropertyTags: the new column set.
    pub property_tags: Vec<PropertyTag>,
}

impl SetColumnsRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::SET_COLUMNS;
}

impl Decode for SetColumnsRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                logon_id: r.u8("LogonId")?,
                input_handle_index: r.u8("InputHandleIndex")?,
                set_columns_flags: r.u8("SetColumnsFlags")?,
                property_tags: read_tags(r, "PropertyTagCount")?,
            })
        })()
        .within("RopSetColumns request")
    }
}

impl Encode for SetColumnsRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        w.u8(self.set_columns_flags);
        write_tags(
            w,
            &self.property_tags,
            "RopSetColumns request",
            "PropertyTagCount",
        )
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.5.1.2 RopSetColumns response.
    pub struct SetColumnsResponse = RopId::SET_COLUMNS {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
        /// TableStatus (0x00 TBLSTAT_COMPLETE, 0x0B SETTING_COLS, ...).
        pub table_status: u8 => "TableStatus",
    }
}

/// SortOrder (MS-OXCDATA 2.13.1): a column and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SortOrder {
    /// PropertyType (low 16 bits) and PropertyId (high 16 bits), as a tag.
    pub tag: PropertyTag,
    /// Order: 0x00 Ascending, 0x01 Descending, 0x04 MaximumCategory.
    pub order: u8,
}

/// SortOrderSet (MS-OXCDATA 2.13.2).
///
/// [MS-OXCDATA 2.13.2](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcdata/)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SortOrderSet {
    /// CategorizedCount: leading sort orders that are categories (≤ SortOrderCount).
    pub categorized_count: u16,
    /// ExpandedCount: categories expanded (≤ CategorizedCount).
    pub expanded_count: u16,
    /// SortOrders (SortOrderCount of them).
    pub sort_orders: Vec<SortOrder>,
}

impl SortOrderSet {
    /// Decodes a SortOrderSet.
    pub fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            let count = usize::from(r.u16("SortOrderCount")?);
            let at = r.offset();
            let categorized_count = r.u16("CategorizedCount")?;
            let expanded_count = r.u16("ExpandedCount")?;
            if usize::from(categorized_count) > count {
                return Err(DecodeError::invalid(
                    "CategorizedCount",
                    at,
                    format!("{categorized_count} is more than SortOrderCount {count}"),
                ));
            }
            if expanded_count > categorized_count {
                return Err(DecodeError::invalid(
                    "ExpandedCount",
                    at + 2,
                    format!("{expanded_count} is more than CategorizedCount {categorized_count}"),
                ));
            }
            r.ensure(count * 5, "SortOrders")?;
            let sort_orders = (0..count)
                .map(|_| {
                    Ok(SortOrder {
                        tag: PropertyTag::read(r, "PropertyType/PropertyId")?,
                        order: r.u8("Order")?,
                    })
                })
                .collect::<DecodeResult<_>>()?;
            Ok(Self {
                categorized_count,
                expanded_count,
                sort_orders,
            })
        })()
        .within("SortOrderSet")
    }

    /// Encodes the set.
    pub fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        const S: &str = "SortOrderSet";
        let count = count_u16(self.sort_orders.len(), S, "SortOrderCount")?;
        if self.categorized_count > count || self.expanded_count > self.categorized_count {
            return Err(EncodeError::Invalid {
                structure: S,
                field: "CategorizedCount",
                detail: "need ExpandedCount <= CategorizedCount <= SortOrderCount".into(),
            });
        }
        w.u16(count);
        w.u16(self.categorized_count);
        w.u16(self.expanded_count);
        for s in &self.sort_orders {
            s.tag.write(w);
            w.u8(s.order);
        }
        Ok(())
    }
}

/// MS-OXCROPS 2.2.5.2.1 RopSortTable request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SortTableRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the table.
    pub input_handle_index: u8,
    /// SortTableFlags (0x00 TBL_SYNC, 0x01 TBL_ASYNC, 0x02 TBL_BATCH).
    pub sort_table_flags: u8,
    /// The sort order set.
    pub sort_order_set: SortOrderSet,
}

impl SortTableRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::SORT_TABLE;
}

impl Decode for SortTableRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            Ok(Self {
                logon_id: r.u8("LogonId")?,
                input_handle_index: r.u8("InputHandleIndex")?,
                sort_table_flags: r.u8("SortTableFlags")?,
                sort_order_set: SortOrderSet::decode(r)?,
            })
        })()
        .within("RopSortTable request")
    }
}

impl Encode for SortTableRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        w.u8(self.sort_table_flags);
        self.sort_order_set.encode(w)
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.5.2.2 RopSortTable response.
    pub struct SortTableResponse = RopId::SORT_TABLE {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
        /// TableStatus.
        pub table_status: u8 => "TableStatus",
    }
}

/// MS-OXCROPS 2.2.5.3.1 RopRestrict request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RestrictRequest {
    /// LogonId.
    pub logon_id: u8,
    /// InputHandleIndex: the table.
    pub input_handle_index: u8,
    /// RestrictFlags (0x00 TBL_SYNC, 0x01 TBL_ASYNC, 0x02 TBL_BATCH).
    pub restrict_flags: u8,
    /// RestrictionData (MS-OXCDATA 2.12); `None` when RestrictionDataSize is 0 (remove the
    /// restriction).
    pub restriction: Option<Restriction>,
}

impl RestrictRequest {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::RESTRICT;
}

impl Decode for RestrictRequest {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            expect_rop_id(r, Self::ROP_ID)?;
            let logon_id = r.u8("LogonId")?;
            let input_handle_index = r.u8("InputHandleIndex")?;
            let restrict_flags = r.u8("RestrictFlags")?;
            let size = usize::from(r.u16("RestrictionDataSize")?);
            let restriction = if size == 0 {
                None
            } else {
                let mut s = r.sub(size, "RestrictionData")?;
                let res = Restriction::decode(&mut s, ValueContext::Rop)?;
                s.finish("RestrictionData")?;
                Some(res)
            };
            Ok(Self {
                logon_id,
                input_handle_index,
                restrict_flags,
                restriction,
            })
        })()
        .within("RopRestrict request")
    }
}

impl Encode for RestrictRequest {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u8(Self::ROP_ID.0);
        w.u8(self.logon_id);
        w.u8(self.input_handle_index);
        w.u8(self.restrict_flags);
        let at = w.reserve_u16();
        if let Some(res) = &self.restriction {
            res.encode(w, ValueContext::Rop)?;
        }
        let size = w.len() - at - 2;
        w.patch_u16(at, size, "RopRestrict request", "RestrictionDataSize")
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.5.3.2 RopRestrict response.
    pub struct RestrictResponse = RopId::RESTRICT {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
        /// TableStatus.
        pub table_status: u8 => "TableStatus",
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.5.4.1 RopQueryRows request.
    ///
    /// [MS-OXCROPS 2.2.5.4.1](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrops/c575087a-1faa-49b5-8144-c9aee7684e52)
    pub struct QueryRowsRequest = RopId::QUERY_ROWS, "RopQueryRows request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the table.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// QueryRowsFlags (0x00 Advance, 0x01 NoAdvance, 0x02 EnablePackedBuffers).
        pub query_rows_flags: u8 => "QueryRowsFlags",
        /// ForwardRead (non-zero: read forward).
        pub forward_read: u8 => "ForwardRead",
        /// RowCount: the most rows to return.
        pub row_count: u16 => "RowCount",
    }
}

/// MS-OXCROPS 2.2.5.4.2 RopQueryRows success response.
///
/// `columns` is not on the wire: it is the table's column set, filled from the
/// [`ResponseContext`](crate::rop::ResponseContext) when decoding and used to lay the rows out
/// when encoding.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryRowsResponse {
    /// InputHandleIndex, as in the request.
    pub input_handle_index: u8,
    /// Origin: 0x00 BOOKMARK_BEGINNING, 0x01 BOOKMARK_CURRENT, 0x02 BOOKMARK_END.
    pub origin: u8,
    /// The column set the rows follow (not sent).
    pub columns: Vec<PropertyTag>,
    /// RowData: RowCount PropertyRows.
    pub rows: Vec<PropertyRow>,
}

impl QueryRowsResponse {
    /// This ROP's RopId.
    pub const ROP_ID: RopId = RopId::QUERY_ROWS;

    pub(crate) fn decode_body(
        r: &mut ReadCursor<'_>,
        input_handle_index: u8,
        columns: &[PropertyTag],
    ) -> DecodeResult<Self> {
        let origin = r.u8("Origin")?;
        let count = usize::from(r.u16("RowCount")?);
        // Every row has at least its Flag byte.
        r.ensure(count, "RowData")?;
        let rows = (0..count)
            .map(|_| PropertyRow::decode(r, columns, ValueContext::Rop))
            .collect::<DecodeResult<_>>()?;
        Ok(Self {
            input_handle_index,
            origin,
            columns: columns.to_vec(),
            rows,
        })
    }
}

impl Encode for QueryRowsResponse {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        write_response_header(w, Self::ROP_ID, self.input_handle_index, ErrorCode::SUCCESS);
        w.u8(self.origin);
        w.u16(count_u16(
            self.rows.len(),
            "RopQueryRows response",
            "RowCount",
        )?);
        for row in &self.rows {
            row.encode(w, &self.columns, ValueContext::Rop)?;
        }
        Ok(())
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.5.7.1 RopQueryPosition request.
    pub struct QueryPositionRequest = RopId::QUERY_POSITION, "RopQueryPosition request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the table.
        pub input_handle_index: u8 => "InputHandleIndex",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.5.7.2 RopQueryPosition success response.
    pub struct QueryPositionResponse = RopId::QUERY_POSITION {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
        /// Numerator: the current row.
        pub numerator: u32 => "Numerator",
        /// Denominator: rows in the table.
        pub denominator: u32 => "Denominator",
    }
}

rop_request! {
    /// MS-OXCROPS 2.2.5.8.1 RopSeekRow request.
    pub struct SeekRowRequest = RopId::SEEK_ROW, "RopSeekRow request" {
        /// LogonId.
        pub logon_id: u8 => "LogonId",
        /// InputHandleIndex: the table.
        pub input_handle_index: u8 => "InputHandleIndex",
        /// Origin: 0x00 BOOKMARK_BEGINNING, 0x01 BOOKMARK_CURRENT, 0x02 BOOKMARK_END.
        pub origin: u8 => "Origin",
        /// RowCount: rows to move (negative: backwards).
        pub row_count: i32 => "RowCount",
        /// WantRowMovedCount (boolean byte).
        pub want_row_moved_count: u8 => "WantRowMovedCount",
    }
}

rop_response! {
    /// MS-OXCROPS 2.2.5.8.2 RopSeekRow success response.
    pub struct SeekRowResponse = RopId::SEEK_ROW {
        /// InputHandleIndex, as in the request.
        pub input_handle_index: u8;
        /// HasSoughtLess (boolean byte).
        pub has_sought_less: u8 => "HasSoughtLess",
        /// RowsSought.
        pub rows_sought: i32 => "RowsSought",
    }
}
