//! The two HTTP channels of a virtual connection (MS-RPCH 3.2.3, 3.2.4 as seen from the
//! client): the OUT channel's response streams every server→client PDU, the IN channel's
//! request body carries every client→server PDU and drives the connection.

use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
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
use super::proxy::{ERROR_ACCESS_DENIED, PORT_EMSMDB, Target, rpc_error, rpc_response};
use super::server::{RpcConnection, RpcError};
use super::vc::{OutChannel, PairError};
use crate::body::{BodyError, ChunkedBody, closing, gone, plain, read_body, timed_out};
use crate::state::AppState;
use crate::store::UserRecord;

/// Content-Length of the OUT channel response (MS-RPCH 2.1.2.1.4; what Exchange sends).
const OUT_CONTENT_LENGTH: u64 = 1_073_741_824;
/// ConnectionTimeout of CONN/A3 and CONN/C2, milliseconds: the client sends at least a Ping
/// RTS PDU on its IN channel within this interval (MS-RPCH 2.2.3.5.3, 3.2.2.6.1; 120 000 is
/// the smallest value the command allows).
const CONNECTION_TIMEOUT_MS: u32 = 120_000;
/// Added to [`CONNECTION_TIMEOUT_MS`] before a silent IN channel is closed: the client's
/// timer is not exact and its ping may queue behind a large call.
const IN_IDLE_SLACK: Duration = Duration::from_secs(30);
/// Our IN channel receive window (CONN/C2 ReceiveWindowSize).
const IN_RECEIVE_WINDOW: u32 = 0x4_0000;
/// Longest wait of an IN channel for its OUT channel (shorter if the body read timeout is).
const PAIR_WAIT: Duration = Duration::from_secs(30);
/// Largest CONN/A1 body read (76 bytes; 120 for a replacement OUT channel).
const MAX_A1_BODY: usize = 256;
/// PDUs queued for the OUT channel before the IN channel waits.
const OUT_QUEUE: usize = 64;
/// How long a closing virtual connection waits for its last PDUs to be written.
const DRAIN_WAIT: Duration = Duration::from_secs(1);

/// Why a virtual connection ended abnormally.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChannelError {
    /// Reading the IN channel body failed (the client went away mid-request).
    #[error("in channel: {0}")]
    Body(#[from] hyper::Error),
    /// The IN channel sent nothing (between PDUs), or did not finish a PDU, in time.
    #[error("in channel: nothing received within {0:?}")]
    Timeout(Duration),
    /// The client did not read its OUT channel: the PDU queue stayed full.
    #[error("out channel: the client stopped reading for {0:?}")]
    OutStalled(Duration),
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
    let bytes = match read_body(body, MAX_A1_BODY, state.config.limits.body_read_timeout).await {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!(user = %user.alias, "rpc out channel request: {e}");
            return match e {
                BodyError::TooLarge { .. } => {
                    closing(plain(StatusCode::BAD_REQUEST, "bad CONN/A1"))
                }
                BodyError::TimedOut(_) => timed_out(),
                BodyError::Aborted(_) => gone(),
            };
        }
    };
    let a1 = match RtsPdu::from_bytes(&bytes) {
        Ok(p) if p.kind() == RtsKind::ConnA1 => p,
        _ => return plain(StatusCode::BAD_REQUEST, "expected CONN/A1"),
    };
    let (Some(&vc), Some(&cookie)) = (a1.cookies().first(), a1.cookies().get(1)) else {
        return plain(StatusCode::BAD_REQUEST, "CONN/A1 without cookies");
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
    let out = OutChannel {
        user_id: user.id,
        cookie,
        receive_window,
        tx,
    };
    if state.rpch.register(vc, out).is_err() {
        return rpc_error(ERROR_ACCESS_DENIED);
    }
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
        Err(e @ ChannelError::Timeout(_)) => {
            tracing::debug!(user = %alias, "rpc virtual connection ended: {e}");
            return timed_out();
        }
        // The client went away: nothing unusual, and nobody reads the answer.
        Err(
            e @ (ChannelError::Body(_) | ChannelError::OutClosed | ChannelError::OutStalled(_)),
        ) => {
            tracing::debug!(user = %alias, "rpc virtual connection ended: {e}");
            return gone();
        }
        // Another user's cookie (MS-RPCH 2.1.2.1: both channels belong to one client).
        Err(e @ ChannelError::Pair(PairError::OtherUser)) => {
            tracing::warn!(user = %alias, "rpc IN channel refused: {e}");
            return rpc_error(ERROR_ACCESS_DENIED);
        }
        Err(e) => tracing::info!(user = %alias, "rpc virtual connection ended: {e}"),
    }
    plain(StatusCode::OK, "")
}

/// The IN channel's PDU source: body frames cut into whole PDUs (cancel-safe: the deadlines
/// live in the struct, so a `select!` that drops [`PduStream::next`] does not restart them).
///
/// Two deadlines bound a client that stops sending: once a PDU started, the rest of it must
/// arrive within `pdu_within` (the body read timeout); between PDUs the channel may stay
/// silent for `idle_within` (the body read timeout until the virtual connection is
/// established, then the advertised ConnectionTimeout plus slack, during which a client sends
/// a Ping RTS PDU, MS-RPCH 3.2.2.6.1).
struct PduStream {
    body: Incoming,
    framer: PduFramer,
    eof: bool,
    pdu_within: Duration,
    idle_within: Duration,
    /// When the buffer last became empty (a PDU completed, or the channel started).
    idle_since: Instant,
    /// When the first byte of the PDU being received arrived.
    pdu_since: Option<Instant>,
}

impl PduStream {
    fn new(body: Incoming, within: Duration) -> Self {
        Self {
            body,
            framer: PduFramer::new(),
            eof: false,
            pdu_within: within,
            idle_within: within,
            idle_since: Instant::now(),
            pdu_since: None,
        }
    }

    fn deadline(&self) -> (Instant, Duration) {
        match self.pdu_since {
            Some(since) => (since + self.pdu_within, self.pdu_within),
            None => (self.idle_since + self.idle_within, self.idle_within),
        }
    }

    /// The next whole PDU, `None` at the end of the body.
    async fn next(&mut self) -> Result<Option<Vec<u8>>, ChannelError> {
        loop {
            if let FrameStatus::Ready(pdu) = self.framer.next_pdu()? {
                let now = Instant::now();
                self.idle_since = now;
                self.pdu_since = (self.framer.buffered() > 0).then_some(now);
                return Ok(Some(pdu));
            }
            if self.eof {
                return if self.framer.buffered() == 0 {
                    Ok(None)
                } else {
                    Err(ChannelError::Protocol("in channel ended inside a pdu"))
                };
            }
            let (deadline, limit) = self.deadline();
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .map_err(|_| ChannelError::Timeout(limit))?;
            // Frames are pushed only when no whole PDU is buffered, and an incomplete PDU is
            // shorter than its u16 frag_length: the buffer holds at most 64 KiB plus one body
            // frame (bounded by hyper's read buffer), however many PDUs a frame carries.
            match frame {
                Some(frame) => {
                    if let Ok(data) = frame?.into_data() {
                        self.framer.push(&data);
                    }
                    if self.pdu_since.is_none() && self.framer.buffered() > 0 {
                        self.pdu_since = Some(Instant::now());
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
    /// Longest wait for room in the PDU queue (a client that stopped reading its OUT channel).
    stall_within: Duration,
}

impl Out {
    async fn send(&mut self, pdu: Vec<u8>) -> Result<(), ChannelError> {
        self.last_sent = Instant::now();
        match tokio::time::timeout(self.stall_within, self.tx.send(Bytes::from(pdu))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(ChannelError::OutClosed),
            Err(_) => Err(ChannelError::OutStalled(self.stall_within)),
        }
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
    let within = state.config.limits.body_read_timeout;
    // Until CONN/B1 arrived and the OUT channel paired, the body read timeout bounds every
    // wait: an RPC_IN_DATA that announces 1 GiB and sends nothing is closed by it.
    let mut pdus = PduStream::new(body, within);
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
    let out_channel = state.rpch.claim(vc, user.id, PAIR_WAIT.min(within)).await?;
    tracing::debug!(
        user = %user.alias,
        port = target.port,
        client_window = out_channel.receive_window,
        out_cookie = ?out_channel.cookie,
        "rpc virtual connection established"
    );
    // Established: the client keeps the IN channel alive with pings within the advertised
    // ConnectionTimeout (MS-RPCH 2.2.3.5.3, 3.2.2.6.1), so silence is allowed that long.
    let idle_within =
        within.max(Duration::from_millis(u64::from(CONNECTION_TIMEOUT_MS)) + IN_IDLE_SLACK);
    pdus.idle_within = idle_within;
    pdus.idle_since = Instant::now();
    let mut out = Out {
        tx: out_channel.tx,
        last_sent: Instant::now(),
        stall_within: idle_within,
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
        if target.port == PORT_EMSMDB && state.rpch.epoch() != epoch {
            // `RunningServer::expire_all_sessions`: the connection and its contexts go away.
            return Ok(());
        }
        if let Some(ack) = flow.received(pdu.len()) {
            out.send_rts(&ack).await?;
        }
        match crate::session::store_work(|| conn.handle(pdu, &mut calls)) {
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
