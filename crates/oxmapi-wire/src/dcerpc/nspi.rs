//! NSPI call stubs over DCE/RPC: [MS-NSPI 3.1.4](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-nspi/)
//! (interface f5cc5a18-4264-101a-8c59-08002b2f8426 v56.0, [`super::SyntaxId::NSPI`]) and the
//! referral interface of [MS-OXABREF 3.1.4](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxabref/)
//! (1544f5e0-613c-11d1-93df-00c04fd7bd09 v1.0, [`super::SyntaxId::RFR`]).
//!
//! Requests hold the `[in]` parameters and responses the `[out]` parameters plus the return
//! value, in IDL order (MS-NSPI 6, MS-OXABREF 6). The NspiGetMatches Filter is a
//! Restriction_r ([`super::nspi_types::write_restriction`]).

use super::emsmdb::read_opt_string_a;
use super::ndr::{
    ContextHandle, NdrCodec, NdrReader, NdrWriter, latin1_to_string, string_to_latin1,
};
use super::nspi_types::{
    PropertyNameR, PropertyRowR, Stat, read_opt_restriction, read_opt_row_set, read_opt_tags,
    read_opt_u32_array, read_strings_a, read_strings_w, write_opt_restriction, write_opt_row_set,
    write_opt_tags, write_opt_u32_array, write_strings_a, write_strings_w,
};
use super::uuid::Uuid;
use crate::data::{ErrorCode, PropertyTag, Restriction};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeResult};

/// NSPI opnums (MS-NSPI 3.1.4).
pub mod opnum {
    /// NspiBind.
    pub const BIND: u16 = 0;
    /// NspiUnbind.
    pub const UNBIND: u16 = 1;
    /// NspiQueryRows.
    pub const QUERY_ROWS: u16 = 3;
    /// NspiGetMatches.
    pub const GET_MATCHES: u16 = 5;
    /// NspiDNToMId.
    pub const DN_TO_MID: u16 = 7;
    /// NspiGetProps.
    pub const GET_PROPS: u16 = 9;
    /// NspiGetSpecialTable.
    pub const GET_SPECIAL_TABLE: u16 = 12;
    /// NspiResolveNamesW.
    pub const RESOLVE_NAMES_W: u16 = 20;
    /// RfrGetNewDSA (referral interface).
    pub const RFR_GET_NEW_DSA: u16 = 0;
    /// RfrGetFQDNFromServerDN (referral interface).
    pub const RFR_GET_FQDN_FROM_SERVER_DN: u16 = 1;
}

/// Implements [`NdrCodec`] from a write body and a read body, adding the structure name to errors.
macro_rules! ndr_call {
    ($ty:ident, |$s:ident, $w:ident| $write:block, |$r:ident| $read:block) => {
        impl NdrCodec for $ty {
            fn ndr_write(&self, $w: &mut NdrWriter) -> EncodeResult {
                let $s = self;
                $write
                Ok(())
            }

            fn ndr_read($r: &mut NdrReader<'_>) -> DecodeResult<Self> {
                (|| -> DecodeResult<Self> { $read })().within(stringify!($ty))
            }
        }
    };
}

/// MS-NSPI 3.1.4.1.1 NspiBind request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NspiBindRequest {
    /// dwFlags.
    pub flags: u32,
    /// pStat.
    pub stat: Stat,
    /// pServerGuid (in, unique).
    pub server_guid: Option<Uuid>,
}

ndr_call!(
    NspiBindRequest,
    |s, w| {
        w.u32(s.flags);
        s.stat.write(w);
        write_opt_guid(w, s.server_guid);
    },
    |r| {
        Ok(NspiBindRequest {
            flags: r.u32("dwFlags")?,
            stat: Stat::read(r)?,
            server_guid: read_opt_guid(r, "pServerGuid")?,
        })
    }
);

/// MS-NSPI 3.1.4.1.1 NspiBind response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NspiBindResponse {
    /// pServerGuid (out).
    pub server_guid: Option<Uuid>,
    /// contextHandle.
    pub handle: ContextHandle,
    /// Return value.
    pub result: ErrorCode,
}

ndr_call!(
    NspiBindResponse,
    |s, w| {
        write_opt_guid(w, s.server_guid);
        w.context_handle(&s.handle);
        w.u32(s.result.0);
    },
    |r| {
        Ok(NspiBindResponse {
            server_guid: read_opt_guid(r, "pServerGuid")?,
            handle: r.context_handle("contextHandle")?,
            result: ErrorCode(r.u32("return")?),
        })
    }
);

/// MS-NSPI 3.1.4.1.2 NspiUnbind request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NspiUnbindRequest {
    /// contextHandle.
    pub handle: ContextHandle,
    /// Reserved.
    pub reserved: u32,
}

ndr_call!(
    NspiUnbindRequest,
    |s, w| {
        w.context_handle(&s.handle);
        w.u32(s.reserved);
    },
    |r| {
        Ok(NspiUnbindRequest {
            handle: r.context_handle("contextHandle")?,
            reserved: r.u32("Reserved")?,
        })
    }
);

/// MS-NSPI 3.1.4.1.2 NspiUnbind response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NspiUnbindResponse {
    /// contextHandle (null after unbinding).
    pub handle: ContextHandle,
    /// Return value (1 on success, MS-NSPI 3.1.4.1.2).
    pub result: ErrorCode,
}

ndr_call!(
    NspiUnbindResponse,
    |s, w| {
        w.context_handle(&s.handle);
        w.u32(s.result.0);
    },
    |r| {
        Ok(NspiUnbindResponse {
            handle: r.context_handle("contextHandle")?,
            result: ErrorCode(r.u32("return")?),
        })
    }
);

/// MS-NSPI 3.1.4.1.3 NspiGetSpecialTable request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NspiGetSpecialTableRequest {
    /// hRpc.
    pub handle: ContextHandle,
    /// dwFlags (NspiAddressCreationTemplates 0x2, NspiUnicodeStrings 0x4).
    pub flags: u32,
    /// pStat.
    pub stat: Stat,
    /// lpVersion (in).
    pub version: u32,
}

ndr_call!(
    NspiGetSpecialTableRequest,
    |s, w| {
        w.context_handle(&s.handle);
        w.u32(s.flags);
        s.stat.write(w);
        w.u32(s.version);
    },
    |r| {
        Ok(NspiGetSpecialTableRequest {
            handle: r.context_handle("hRpc")?,
            flags: r.u32("dwFlags")?,
            stat: Stat::read(r)?,
            version: r.u32("lpVersion")?,
        })
    }
);

/// MS-NSPI 3.1.4.1.3 NspiGetSpecialTable response.
#[derive(Debug, Clone, PartialEq)]
pub struct NspiGetSpecialTableResponse {
    /// lpVersion (out).
    pub version: u32,
    /// ppRows.
    pub rows: Option<Vec<PropertyRowR>>,
    /// Return value.
    pub result: ErrorCode,
}

ndr_call!(
    NspiGetSpecialTableResponse,
    |s, w| {
        w.u32(s.version);
        write_opt_row_set(w, s.rows.as_deref())?;
        w.u32(s.result.0);
    },
    |r| {
        Ok(NspiGetSpecialTableResponse {
            version: r.u32("lpVersion")?,
            rows: read_opt_row_set(r, "ppRows")?,
            result: ErrorCode(r.u32("return")?),
        })
    }
);

/// MS-NSPI 3.1.4.1.8 NspiQueryRows request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NspiQueryRowsRequest {
    /// hRpc.
    pub handle: ContextHandle,
    /// dwFlags.
    pub flags: u32,
    /// pStat.
    pub stat: Stat,
    /// lpETable (dwETableCount is its length); `None` reads from the STAT position.
    pub table: Option<Vec<u32>>,
    /// Count: rows wanted.
    pub count: u32,
    /// pPropTags (`None`: the server's default columns).
    pub prop_tags: Option<Vec<PropertyTag>>,
}

ndr_call!(
    NspiQueryRowsRequest,
    |s, w| {
        w.context_handle(&s.handle);
        w.u32(s.flags);
        s.stat.write(w);
        let table = s.table.as_deref().unwrap_or_default();
        w.count(table.len(), "NspiQueryRows", "dwETableCount")?;
        if w.pointer(s.table.is_some()) {
            w.count(table.len(), "NspiQueryRows", "MaxCount")?;
            for v in table {
                w.u32(*v);
            }
        }
        w.u32(s.count);
        write_opt_tags(w, s.prop_tags.as_deref())?;
    },
    |r| {
        let handle = r.context_handle("hRpc")?;
        let flags = r.u32("dwFlags")?;
        let stat = Stat::read(r)?;
        let n = r.u32("dwETableCount")?;
        let table = if r.pointer("lpETable")? {
            let at = r.offset();
            let max = r.count(4, "MaxCount")?;
            if usize::try_from(n).ok() != Some(max) {
                return Err(DecodeError::invalid(
                    "MaxCount",
                    at,
                    "differs from dwETableCount",
                ));
            }
            Some(
                (0..max)
                    .map(|_| r.u32("lpETable"))
                    .collect::<DecodeResult<_>>()?,
            )
        } else {
            None
        };
        Ok(NspiQueryRowsRequest {
            handle,
            flags,
            stat,
            table,
            count: r.u32("Count")?,
            prop_tags: read_opt_tags(r, "pPropTags")?,
        })
    }
);

/// MS-NSPI 3.1.4.1.8 NspiQueryRows response.
#[derive(Debug, Clone, PartialEq)]
pub struct NspiQueryRowsResponse {
    /// pStat (out).
    pub stat: Stat,
    /// ppRows.
    pub rows: Option<Vec<PropertyRowR>>,
    /// Return value.
    pub result: ErrorCode,
}

ndr_call!(
    NspiQueryRowsResponse,
    |s, w| {
        s.stat.write(w);
        write_opt_row_set(w, s.rows.as_deref())?;
        w.u32(s.result.0);
    },
    |r| {
        Ok(NspiQueryRowsResponse {
            stat: Stat::read(r)?,
            rows: read_opt_row_set(r, "ppRows")?,
            result: ErrorCode(r.u32("return")?),
        })
    }
);

/// MS-NSPI 3.1.4.1.10 NspiGetMatches request.
#[derive(Debug, Clone, PartialEq)]
pub struct NspiGetMatchesRequest {
    /// hRpc.
    pub handle: ContextHandle,
    /// Reserved1.
    pub reserved1: u32,
    /// pStat.
    pub stat: Stat,
    /// pReserved.
    pub reserved_tags: Option<Vec<u32>>,
    /// Reserved2.
    pub reserved2: u32,
    /// Filter: the restriction entries must satisfy (`None`: every entry).
    pub filter: Option<Restriction>,
    /// lpPropName.
    pub prop_name: Option<PropertyNameR>,
    /// ulRequested.
    pub requested: u32,
    /// pPropTags.
    pub prop_tags: Option<Vec<PropertyTag>>,
}

ndr_call!(
    NspiGetMatchesRequest,
    |s, w| {
        w.context_handle(&s.handle);
        w.u32(s.reserved1);
        s.stat.write(w);
        write_opt_u32_array(w, s.reserved_tags.as_deref())?;
        w.u32(s.reserved2);
        write_opt_restriction(w, s.filter.as_ref())?;
        if let Some(n) = &s.prop_name {
            w.referent();
            n.write(w);
        } else {
            w.null();
        }
        w.u32(s.requested);
        write_opt_tags(w, s.prop_tags.as_deref())?;
    },
    |r| {
        let handle = r.context_handle("hRpc")?;
        let reserved1 = r.u32("Reserved1")?;
        let stat = Stat::read(r)?;
        let reserved_tags = read_opt_u32_array(r, "pReserved")?;
        let reserved2 = r.u32("Reserved2")?;
        let filter = read_opt_restriction(r, "Filter")?;
        let prop_name = if r.pointer("lpPropName")? {
            Some(PropertyNameR::read(r)?)
        } else {
            None
        };
        Ok(NspiGetMatchesRequest {
            handle,
            reserved1,
            stat,
            reserved_tags,
            reserved2,
            filter,
            prop_name,
            requested: r.u32("ulRequested")?,
            prop_tags: read_opt_tags(r, "pPropTags")?,
        })
    }
);

/// MS-NSPI 3.1.4.1.10 NspiGetMatches response.
#[derive(Debug, Clone, PartialEq)]
pub struct NspiGetMatchesResponse {
    /// pStat (out).
    pub stat: Stat,
    /// ppOutMIds.
    pub mids: Option<Vec<u32>>,
    /// ppRows.
    pub rows: Option<Vec<PropertyRowR>>,
    /// Return value.
    pub result: ErrorCode,
}

ndr_call!(
    NspiGetMatchesResponse,
    |s, w| {
        s.stat.write(w);
        write_opt_u32_array(w, s.mids.as_deref())?;
        write_opt_row_set(w, s.rows.as_deref())?;
        w.u32(s.result.0);
    },
    |r| {
        Ok(NspiGetMatchesResponse {
            stat: Stat::read(r)?,
            mids: read_opt_u32_array(r, "ppOutMIds")?,
            rows: read_opt_row_set(r, "ppRows")?,
            result: ErrorCode(r.u32("return")?),
        })
    }
);

/// MS-NSPI 3.1.4.1.17 NspiResolveNamesW request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NspiResolveNamesWRequest {
    /// hRpc.
    pub handle: ContextHandle,
    /// Reserved.
    pub reserved: u32,
    /// pStat.
    pub stat: Stat,
    /// pPropTags.
    pub prop_tags: Option<Vec<PropertyTag>>,
    /// paWStr: the names to resolve.
    pub names: Vec<Option<String>>,
}

ndr_call!(
    NspiResolveNamesWRequest,
    |s, w| {
        w.context_handle(&s.handle);
        w.u32(s.reserved);
        s.stat.write(w);
        write_opt_tags(w, s.prop_tags.as_deref())?;
        write_strings_w(w, &s.names)?;
    },
    |r| {
        Ok(NspiResolveNamesWRequest {
            handle: r.context_handle("hRpc")?,
            reserved: r.u32("Reserved")?,
            stat: Stat::read(r)?,
            prop_tags: read_opt_tags(r, "pPropTags")?,
            names: read_strings_w(r)?,
        })
    }
);

/// MS-NSPI 3.1.4.1.17 NspiResolveNamesW response.
#[derive(Debug, Clone, PartialEq)]
pub struct NspiResolveNamesWResponse {
    /// ppMIds: one MId (or MID_UNRESOLVED / MID_AMBIGUOUS) per name.
    pub mids: Option<Vec<u32>>,
    /// ppRows.
    pub rows: Option<Vec<PropertyRowR>>,
    /// Return value.
    pub result: ErrorCode,
}

ndr_call!(
    NspiResolveNamesWResponse,
    |s, w| {
        write_opt_u32_array(w, s.mids.as_deref())?;
        write_opt_row_set(w, s.rows.as_deref())?;
        w.u32(s.result.0);
    },
    |r| {
        Ok(NspiResolveNamesWResponse {
            mids: read_opt_u32_array(r, "ppMIds")?,
            rows: read_opt_row_set(r, "ppRows")?,
            result: ErrorCode(r.u32("return")?),
        })
    }
);

/// MS-NSPI 3.1.4.1.7 NspiGetProps request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NspiGetPropsRequest {
    /// hRpc.
    pub handle: ContextHandle,
    /// dwFlags.
    pub flags: u32,
    /// pStat (CurrentRec names the object).
    pub stat: Stat,
    /// pPropTags.
    pub prop_tags: Option<Vec<PropertyTag>>,
}

ndr_call!(
    NspiGetPropsRequest,
    |s, w| {
        w.context_handle(&s.handle);
        w.u32(s.flags);
        s.stat.write(w);
        write_opt_tags(w, s.prop_tags.as_deref())?;
    },
    |r| {
        Ok(NspiGetPropsRequest {
            handle: r.context_handle("hRpc")?,
            flags: r.u32("dwFlags")?,
            stat: Stat::read(r)?,
            prop_tags: read_opt_tags(r, "pPropTags")?,
        })
    }
);

/// MS-NSPI 3.1.4.1.7 NspiGetProps response.
#[derive(Debug, Clone, PartialEq)]
pub struct NspiGetPropsResponse {
    /// ppRows.
    pub row: Option<PropertyRowR>,
    /// Return value (ErrorsReturned 0x00040380 when some properties are missing).
    pub result: ErrorCode,
}

ndr_call!(
    NspiGetPropsResponse,
    |s, w| {
        PropertyRowR::write_opt(w, s.row.as_ref())?;
        w.u32(s.result.0);
    },
    |r| {
        Ok(NspiGetPropsResponse {
            row: PropertyRowR::read_opt(r, "ppRows")?,
            result: ErrorCode(r.u32("return")?),
        })
    }
);

/// MS-NSPI 3.1.4.1.13 NspiDNToMId request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NspiDnToMIdRequest {
    /// hRpc.
    pub handle: ContextHandle,
    /// Reserved.
    pub reserved: u32,
    /// pNames: distinguished names (8-bit text).
    pub names: Vec<Option<String>>,
}

ndr_call!(
    NspiDnToMIdRequest,
    |s, w| {
        w.context_handle(&s.handle);
        w.u32(s.reserved);
        let names: Vec<Option<Vec<u8>>> = s
            .names
            .iter()
            .map(|n| n.as_deref().map(string_to_latin1))
            .collect();
        write_strings_a(w, &names)?;
    },
    |r| {
        Ok(NspiDnToMIdRequest {
            handle: r.context_handle("hRpc")?,
            reserved: r.u32("Reserved")?,
            names: read_strings_a(r)?
                .into_iter()
                .map(|n| n.as_deref().map(latin1_to_string))
                .collect(),
        })
    }
);

/// MS-NSPI 3.1.4.1.13 NspiDNToMId response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NspiDnToMIdResponse {
    /// ppOutMIds.
    pub mids: Option<Vec<u32>>,
    /// Return value.
    pub result: ErrorCode,
}

ndr_call!(
    NspiDnToMIdResponse,
    |s, w| {
        write_opt_u32_array(w, s.mids.as_deref())?;
        w.u32(s.result.0);
    },
    |r| {
        Ok(NspiDnToMIdResponse {
            mids: read_opt_u32_array(r, "ppOutMIds")?,
            result: ErrorCode(r.u32("return")?),
        })
    }
);

/// A `[in, out, unique, string] unsigned char**` parameter: outer pointer absent (`None`),
/// present with a null string (`Some(None)`), or present with a string.
pub type OptOptString = Option<Option<String>>;

/// MS-OXABREF 3.1.4.1 RfrGetNewDSA request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfrGetNewDsaRequest {
    /// ulFlags (0).
    pub flags: u32,
    /// pUserDN.
    pub user_dn: String,
    /// ppszUnused.
    pub unused: OptOptString,
    /// ppszServer.
    pub server: OptOptString,
}

ndr_call!(
    RfrGetNewDsaRequest,
    |s, w| {
        w.u32(s.flags);
        w.string_a(&string_to_latin1(&s.user_dn), "pUserDN")?;
        write_opt_opt_string(w, &s.unused)?;
        write_opt_opt_string(w, &s.server)?;
    },
    |r| {
        Ok(RfrGetNewDsaRequest {
            flags: r.u32("ulFlags")?,
            user_dn: latin1_to_string(&r.string_a("pUserDN")?),
            unused: read_opt_opt_string(r, "ppszUnused")?,
            server: read_opt_opt_string(r, "ppszServer")?,
        })
    }
);

/// MS-OXABREF 3.1.4.1 RfrGetNewDSA response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfrGetNewDsaResponse {
    /// ppszUnused.
    pub unused: OptOptString,
    /// ppszServer: the NSPI server to use.
    pub server: OptOptString,
    /// Return value.
    pub result: ErrorCode,
}

ndr_call!(
    RfrGetNewDsaResponse,
    |s, w| {
        write_opt_opt_string(w, &s.unused)?;
        write_opt_opt_string(w, &s.server)?;
        w.u32(s.result.0);
    },
    |r| {
        Ok(RfrGetNewDsaResponse {
            unused: read_opt_opt_string(r, "ppszUnused")?,
            server: read_opt_opt_string(r, "ppszServer")?,
            result: ErrorCode(r.u32("return")?),
        })
    }
);

/// MS-OXABREF 3.1.4.2 RfrGetFQDNFromServerDN request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfrGetFqdnFromServerDnRequest {
    /// ulFlags (0).
    pub flags: u32,
    /// szMailboxServerDN; cbMailboxServerDN is its length with the NUL (10..=1024).
    pub server_dn: String,
}

ndr_call!(
    RfrGetFqdnFromServerDnRequest,
    |s, w| {
        w.u32(s.flags);
        let dn = string_to_latin1(&s.server_dn);
        w.count(dn.len() + 1, "RfrGetFQDNFromServerDN", "cbMailboxServerDN")?;
        w.string_a(&dn, "szMailboxServerDN")?;
    },
    |r| {
        let flags = r.u32("ulFlags")?;
        let at = r.offset();
        let cb = r.u32("cbMailboxServerDN")?;
        let dn = r.string_a("szMailboxServerDN")?;
        if usize::try_from(cb).ok() != Some(dn.len() + 1) {
            return Err(DecodeError::invalid(
                "cbMailboxServerDN",
                at,
                "differs from the string length",
            ));
        }
        Ok(RfrGetFqdnFromServerDnRequest {
            flags,
            server_dn: latin1_to_string(&dn),
        })
    }
);

/// MS-OXABREF 3.1.4.2 RfrGetFQDNFromServerDN response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfrGetFqdnFromServerDnResponse {
    /// ppszServerFQDN.
    pub fqdn: Option<String>,
    /// Return value.
    pub result: ErrorCode,
}

ndr_call!(
    RfrGetFqdnFromServerDnResponse,
    |s, w| {
        write_opt_string(w, s.fqdn.as_deref())?;
        w.u32(s.result.0);
    },
    |r| {
        Ok(RfrGetFqdnFromServerDnResponse {
            fqdn: read_opt_string_a(r, "ppszServerFQDN")?,
            result: ErrorCode(r.u32("return")?),
        })
    }
);

fn write_opt_guid(w: &mut NdrWriter, g: Option<Uuid>) {
    if let Some(g) = g {
        w.referent();
        w.bytes(&g.0);
    } else {
        w.null();
    }
}

fn read_opt_guid(r: &mut NdrReader<'_>, field: &'static str) -> DecodeResult<Option<Uuid>> {
    if !r.pointer(field)? {
        return Ok(None);
    }
    let b = r.bytes(16, field)?;
    let mut g = [0u8; 16];
    g.copy_from_slice(b);
    Ok(Some(Uuid(g)))
}

fn write_opt_string(w: &mut NdrWriter, s: Option<&str>) -> EncodeResult {
    if let Some(s) = s {
        w.referent();
        w.string_a(&string_to_latin1(s), "string")?;
    } else {
        w.null();
    }
    Ok(())
}

fn write_opt_opt_string(w: &mut NdrWriter, s: &OptOptString) -> EncodeResult {
    match s {
        None => w.null(),
        Some(inner) => {
            w.referent();
            write_opt_string(w, inner.as_deref())?;
        }
    }
    Ok(())
}

fn read_opt_opt_string(r: &mut NdrReader<'_>, field: &'static str) -> DecodeResult<OptOptString> {
    if r.pointer(field)? {
        Ok(Some(read_opt_string_a(r, field)?))
    } else {
        Ok(None)
    }
}
