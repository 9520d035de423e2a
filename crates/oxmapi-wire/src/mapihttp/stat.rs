//! The STAT block (MS-OXNSPI 2.2.8): a position in an address book container.
//!
//! One type for both transports: MAPI/HTTP bodies carry it as 36 little-endian bytes
//! ([`Decode`]/[`Encode`] here), NSPI NDR stubs in the same layout
//! (`Stat::read`/`Stat::write` in [`crate::dcerpc::nspi_types`], which re-exports it).
//!
//! [MS-OXNSPI 2.2.8 STAT](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxnspi/df2b3acf-c85a-43aa-af8f-3397bed6b2a9)

use crate::cursor::{Decode, Encode, ReadCursor, WriteCursor};
use crate::error::{DecodeContext, DecodeResult, EncodeResult};

/// STAT (MS-OXNSPI 2.2.8), 36 bytes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Stat {
    /// SortType: 0 SortTypeDisplayName, 1 SortTypePhoneticDisplayName, ...
    pub sort_type: u32,
    /// ContainerID: the MId of the container (0 = the GAL).
    pub container_id: u32,
    /// CurrentRec: MId of the current row (0 = MID_BEGINNING_OF_TABLE, 2 = MID_END_OF_TABLE).
    pub current_rec: u32,
    /// Delta: signed offset from CurrentRec.
    pub delta: i32,
    /// NumPos: approximate fractional position.
    pub num_pos: u32,
    /// TotalRecs: rows in the table.
    pub total_recs: u32,
    /// CodePage.
    pub code_page: u32,
    /// TemplateLocale: LCID for templates.
    pub template_locale: u32,
    /// SortLocale: LCID for sorting.
    pub sort_locale: u32,
}

impl Stat {
    /// Size on the wire: nine 32-bit fields.
    pub const FIXED_PART_SIZE: usize = 9 * 4;

    /// CurrentRec MID_BEGINNING_OF_TABLE (MS-OXNSPI 2.2.1.8).
    pub const MID_BEGINNING_OF_TABLE: u32 = 0x0000_0000;
    /// CurrentRec MID_END_OF_TABLE.
    pub const MID_END_OF_TABLE: u32 = 0x0000_0002;
    /// CurrentRec MID_CURRENT.
    pub const MID_CURRENT: u32 = 0x0000_0001;
}

impl Decode for Stat {
    fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        (|| {
            Ok(Self {
                sort_type: r.u32("SortType")?,
                container_id: r.u32("ContainerID")?,
                current_rec: r.u32("CurrentRec")?,
                delta: r.i32("Delta")?,
                num_pos: r.u32("NumPos")?,
                total_recs: r.u32("TotalRecs")?,
                code_page: r.u32("CodePage")?,
                template_locale: r.u32("TemplateLocale")?,
                sort_locale: r.u32("SortLocale")?,
            })
        })()
        .within("STAT")
    }
}

impl Encode for Stat {
    fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u32(self.sort_type);
        w.u32(self.container_id);
        w.u32(self.current_rec);
        w.i32(self.delta);
        w.u32(self.num_pos);
        w.u32(self.total_recs);
        w.u32(self.code_page);
        w.u32(self.template_locale);
        w.u32(self.sort_locale);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcerpc::ndr::{NdrReader, NdrWriter};

    /// The MAPI/HTTP and the NDR form are the same 36 bytes (MS-OXNSPI 2.2.8), and each
    /// reads back what the other wrote.
    #[test]
    fn mapihttp_and_ndr_forms_agree() {
        let stat = Stat {
            sort_type: 1,
            container_id: 2,
            current_rec: 0x1001,
            delta: -3,
            num_pos: 4,
            total_recs: 5,
            code_page: 1252,
            template_locale: 0x409,
            sort_locale: 0x407,
        };
        let mut w = WriteCursor::new();
        stat.encode(&mut w).unwrap();
        let http = w.into_inner();
        let mut n = NdrWriter::new();
        stat.write(&mut n);
        let ndr = n.into_bytes();
        assert_eq!(http, ndr);
        assert_eq!(http.len(), Stat::FIXED_PART_SIZE);
        assert_eq!(Stat::SIZE, Stat::FIXED_PART_SIZE);
        assert_eq!(Stat::read(&mut NdrReader::new(&http)).unwrap(), stat);
        assert_eq!(Stat::decode(&mut ReadCursor::new(&ndr)).unwrap(), stat);
        assert_eq!(&http[12..16], &(-3i32).to_le_bytes());
    }
}
