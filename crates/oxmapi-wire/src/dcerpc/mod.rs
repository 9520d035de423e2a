//! DCE/RPC over RPC over HTTP v2: connection-oriented PDUs, RTS PDUs, NDR and the call stubs of
//! the EMSMDB, NSPI and referral (RFR) interfaces.
//!
//! Everything here is sans-IO: cookies, GUIDs and call ids are passed in, nothing reads a clock
//! or draws a random number.
//!
//! | module | specification |
//! |---|---|
//! | [`pdu`] | C706 chapter 12 and MS-RPCE 2.2.2: the connection-oriented PDUs and the sec_trailer |
//! | [`framer`] | frag_length framing and request/response fragment reassembly |
//! | [`rts`] | MS-RPCH 2.2.3, 2.2.4: RTS commands and PDUs |
//! | [`ndr`] | C706 chapter 14: NDR 1.0 little-endian primitives |
//! | [`emsmdb`] | MS-OXCRPC 3.1.4: EcDoConnectEx, EcDoRpcExt2, EcDoDisconnect |
//! | [`nspi`] | MS-NSPI / MS-OXNSPI 3.1.4 and MS-OXABREF 3.1.4 call stubs |
//! | [`nspi_types`] | the NSPI NDR structures (STAT, PropertyRow_r, PropertyValue_r, ...) |

#[macro_use]
mod macros;

pub mod emsmdb;
pub mod framer;
pub mod ndr;
pub mod nspi;
pub mod nspi_types;
pub mod pdu;
pub mod rts;
mod uuid;

pub use framer::{FrameStatus, PduFramer, Reassembler};
pub use pdu::{
    AuthLayout, AuthLevel, AuthType, CommonHeader, FaultStatus, PacketType, Pdu, PduBody, PfcFlags,
    SecTrailer, SyntaxId,
};
pub use rts::{RtsCommand, RtsFlags, RtsPdu};
pub use uuid::Uuid;
