//! MS-OXCRPC extended buffers: RPC_HEADER_EXT, LZ77 compression, XOR obfuscation, AUX blocks.
//!
//! [MS-OXCRPC](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcrpc/)
//! wraps every ROP buffer (`rgbIn`/`rgbOut`, the MAPI/HTTP `RopBuffer`) and every auxiliary
//! buffer in one or more RPC_HEADER_EXT segments (2.2.2.1). A payload may be compressed
//! with MS-XCA Plain LZ77 ("LZ77 + DIRECT2", 3.1.4.1.1.2, module [`lz77`]) and obfuscated
//! with XOR 0xA5 (3.1.4.1.1.3). Auxiliary buffers (2.2.2.2) carry AUX_HEADER blocks.
//!
//! ```
//! use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_chain};
//!
//! let rops = b"abc".repeat(100);
//! let opts = PackOptions { compress: true, xor: true, ..PackOptions::default() };
//! let wire = pack_segment(&rops, opts)?;
//! assert!(wire.len() < rops.len());
//! assert_eq!(unpack_chain(&wire)?, vec![rops]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod aux;
pub mod header;
pub mod lz77;

pub use aux::{
    AUX_VERSION_1, AUX_VERSION_2, AuxBlock, AuxBody, AuxHeader, AuxType, ClientControl,
    EndpointCapabilities, ExOrgInfo, PerfClientInfo, PerfSessionInfo, PerfSessionInfoV2,
    decode_aux_buffer, decode_blocks, encode_aux_buffer,
};
pub use header::{
    MAX_RESPONSE_INFLATED, MAX_SEGMENT_PAYLOAD, PackOptions, RpcHeaderExt, RpcHeaderFlags, Segment,
    UnpackLimits, XOR_MAGIC, pack_chain, pack_segment, unpack_chain, unpack_chain_within,
    unpack_segments, unpack_segments_within, xor_magic,
};
