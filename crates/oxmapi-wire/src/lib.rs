//! Sans-IO codecs for the byte formats oxmapi speaks.
//!
//! This crate encodes and decodes; it never opens a socket, reads a clock or draws a random
//! number. Every decoder is bounds-checked and reports failures as a [`DecodeError`] naming
//! the structure, the field and the byte offset; "need more bytes" is reported separately
//! where framing is incremental.
//!
//! | module | specification |
//! |---|---|
//! | [`data`] | MS-OXCDATA property tags, types, values, rows, IDs, error codes |
//! | `rop` | MS-OXCROPS ROP input/output buffers and the ROPs oxmapi uses |
//! | `rpcext` | MS-OXCRPC RPC_HEADER_EXT, LZ77 (MS-XCA Plain LZ77), XOR obfuscation, AUX |
//! | `mapihttp` | MS-OXCMAPIHTTP request/response bodies and the chunked response framing |

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cursor;
pub mod data;
pub mod dcerpc;
pub mod error;
#[doc(hidden)]
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod mapihttp;
pub mod rop;
pub mod rpcext;

pub use cursor::{Decode, Encode, ReadCursor, WriteCursor};
pub use error::{DecodeError, DecodeErrorKind, DecodeResult, EncodeError, EncodeResult};
