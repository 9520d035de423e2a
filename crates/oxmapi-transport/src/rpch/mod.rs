//! RPC over HTTP v2 (MS-RPCH) carrying DCE/RPC (C706, MS-RPCE): the Outlook Anywhere transport.
//!
//! * [`vconn`]: the virtual connection's client state machine (CONN/A1, B1, A3, C2, flow
//!   control, pings), sans-IO.
//! * [`dce`]: bind / rpc_auth3 / request / response / fault, sans-IO; [`security`] protects
//!   each fragment with NTLM (sspi, DCE style).
//! * [`proxy`]: the two HTTP requests, each on its own authenticated connection.
//! * [`channel`]: the driver ([`RpcHttpClient`], [`RpcChannel`]); [`emsmdb`] and [`nspi`]
//!   wrap the wire stubs of `oxmapi_wire::dcerpc`.

mod channel;
mod dce;
mod emsmdb;
mod error;
mod nspi;
mod proxy;
mod security;
mod vconn;

pub use channel::{RpcAuthLevel, RpcChannel, RpcHttpClient, RpcPort, RpcStats};
pub use emsmdb::EmsmdbRpc;
pub use error::{RpcError, fault_name};
pub use nspi::NspiRpc;
