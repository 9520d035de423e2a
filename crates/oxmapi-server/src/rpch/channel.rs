//! The two HTTP channels of a virtual connection (MS-RPCH 3.2.3, 3.2.4 as seen from the
//! client): the OUT channel's response streams every server→client PDU, the IN channel's
//! request body carries every client→server PDU and drives the connection.

use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use oxmapi_wire::DecodeError;
use oxmapi_wire::dcerpc::rts::{FlowControlAck, RtsKind};
use oxmapi_wire::dcerpc::{
    CommonHeader, FaultStatus, FrameStatus, PacketType, PduFramer, RtsCommand, RtsFlags, RtsPdu,
    Uuid,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::dispatch::Calls;
use super::server::{RpcConnection, RpcError};
use super::vc::{OutChannel, PairError};
use super::{Target, rpc_response};
use crate::http::{AppState, ChunkedBody, plain};
use crate::store::UserRecord;

/// Content-Length of the OUT channel response (MS-RPCH 2.1.2.1.4; what Exchange sends).
const OUT_CONTENT_LENGTH: u64 = 1_073_741_824;
/// ConnectionTimeout of CONN/A3 and CONN/C2, milliseconds.
const CONNECTION_TIMEOUT_MS: u32 = 120_000;
/// Our IN channel receive window (CONN/C2 ReceiveWindowSize).
const IN_RECEIVE_WINDOW: u32 = 0x4_0000;
/// How long an IN channel waits for its OUT channel.
const PAIR_WAIT: Duration = Duration::from_secs(30);
/// Largest CONN/A1 body read (76 bytes; 120 for a replacement OUT channel).
const MAX_A1_BODY: usize = 256;
/// PDUs queued for the OUT channel before the IN channel waits.
const OUT_QUEUE: usize = 64;
/// How long a closing virtual connection waits for its last PDUs to be written.
const DRAIN_WAIT: Duration = Duration::from_secs(1);
/// Largest PDU accepted (frag_length is a u16 anyway).
const MAX_BUFFERED: usize = 0x1_0000;

/// Why a virtual connection ended abnormally.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChannelError {
    /// Reading the IN channel body failed (the client went away mid-request).
    #[error("in channel: {0}")]
    Body(#[from] hyper::Error),
    /// The byte stream is not a PDU stream.
    #[error("framing: {0}")]
    Framing(#[from] DecodeError),
    /// A PDU arrived that the state machine does not allow.
    #[error("protocol: {0}")]
    Protocol(&'static str),
    /// The IN channel could not be paired with an OUT channel.
    #[error(transparent)]
    Pair(#[from] PairError),
    /// The OUT channel was closed by the client.
    #[error("out channel closed")]
    OutClosed,
    /// The DCE/RPC layer failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

/// RPC_OUT_DATA: reads CONN/A1, registers the channel, answers 200 + CONN/A3. CONN/C2 follows
/// once the IN channel arrives.
pub(crate) async fn out_channel(
    state: &AppState,
    user: UserRecord,
    body: Incoming,
) -> Response<ChunkedBody> {
    let bytes = match http_body_util::Limited::new(body, MAX_A1_BODY)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => return plain(http::StatusCode::BAD_REQUEST, "bad CONN/A1"),
    };
    let a1 = match RtsPdu::from_bytes(&bytes) {
        Ok(p) if p.kind() == RtsKind::ConnA1 => p,
        _ => return plain(http::StatusCode::BAD_REQUEST, "expected CONN/A1"),
    };
    let (Some(&vc), Some(&cookie)) = (a1.cookies().first(), a1.cookies().get(1)) else {
        return plain(http::StatusCode::BAD_REQUEST, "CONN/A1 without cookies");
    };
    let receive_window = a1
        .commands
        .iter()
        .find_map(|c| match c {
            RtsCommand::ReceiveWindowSize(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(0x1_0000);
    let (tx, rx) = mpsc::channel(OUT_QUEUE);
    if let Ok(a3) = RtsPdu::conn_a3(CONNECTION_TIMEOUT_MS).to_bytes() {
        let _ = tx.try_send(Bytes::from(a3));
    }
    state.rpch.register(
        vc,
        OutChannel {
            user_id: user.id,
            cookie,
            receive_window,
            tx,
        },
    );
    rpc_response(ChunkedBody::streaming(rx, Some(OUT_CONTENT_LENGTH)))
}

/// RPC_IN_DATA: reads CONN/B1, pairs with the OUT channel, sends CONN/C2, then serves
/// DCE/RPC until either channel closes. The response is only sent when the channel ends.
pub(crate) async fn in_channel(
    state: &AppState,
    user: UserRecord,
    target: Target,
    body: Incoming,
) -> Response<ChunkedBody> {
    let alias = user.alias.clone();
    match run_in_channel(state, user, target, body).await {
        Ok(()) => tracing::debug!(user = %alias, "rpc virtual connection closed"),
        Err(e) => tracing::info!(user = %alias, "rpc virtual connection ended: {e}"),
    }
    plain(http::StatusCode::OK, "")
}

/// The IN channel's PDU source: body frames cut into whole PDUs (cancel-safe).
struct PduStream {
    body: Incoming,
    framer: PduFramer,
    eof: bool,
}

impl PduStream {
    /// The next whole PDU, `None` at the end of the body.
    async fn next(&mut self) -> Result<Option<Vec<u8>>, ChannelError> {
        loop {
            if let FrameStatus::Ready(pdu) = self.framer.next_pdu()? {
                return Ok(Some(pdu));
            }
            if self.eof {
                return if self.framer.buffered() == 0 {
                    Ok(None)
                } else {
                    Err(ChannelError::Protocol("in channel ended inside a pdu"))
                };
            }
            match self.body.frame().await {
                Some(frame) => {
                    if let Ok(data) = frame?.into_data() {
                        self.framer.push(&data);
                    }
                    if self.framer.buffered() > MAX_BUFFERED {
                        return Err(ChannelError::Protocol("pdu larger than 64 KiB"));
                    }
                }
                None => self.eof = true,
            }
        }
    }
}

/// The OUT channel as the IN channel's driver uses it.
struct Out {
    tx: mpsc::Sender<Bytes>,
    last_sent: Instant,
}

impl Out {
    async fn send(&mut self, pdu: Vec<u8>) -> Result<(), ChannelError> {
        self.last_sent = Instant::now();
        self.tx
            .send(Bytes::from(pdu))
            .await
            .map_err(|_| ChannelError::OutClosed)
    }

    /// Waits (bounded) until the response body took every queued PDU and hyper had a moment
    /// to flush it: a body that ends before its Content-Length makes hyper drop the
    /// connection, possibly with unflushed bytes.
    async fn drain(&self) {
        let deadline = Instant::now() + DRAIN_WAIT;
        while self.tx.capacity() < self.tx.max_capacity() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    async fn send_rts(&mut self, pdu: &RtsPdu) -> Result<(), ChannelError> {
        let bytes = pdu.to_bytes().map_err(RpcError::from)?;
        self.send(bytes).await
    }
}

/// Flow control of the IN channel (MS-RPCH 3.2.1.1.4, 3.2.4.1.1): we acknowledge the RPC
/// PDUs received once half of the advertised window is consumed.
struct InFlow {
    cookie: Uuid,
    bytes_received: u32,
    since_ack: u32,
}

impl InFlow {
    /// Accounts for one RPC PDU; returns the FlowControlAck to send, if due.
    fn received(&mut self, len: usize) -> Option<RtsPdu> {
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        self.bytes_received = self.bytes_received.wrapping_add(len);
        self.since_ack = self.since_ack.saturating_add(len);
        if self.since_ack < IN_RECEIVE_WINDOW / 2 {
            return None;
        }
        self.since_ack = 0;
        Some(RtsPdu::new(
            RtsFlags::OTHER_CMD,
            vec![RtsCommand::FlowControlAck(FlowControlAck {
                bytes_received: self.bytes_received,
                available_window: IN_RECEIVE_WINDOW,
                channel_cookie: self.cookie,
            })],
        ))
    }
}

async fn run_in_channel(
    state: &AppState,
    user: UserRecord,
    target: Target,
    body: Incoming,
) -> Result<(), ChannelError> {
    let mut pdus = PduStream {
        body,
        framer: PduFramer::new(),
        eof: false,
    };
    let first = pdus
        .next()
        .await?
        .ok_or(ChannelError::Protocol("in channel closed before CONN/B1"))?;
    let b1 = RtsPdu::from_bytes(&first)?;
    if b1.kind() != RtsKind::ConnB1 {
        return Err(ChannelError::Protocol(
            "first in channel pdu is not CONN/B1",
        ));
    }
    let cookies = b1.cookies();
    let (Some(&vc), Some(&in_cookie)) = (cookies.first(), cookies.get(1)) else {
        return Err(ChannelError::Protocol("CONN/B1 without cookies"));
    };
    let keepalive_ms = b1
        .commands
        .iter()
        .find_map(|c| match c {
            RtsCommand::ClientKeepalive(0) => Some(300_000),
            RtsCommand::ClientKeepalive(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(300_000)
        .max(60_000);
    let out_channel = state.rpch.claim(vc, user.id, PAIR_WAIT).await?;
    tracing::debug!(
        user = %user.alias,
        port = target.port,
        client_window = out_channel.receive_window,
        out_cookie = ?out_channel.cookie,
        "rpc virtual connection established"
    );
    let mut out = Out {
        tx: out_channel.tx,
        last_sent: Instant::now(),
    };
    out.send_rts(&RtsPdu::conn_c2(IN_RECEIVE_WINDOW, CONNECTION_TIMEOUT_MS))
        .await?;
    let assoc_group = u32::from_le_bytes([vc.0[0], vc.0[1], vc.0[2], vc.0[3]]);
    let mut conn = RpcConnection::new(state.store.clone(), user.clone(), target.port, assoc_group);
    let mut calls = Calls::new(state, user);
    let epoch = state.rpch.epoch();
    let mut flow = InFlow {
        cookie: in_cookie,
        bytes_received: 0,
        since_ack: 0,
    };
    let ping_every = Duration::from_millis(u64::from(keepalive_ms / 2));
    loop {
        let ping_at = out.last_sent + ping_every;
        let pdu = tokio::select! {
            next = pdus.next() => match next? {
                Some(pdu) => pdu,
                None => return Ok(()),
            },
            () = tokio::time::sleep_until(ping_at) => {
                out.send_rts(&RtsPdu::ping()).await?;
                continue;
            }
            () = out.tx.closed() => return Err(ChannelError::OutClosed),
        };
        let header = CommonHeader::peek(&pdu)?;
        if header.ptype == PacketType::RTS {
            in_rts(&RtsPdu::from_bytes(&pdu)?)?;
            continue;
        }
        if target.port == super::PORT_EMSMDB && state.rpch.epoch() != epoch {
            // `RunningServer::expire_all_sessions`: the connection and its contexts go away.
            return Ok(());
        }
        if let Some(ack) = flow.received(pdu.len()) {
            out.send_rts(&ack).await?;
        }
        match conn.handle(pdu, &mut calls) {
            Ok(replies) => {
                for reply in replies {
                    out.send(reply).await?;
                }
            }
            Err(e) => {
                let status = match e {
                    RpcError::Unexpected(_) | RpcError::Malformed(_) => {
                        FaultStatus::NCA_PROTO_ERROR
                    }
                    _ => FaultStatus::NCA_S_FAULT_OTHER,
                };
                if let Some(fault) = RpcConnection::fault(header.call_id, status)
                    && out.send(fault).await.is_ok()
                {
                    out.drain().await;
                }
                return Err(e.into());
            }
        }
    }
}

/// An RTS PDU on the IN channel after CONN/B1: flow control acknowledgements for the OUT
/// channel and pings are consumed here; recycling is not supported.
fn in_rts(pdu: &RtsPdu) -> Result<(), ChannelError> {
    match pdu.kind() {
        RtsKind::FlowControlAckWithDestination | RtsKind::FlowControlAck => {
            if let Some(ack) = pdu.flow_control_ack() {
                tracing::trace!(
                    bytes_received = ack.bytes_received,
                    window = ack.available_window,
                    "rpc out channel acknowledged"
                );
            }
            Ok(())
        }
        RtsKind::Recycle => Err(ChannelError::Protocol("channel recycling is not supported")),
        _ => Ok(()),
    }
}
