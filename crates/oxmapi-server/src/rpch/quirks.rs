//! Interop quirks of NSPI request stubs.
//!
//! `quirk_unique_stat`: MS-OXNSPI 3.1.4.1.3 and 3.1.4.1.7 declare `[in] STAT* pStat` (and
//! `[in, out] DWORD* lpVersion`), top-level `[ref]` pointers without a referent ID on the wire,
//! which is what `oxmapi_wire` decodes. impacket (0.13.1, `nspi.py`) marshals them as unique
//! pointers (referent ID, then the pointee), like MS-NSPI's variant of the IDL. When the
//! standard decoding fails, NspiGetSpecialTable and NspiGetProps are tried in that form.
//!
//! `quirk_tag_count`: impacket's `hNspiGetProps` sends a PropertyTagArray_r whose cValues is
//! one more than the tags it carries (and MaxCount equal to them); the quirk decoder trusts
//! the conformant/varying counts (MaxCount ≥ ActualCount, Offset 0) and ignores cValues.

use oxmapi_wire::data::PropertyTag;
use oxmapi_wire::dcerpc::ndr::NdrReader;
use oxmapi_wire::dcerpc::nspi::{NspiGetPropsRequest, NspiGetSpecialTableRequest};
use oxmapi_wire::dcerpc::nspi_types::Stat;
use oxmapi_wire::{DecodeError, DecodeResult};

/// NspiGetSpecialTable with `[unique] STAT*` and `[unique] DWORD*` (a null lpVersion is 0).
pub(crate) fn special_table_unique(stub: &[u8]) -> DecodeResult<NspiGetSpecialTableRequest> {
    let mut r = NdrReader::new(stub);
    let handle = r.context_handle("hRpc")?;
    let flags = r.u32("dwFlags")?;
    let stat = unique_stat(&mut r)?;
    let version = if r.pointer("lpVersion")? {
        r.u32("*lpVersion")?
    } else {
        0
    };
    r.finish("stub")?;
    Ok(NspiGetSpecialTableRequest {
        handle,
        flags,
        stat,
        version,
    })
}

/// NspiGetProps with `[unique] STAT*`.
pub(crate) fn get_props_unique(stub: &[u8]) -> DecodeResult<NspiGetPropsRequest> {
    let mut r = NdrReader::new(stub);
    let handle = r.context_handle("hRpc")?;
    let flags = r.u32("dwFlags")?;
    let stat = unique_stat(&mut r)?;
    let prop_tags = lenient_opt_tags(&mut r)?;
    r.finish("stub")?;
    Ok(NspiGetPropsRequest {
        handle,
        flags,
        stat,
        prop_tags,
    })
}

/// A `[unique] PropertyTagArray_r*` whose cValues is not checked against ActualCount.
fn lenient_opt_tags(r: &mut NdrReader<'_>) -> DecodeResult<Option<Vec<PropertyTag>>> {
    if !r.pointer("pPropTags")? {
        return Ok(None);
    }
    let max = r.u32("MaxCount")?;
    r.u32("cValues")?;
    let at = r.offset();
    let offset = r.u32("Offset")?;
    let actual = r.u32("ActualCount")?;
    if offset != 0 || actual > max || actual as usize > r.remaining() / 4 {
        return Err(DecodeError::invalid(
            "ActualCount",
            at,
            "does not fit MaxCount or the stub",
        ));
    }
    (0..actual)
        .map(|_| r.u32("aulPropTag").map(PropertyTag))
        .collect::<DecodeResult<Vec<_>>>()
        .map(Some)
}

fn unique_stat(r: &mut NdrReader<'_>) -> DecodeResult<Stat> {
    if r.pointer("pStat")? {
        Stat::read(r)
    } else {
        Ok(Stat::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmapi_wire::dcerpc::ndr::NdrCodec;

    /// The stub impacket 0.13.1 sends for `hNspiGetSpecialTable(dce, h)`: handle, dwFlags
    /// NspiUnicodeStrings, referent 0xf013 + a zero STAT, null lpVersion.
    fn impacket_special_table() -> Vec<u8> {
        let mut s = vec![0u8; 20];
        s.extend(4u32.to_le_bytes());
        s.extend(0xf013u32.to_le_bytes());
        s.extend([0u8; 36]);
        s.extend(0u32.to_le_bytes());
        s
    }

    #[test]
    fn impacket_special_table_decodes_only_with_the_quirk() {
        let stub = impacket_special_table();
        assert!(NspiGetSpecialTableRequest::from_stub(&stub).is_err());
        let req = special_table_unique(&stub).unwrap();
        assert_eq!(req.flags, 4);
        assert_eq!(req.version, 0);
        assert_eq!(req.stat, Stat::default());
        for cut in 0..stub.len() {
            assert!(special_table_unique(&stub[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn get_props_with_unique_stat() {
        let mut stub = vec![0u8; 20];
        stub.extend(0u32.to_le_bytes());
        stub.extend(0x2000u32.to_le_bytes());
        let mut stat = [0u8; 36];
        stat[8..12].copy_from_slice(&0x1001u32.to_le_bytes());
        stub.extend(stat);
        // pPropTags as impacket sends it: referent, MaxCount 1, cValues 2 (!), Offset 0,
        // ActualCount 1, one tag.
        for v in [0x5c8du32, 1, 2, 0, 1, 0x3001_001F] {
            stub.extend(v.to_le_bytes());
        }
        assert!(NspiGetPropsRequest::from_stub(&stub).is_err());
        let req = get_props_unique(&stub).unwrap();
        assert_eq!(req.stat.current_rec, 0x1001);
        assert_eq!(req.prop_tags.unwrap()[0].0, 0x3001_001F);
        for cut in 0..stub.len() {
            assert!(get_props_unique(&stub[..cut]).is_err(), "cut at {cut}");
        }
    }
}
