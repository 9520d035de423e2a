//! The client side of an RPC over HTTP v2 virtual connection as a sans-IO state machine
//! ([MS-RPCH 3.2.2](https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rpch/)).
//!
//! Bytes of the OUT channel's response body go in with [`VirtualConnection::push`]; events come
//! out of [`VirtualConnection::poll`]: the connection became usable, a DCE/RPC PDU arrived, or
//! an RTS PDU (a flow control acknowledgement) must be sent on the IN channel.

use std::collections::VecDeque;

use oxmapi_wire::dcerpc::rts::{FlowControlAck, ForwardDestination, RtsKind};
use oxmapi_wire::dcerpc::{CommonHeader, FrameStatus, PacketType, PduFramer, RtsPdu, Uuid};

use super::error::RpcError;

/// MS-RPCH 3.2.2.5.x: our OUT channel receive window, sent in CONN/A1 (Windows uses 64 KiB).
pub(crate) const DEFAULT_RECEIVE_WINDOW: u32 = 0x0001_0000;
/// CONN/B1 ChannelLifetime: the IN channel's Content-Length (1 GiB, as impacket and Outlook).
pub(crate) const CHANNEL_LIFETIME: u32 = 0x4000_0000;
/// CONN/B1 ClientKeepalive in milliseconds (MS-RPCH 2.2.3.5.6; 0 would mean 300000).
pub(crate) const CLIENT_KEEPALIVE_MS: u32 = 300_000;

/// The four cookies that name a virtual connection and its channels (MS-RPCH 3.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cookies {
    pub(crate) virtual_connection: Uuid,
    pub(crate) in_channel: Uuid,
    pub(crate) out_channel: Uuid,
    pub(crate) association_group: Uuid,
}

impl Cookies {
    /// Fresh random cookies.
    pub(crate) fn random() -> Self {
        let new = || Uuid(uuid::Uuid::new_v4().to_bytes_le());
        Self {
            virtual_connection: new(),
            in_channel: new(),
            out_channel: new(),
            association_group: new(),
        }
    }
}

/// Where the connection establishment is (MS-RPCH 3.2.2.4.1 client states, reduced to what
/// the client can observe on its OUT channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VcState {
    /// CONN/A1 and CONN/B1 sent, waiting for CONN/A3.
    WaitA3,
    /// CONN/A3 received, waiting for CONN/C2.
    WaitC2,
    /// CONN/C2 received: DCE/RPC PDUs may flow.
    Opened,
}

/// Something the driver must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VcEvent {
    /// CONN/C2 arrived: the virtual connection is open.
    Opened,
    /// A DCE/RPC (non-RTS) PDU from the server.
    Pdu(Vec<u8>),
    /// An RTS PDU to write to the IN channel.
    SendIn(Vec<u8>),
}

/// Counters the driver reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct VcCounters {
    pub(crate) pings_received: u64,
    pub(crate) flow_control_acks_sent: u64,
    pub(crate) flow_control_acks_received: u64,
}

/// The client side of one virtual connection.
#[derive(Debug)]
pub(crate) struct VirtualConnection {
    cookies: Cookies,
    state: VcState,
    framer: PduFramer,
    events: VecDeque<VcEvent>,
    receive_window: u32,
    /// Bytes of flow-controlled PDUs received on the OUT channel (MS-RPCH 3.2.2.5.5).
    bytes_received: u32,
    /// Bytes received since the last acknowledgement.
    unacked: u32,
    /// The server's IN channel receive window from CONN/C2.
    peer_window: u32,
    /// Connection timeout from CONN/A3/C2, milliseconds.
    connection_timeout_ms: u32,
    bytes_sent_in: u64,
    pub(crate) counters: VcCounters,
}

impl VirtualConnection {
    pub(crate) fn new(cookies: Cookies, receive_window: u32) -> Self {
        Self {
            cookies,
            state: VcState::WaitA3,
            framer: PduFramer::new(),
            events: VecDeque::new(),
            receive_window: receive_window.max(0x2000),
            bytes_received: 0,
            unacked: 0,
            peer_window: 0,
            connection_timeout_ms: 0,
            bytes_sent_in: 0,
            counters: VcCounters::default(),
        }
    }

    pub(crate) fn state(&self) -> VcState {
        self.state
    }

    /// The server's IN channel receive window (CONN/C2), 0 before it arrived.
    pub(crate) fn peer_window(&self) -> u32 {
        self.peer_window
    }

    /// The connection timeout the server announced (CONN/A3, CONN/C2), milliseconds.
    pub(crate) fn connection_timeout_ms(&self) -> u32 {
        self.connection_timeout_ms
    }

    /// MS-RPCH 2.2.4.2 CONN/A1, the 76-byte body of the RPC_OUT_DATA request.
    pub(crate) fn conn_a1(&self) -> Result<Vec<u8>, RpcError> {
        let c = &self.cookies;
        Ok(RtsPdu::conn_a1(c.virtual_connection, c.out_channel, self.receive_window).to_bytes()?)
    }

    /// MS-RPCH 2.2.4.5 CONN/B1, the first PDU of the RPC_IN_DATA body.
    pub(crate) fn conn_b1(&self) -> Result<Vec<u8>, RpcError> {
        let c = &self.cookies;
        Ok(RtsPdu::conn_b1(
            c.virtual_connection,
            c.in_channel,
            CHANNEL_LIFETIME,
            CLIENT_KEEPALIVE_MS,
            c.association_group,
        )
        .to_bytes()?)
    }

    /// Notes bytes written to the IN channel (for the report; the server's window is advisory,
    /// see [`Self::peer_window`]).
    pub(crate) fn sent_in(&mut self, len: usize) {
        self.bytes_sent_in = self.bytes_sent_in.saturating_add(len as u64);
    }

    /// Appends bytes read from the OUT channel's response body.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.framer.push(bytes);
    }

    /// The next event, `None` when more OUT channel bytes are needed.
    pub(crate) fn poll(&mut self) -> Result<Option<VcEvent>, RpcError> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Ok(Some(event));
            }
            let pdu = match self.framer.next_pdu()? {
                FrameStatus::Incomplete { .. } => return Ok(None),
                FrameStatus::Ready(pdu) => pdu,
            };
            self.handle(pdu)?;
        }
    }

    fn handle(&mut self, pdu: Vec<u8>) -> Result<(), RpcError> {
        let header = CommonHeader::peek(&pdu)?;
        if header.ptype == PacketType::RTS {
            let rts = RtsPdu::from_bytes(&pdu)?;
            return self.handle_rts(&rts);
        }
        if self.state != VcState::Opened {
            return Err(RpcError::Protocol(format!(
                "{} PDU on the OUT channel before CONN/C2",
                header.ptype.name().unwrap_or("unknown")
            )));
        }
        self.account(pdu.len());
        self.events.push_back(VcEvent::Pdu(pdu));
        Ok(())
    }

    fn handle_rts(&mut self, rts: &RtsPdu) -> Result<(), RpcError> {
        use oxmapi_wire::dcerpc::RtsCommand as C;
        match (self.state, rts.kind()) {
            (VcState::WaitA3, RtsKind::ConnA3) => {
                if let [C::ConnectionTimeout(t)] = rts.commands.as_slice() {
                    self.connection_timeout_ms = *t;
                }
                self.state = VcState::WaitC2;
            }
            (VcState::WaitC2, RtsKind::ConnC1OrC2) => {
                for c in &rts.commands {
                    match c {
                        C::ReceiveWindowSize(w) => self.peer_window = *w,
                        C::ConnectionTimeout(t) => self.connection_timeout_ms = *t,
                        _ => {}
                    }
                }
                self.state = VcState::Opened;
                self.events.push_back(VcEvent::Opened);
            }
            (_, RtsKind::Ping) => self.counters.pings_received += 1,
            (VcState::Opened, RtsKind::FlowControlAck | RtsKind::FlowControlAckWithDestination) => {
                self.counters.flow_control_acks_received += 1;
            }
            (_, RtsKind::Recycle) => {
                return Err(RpcError::Protocol(
                    "the server asked to recycle a channel, which is not supported".to_owned(),
                ));
            }
            (VcState::Opened, RtsKind::Other | RtsKind::PingTrafficSentNotify) => {}
            (state, kind) => {
                return Err(RpcError::Protocol(format!(
                    "unexpected RTS PDU {kind:?} in state {state:?}"
                )));
            }
        }
        Ok(())
    }

    /// MS-RPCH 3.2.2.5.5 (receiver side of flow control): acknowledge once half the window is
    /// consumed, naming the OUT channel cookie, addressed to the outbound proxy.
    fn account(&mut self, len: usize) {
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        self.bytes_received = self.bytes_received.wrapping_add(len);
        self.unacked = self.unacked.saturating_add(len);
        if self.unacked < self.receive_window / 2 {
            return;
        }
        self.unacked = 0;
        let ack = FlowControlAck {
            bytes_received: self.bytes_received,
            available_window: self.receive_window,
            channel_cookie: self.cookies.out_channel,
        };
        let pdu = RtsPdu::flow_control_ack_with_destination(ForwardDestination::OUT_PROXY, ack);
        if let Ok(bytes) = pdu.to_bytes() {
            self.counters.flow_control_acks_sent += 1;
            self.events.push_back(VcEvent::SendIn(bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmapi_wire::dcerpc::pdu::Response;
    use oxmapi_wire::dcerpc::{Pdu, PduBody};

    fn cookies() -> Cookies {
        Cookies {
            virtual_connection: Uuid([1; 16]),
            in_channel: Uuid([2; 16]),
            out_channel: Uuid([3; 16]),
            association_group: Uuid([4; 16]),
        }
    }

    fn response(len: usize) -> Vec<u8> {
        Pdu::new(
            1,
            PduBody::Response(Response {
                alloc_hint: 0,
                context_id: 0,
                cancel_count: 0,
                stub: vec![0; len],
            }),
        )
        .to_bytes()
        .unwrap()
    }

    fn opened() -> VirtualConnection {
        let mut vc = VirtualConnection::new(cookies(), DEFAULT_RECEIVE_WINDOW);
        vc.push(&RtsPdu::conn_a3(120_000).to_bytes().unwrap());
        vc.push(&RtsPdu::conn_c2(0x10000, 120_000).to_bytes().unwrap());
        assert_eq!(vc.poll().unwrap(), Some(VcEvent::Opened));
        vc
    }

    #[test]
    fn conn_a1_is_76_bytes_and_b1_carries_the_cookies() {
        // MS-RPCH 2.1.2.1.2: the RPC_OUT_DATA body is the 76-byte CONN/A1.
        let vc = VirtualConnection::new(cookies(), DEFAULT_RECEIVE_WINDOW);
        let a1 = vc.conn_a1().unwrap();
        assert_eq!(a1.len(), 76);
        let a1 = RtsPdu::from_bytes(&a1).unwrap();
        assert_eq!(a1.kind(), RtsKind::ConnA1);
        assert_eq!(a1.cookies(), vec![Uuid([1; 16]), Uuid([3; 16])]);
        let b1 = RtsPdu::from_bytes(&vc.conn_b1().unwrap()).unwrap();
        assert_eq!(b1.kind(), RtsKind::ConnB1);
        assert_eq!(b1.cookies(), vec![Uuid([1; 16]), Uuid([2; 16])]);
    }

    #[test]
    fn a3_then_c2_opens_byte_by_byte() {
        let mut vc = VirtualConnection::new(cookies(), DEFAULT_RECEIVE_WINDOW);
        let mut stream = RtsPdu::conn_a3(120_000).to_bytes().unwrap();
        stream.extend(RtsPdu::conn_c2(0x4000_0000, 90_000).to_bytes().unwrap());
        stream.extend(response(10));
        let mut events = Vec::new();
        for b in &stream {
            vc.push(std::slice::from_ref(b));
            while let Some(e) = vc.poll().unwrap() {
                events.push(e);
            }
        }
        assert_eq!(events.len(), 2);
        assert_eq!(events[0], VcEvent::Opened);
        assert!(matches!(&events[1], VcEvent::Pdu(p) if p.len() == 34));
        assert_eq!(vc.peer_window(), 0x4000_0000);
        assert_eq!(vc.connection_timeout_ms(), 90_000);
        assert_eq!(vc.state(), VcState::Opened);
    }

    #[test]
    fn a_pdu_before_c2_is_a_protocol_error() {
        let mut vc = VirtualConnection::new(cookies(), DEFAULT_RECEIVE_WINDOW);
        vc.push(&RtsPdu::conn_a3(120_000).to_bytes().unwrap());
        vc.push(&response(4));
        assert!(matches!(vc.poll(), Err(RpcError::Protocol(_))));
    }

    #[test]
    fn c2_before_a3_is_a_protocol_error() {
        let mut vc = VirtualConnection::new(cookies(), DEFAULT_RECEIVE_WINDOW);
        vc.push(&RtsPdu::conn_c2(0x10000, 1).to_bytes().unwrap());
        assert!(matches!(vc.poll(), Err(RpcError::Protocol(_))));
    }

    #[test]
    fn pings_are_counted_and_recycling_is_refused() {
        let mut vc = opened();
        vc.push(&RtsPdu::ping().to_bytes().unwrap());
        assert_eq!(vc.poll().unwrap(), None);
        assert_eq!(vc.counters.pings_received, 1);
        use oxmapi_wire::dcerpc::RtsFlags;
        vc.push(
            &RtsPdu::new(RtsFlags::RECYCLE_CHANNEL, Vec::new())
                .to_bytes()
                .unwrap(),
        );
        assert!(matches!(vc.poll(), Err(RpcError::Protocol(_))));
    }

    #[test]
    fn flow_control_ack_after_half_the_window() {
        let mut vc = opened();
        let pdu = response(8000); // 8024 bytes on the wire
        let mut acks = Vec::new();
        for _ in 0..5 {
            vc.push(&pdu);
            while let Some(e) = vc.poll().unwrap() {
                if let VcEvent::SendIn(b) = e {
                    acks.push(b);
                }
            }
        }
        // 4 × 8024 = 32096 < 32768, the 5th PDU crosses half of 64 KiB.
        assert_eq!(acks.len(), 1);
        let ack = RtsPdu::from_bytes(&acks[0]).unwrap();
        assert_eq!(ack.kind(), RtsKind::FlowControlAckWithDestination);
        let fc = ack.flow_control_ack().unwrap();
        assert_eq!(fc.bytes_received, 5 * 8024);
        assert_eq!(fc.available_window, DEFAULT_RECEIVE_WINDOW);
        assert_eq!(fc.channel_cookie, Uuid([3; 16]));
        assert_eq!(
            ack.commands[0],
            oxmapi_wire::dcerpc::RtsCommand::Destination(ForwardDestination::OUT_PROXY)
        );
        assert_eq!(vc.counters.flow_control_acks_sent, 1);
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_panic() {
        let mut vc = VirtualConnection::new(cookies(), DEFAULT_RECEIVE_WINDOW);
        vc.push(b"HTTP/1.1 200 OK\r\n\r\n");
        assert!(matches!(vc.poll(), Err(RpcError::Decode(_))));
    }
}
