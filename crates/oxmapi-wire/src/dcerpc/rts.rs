//! RTS PDUs of RPC over HTTP v2: [MS-RPCH 2.2.3](https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rpch/)
//! (header, flags, commands) and the PDU shapes of MS-RPCH 2.2.4.
//!
//! An [`RtsPdu`] is the 20-byte RTS header (the common header with PTYPE 20, `Flags`,
//! `NumberOfCommands`) followed by its commands. Constructors build the PDUs a client or an
//! embedded server sends; [`RtsPdu::kind`] recognises the ones it receives.

use super::pdu::{CommonHeader, PacketType, PfcFlags};
use super::uuid::Uuid;
use crate::cursor::{ReadCursor, WriteCursor, count_u16, count_u32};
use crate::error::{DecodeContext, DecodeError, DecodeResult, EncodeResult};

flag_set! {
    /// MS-RPCH 2.2.3.6.1 RTS header `Flags`.
    pub struct RtsFlags(u16) {
        /// RTS_FLAG_PING: a keep-alive/ping PDU.
        PING = 0x0001,
        /// RTS_FLAG_OTHER_CMD: flow control and other non-connection commands.
        OTHER_CMD = 0x0002,
        /// RTS_FLAG_RECYCLE_CHANNEL: part of channel recycling.
        RECYCLE_CHANNEL = 0x0004,
        /// RTS_FLAG_IN_CHANNEL: sent on an IN channel (proxy to server legs).
        IN_CHANNEL = 0x0008,
        /// RTS_FLAG_OUT_CHANNEL: sent on an OUT channel (proxy to server legs).
        OUT_CHANNEL = 0x0010,
        /// RTS_FLAG_EOF: the last PDU on a channel.
        EOF = 0x0020,
        /// RTS_FLAG_ECHO: echo request/response for proxy discovery.
        ECHO = 0x0040,
    }
}

open_enum! {
    /// MS-RPCH 2.2.3.3 `ForwardDestinations` of the Destination command.
    pub struct ForwardDestination(u32) {
        /// FDClient.
        CLIENT = 0,
        /// FDInProxy.
        IN_PROXY = 1,
        /// FDServer.
        SERVER = 2,
        /// FDOutProxy.
        OUT_PROXY = 3,
    }
}

/// MS-RPCH 2.2.3.5.2 FlowControlAck command body (also 2.2.3.4 FlowControlAck structure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowControlAck {
    /// BytesReceived.
    pub bytes_received: u32,
    /// AvailableWindow.
    pub available_window: u32,
    /// ChannelCookie: the channel being acknowledged.
    pub channel_cookie: Uuid,
}

/// MS-RPCH 2.2.3.5.12 ClientAddress command body.
///
/// Quirk (VECTORS.md §6.6, from impacket's test_rpch.py): captured CONN/B2 PDUs carry an
/// all-zero IPv4 address followed by the real address in the first padding bytes. The padding is
/// therefore kept verbatim so that re-encoding is byte-exact; [`Self::ipv4_lenient`] looks in
/// both places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress {
    /// The address (AddressType 0 = IPv4, 1 = IPv6).
    pub address: IpAddress,
    /// The 12 padding bytes that follow the address.
    pub padding: [u8; 12],
}

/// An IPv4 or IPv6 address in network byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpAddress {
    /// AddressType 0.
    V4([u8; 4]),
    /// AddressType 1.
    V6([u8; 16]),
}

impl ClientAddress {
    /// The IPv4 address, or, when it is zero, the first four padding bytes (see the quirk above).
    pub fn ipv4_lenient(&self) -> Option<[u8; 4]> {
        match self.address {
            IpAddress::V4(a) if a != [0; 4] => Some(a),
            IpAddress::V4(_) => {
                let [a, b, c, d, ..] = self.padding;
                Some([a, b, c, d])
            }
            IpAddress::V6(_) => None,
        }
    }
}

/// MS-RPCH 2.2.3.5: one RTS command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtsCommand {
    /// 2.2.3.5.1 ReceiveWindowSize (0).
    ReceiveWindowSize(u32),
    /// 2.2.3.5.2 FlowControlAck (1).
    FlowControlAck(FlowControlAck),
    /// 2.2.3.5.3 ConnectionTimeout (2), milliseconds.
    ConnectionTimeout(u32),
    /// 2.2.3.5.4 Cookie (3).
    Cookie(Uuid),
    /// 2.2.3.5.5 ChannelLifetime (4), bytes.
    ChannelLifetime(u32),
    /// 2.2.3.5.6 ClientKeepalive (5), milliseconds (0 means the default).
    ClientKeepalive(u32),
    /// 2.2.3.5.7 Version (6).
    Version(u32),
    /// 2.2.3.5.8 Empty (7).
    Empty,
    /// 2.2.3.5.9 Padding (8): ConformanceCount and that many bytes (kept verbatim).
    Padding(Vec<u8>),
    /// 2.2.3.5.10 NegativeANCE (9).
    NegativeAnce,
    /// 2.2.3.5.11 ANCE (0xA).
    Ance,
    /// 2.2.3.5.12 ClientAddress (0xB).
    ClientAddress(ClientAddress),
    /// 2.2.3.5.13 AssociationGroupId (0xC).
    AssociationGroupId(Uuid),
    /// 2.2.3.5.14 Destination (0xD).
    Destination(ForwardDestination),
    /// 2.2.3.5.15 PingTrafficSentNotify (0xE), bytes.
    PingTrafficSentNotify(u32),
}

impl RtsCommand {
    /// CommandType value.
    pub fn command_type(&self) -> u32 {
        match self {
            Self::ReceiveWindowSize(_) => 0,
            Self::FlowControlAck(_) => 1,
            Self::ConnectionTimeout(_) => 2,
            Self::Cookie(_) => 3,
            Self::ChannelLifetime(_) => 4,
            Self::ClientKeepalive(_) => 5,
            Self::Version(_) => 6,
            Self::Empty => 7,
            Self::Padding(_) => 8,
            Self::NegativeAnce => 9,
            Self::Ance => 0xA,
            Self::ClientAddress(_) => 0xB,
            Self::AssociationGroupId(_) => 0xC,
            Self::Destination(_) => 0xD,
            Self::PingTrafficSentNotify(_) => 0xE,
        }
    }

    /// Reads CommandType and the command body.
    pub fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        let at = r.offset();
        let ty = r.u32("CommandType")?;
        Ok(match ty {
            0 => Self::ReceiveWindowSize(r.u32("ReceiveWindowSize")?),
            1 => Self::FlowControlAck(FlowControlAck {
                bytes_received: r.u32("BytesReceived")?,
                available_window: r.u32("AvailableWindow")?,
                channel_cookie: Uuid::decode(r, "ChannelCookie")?,
            }),
            2 => Self::ConnectionTimeout(r.u32("ConnectionTimeout")?),
            3 => Self::Cookie(Uuid::decode(r, "Cookie")?),
            4 => Self::ChannelLifetime(r.u32("ChannelLifetime")?),
            5 => Self::ClientKeepalive(r.u32("ClientKeepalive")?),
            6 => Self::Version(r.u32("Version")?),
            7 => Self::Empty,
            8 => {
                let n = r.u32("ConformanceCount")?;
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                Self::Padding(r.bytes(n, "Padding")?.to_vec())
            }
            9 => Self::NegativeAnce,
            0xA => Self::Ance,
            0xB => Self::ClientAddress(decode_client_address(r)?),
            0xC => Self::AssociationGroupId(Uuid::decode(r, "AssociationGroupId")?),
            0xD => Self::Destination(ForwardDestination(r.u32("Destination")?)),
            0xE => Self::PingTrafficSentNotify(r.u32("PingTrafficSent")?),
            other => {
                return Err(DecodeError::invalid(
                    "CommandType",
                    at,
                    format!("unknown RTS command {other:#x}"),
                ));
            }
        })
    }

    /// Writes CommandType and the command body.
    pub fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u32(self.command_type());
        match self {
            Self::ReceiveWindowSize(v)
            | Self::ConnectionTimeout(v)
            | Self::ChannelLifetime(v)
            | Self::ClientKeepalive(v)
            | Self::Version(v)
            | Self::PingTrafficSentNotify(v) => w.u32(*v),
            Self::FlowControlAck(a) => {
                w.u32(a.bytes_received);
                w.u32(a.available_window);
                a.channel_cookie.encode(w);
            }
            Self::Cookie(c) | Self::AssociationGroupId(c) => c.encode(w),
            Self::Empty | Self::NegativeAnce | Self::Ance => {}
            Self::Padding(p) => {
                w.u32(count_u32(p.len(), "Padding", "ConformanceCount")?);
                w.bytes(p);
            }
            Self::ClientAddress(a) => {
                match a.address {
                    IpAddress::V4(b) => {
                        w.u32(0);
                        w.bytes(&b);
                    }
                    IpAddress::V6(b) => {
                        w.u32(1);
                        w.bytes(&b);
                    }
                }
                w.bytes(&a.padding);
            }
            Self::Destination(d) => w.u32(d.0),
        }
        Ok(())
    }
}

fn decode_client_address(r: &mut ReadCursor<'_>) -> DecodeResult<ClientAddress> {
    let at = r.offset();
    let address = match r.u32("AddressType")? {
        0 => IpAddress::V4(r.array("ClientAddress")?),
        1 => IpAddress::V6(r.array("ClientAddress")?),
        other => {
            return Err(DecodeError::invalid(
                "AddressType",
                at,
                format!("unknown address type {other}"),
            ));
        }
    };
    Ok(ClientAddress {
        address,
        padding: r.array("Padding")?,
    })
}

/// MS-RPCH 2.2.3.6: an RTS PDU (header flags and commands; the common header is implied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtsPdu {
    /// Flags.
    pub flags: RtsFlags,
    /// The commands, in order.
    pub commands: Vec<RtsCommand>,
}

/// Which MS-RPCH 2.2.4 PDU an [`RtsPdu`] is, recognised from its flags and command shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtsKind {
    /// 2.2.4.2 CONN/A1 (client to outbound proxy).
    ConnA1,
    /// 2.2.4.3 CONN/A2 (outbound proxy to server).
    ConnA2,
    /// 2.2.4.4 CONN/A3 (outbound proxy to client).
    ConnA3,
    /// 2.2.4.5 CONN/B1 (client to inbound proxy).
    ConnB1,
    /// 2.2.4.6 CONN/B2 (inbound proxy to server).
    ConnB2,
    /// 2.2.4.7 CONN/B3 (server to inbound proxy).
    ConnB3,
    /// 2.2.4.8 CONN/C1 or 2.2.4.9 CONN/C2: both are Version, ReceiveWindowSize,
    /// ConnectionTimeout; on the client's OUT channel it is C2.
    ConnC1OrC2,
    /// MS-RPCH 2.2.4 FlowControlAck RTS PDU (no destination).
    FlowControlAck,
    /// MS-RPCH 2.2.4 FlowControlAckWithDestination RTS PDU.
    FlowControlAckWithDestination,
    /// MS-RPCH 2.2.4 Ping RTS PDU (RTS_FLAG_PING, no commands).
    Ping,
    /// MS-RPCH 2.2.4 Echo RTS PDU (RTS_FLAG_ECHO).
    Echo,
    /// MS-RPCH 2.2.4 PingTrafficSentNotify RTS PDU.
    PingTrafficSentNotify,
    /// A channel recycling PDU (RTS_FLAG_RECYCLE_CHANNEL: the IN_R1/IN_R2/OUT_R1/OUT_R2 PDUs of 2.2.4).
    Recycle,
    /// Anything else (recycling steps without the flag, keep-alive, EOF, ...).
    Other,
}

impl RtsPdu {
    /// Header (20): common header (16) + Flags (2) + NumberOfCommands (2).
    pub const HEADER_SIZE: usize = 20;

    /// A PDU from flags and commands.
    pub fn new(flags: RtsFlags, commands: Vec<RtsCommand>) -> Self {
        Self { flags, commands }
    }

    /// 2.2.4.2 CONN/A1: Version 1, VirtualConnectionCookie, OutChannelCookie, ReceiveWindowSize.
    pub fn conn_a1(vc_cookie: Uuid, out_cookie: Uuid, receive_window: u32) -> Self {
        Self::new(
            RtsFlags::NONE,
            vec![
                RtsCommand::Version(1),
                RtsCommand::Cookie(vc_cookie),
                RtsCommand::Cookie(out_cookie),
                RtsCommand::ReceiveWindowSize(receive_window),
            ],
        )
    }

    /// 2.2.4.4 CONN/A3: ConnectionTimeout.
    pub fn conn_a3(connection_timeout_ms: u32) -> Self {
        Self::new(
            RtsFlags::NONE,
            vec![RtsCommand::ConnectionTimeout(connection_timeout_ms)],
        )
    }

    /// 2.2.4.5 CONN/B1: Version 1, VirtualConnectionCookie, INChannelCookie, ChannelLifetime,
    /// ClientKeepalive, AssociationGroupId.
    pub fn conn_b1(
        vc_cookie: Uuid,
        in_cookie: Uuid,
        channel_lifetime: u32,
        keepalive_ms: u32,
        association_group: Uuid,
    ) -> Self {
        Self::new(
            RtsFlags::NONE,
            vec![
                RtsCommand::Version(1),
                RtsCommand::Cookie(vc_cookie),
                RtsCommand::Cookie(in_cookie),
                RtsCommand::ChannelLifetime(channel_lifetime),
                RtsCommand::ClientKeepalive(keepalive_ms),
                RtsCommand::AssociationGroupId(association_group),
            ],
        )
    }

    /// 2.2.4.9 CONN/C2: Version 1, ReceiveWindowSize, ConnectionTimeout.
    pub fn conn_c2(receive_window: u32, connection_timeout_ms: u32) -> Self {
        Self::new(
            RtsFlags::NONE,
            vec![
                RtsCommand::Version(1),
                RtsCommand::ReceiveWindowSize(receive_window),
                RtsCommand::ConnectionTimeout(connection_timeout_ms),
            ],
        )
    }

    /// MS-RPCH 2.2.4 FlowControlAckWithDestination RTS PDU. Destination, FlowControlAck (flags OTHER_CMD).
    pub fn flow_control_ack_with_destination(
        destination: ForwardDestination,
        ack: FlowControlAck,
    ) -> Self {
        Self::new(
            RtsFlags::OTHER_CMD,
            vec![
                RtsCommand::Destination(destination),
                RtsCommand::FlowControlAck(ack),
            ],
        )
    }

    /// MS-RPCH 2.2.4 Ping: RTS_FLAG_PING, no commands.
    pub fn ping() -> Self {
        Self::new(RtsFlags::PING, Vec::new())
    }

    /// MS-RPCH 2.1.2.1.6 / 2.2.4 Echo: RTS_FLAG_ECHO, no commands.
    pub fn echo() -> Self {
        Self::new(RtsFlags::ECHO, Vec::new())
    }

    /// Recognises the PDU from its flags and command shape.
    pub fn kind(&self) -> RtsKind {
        use RtsCommand as C;
        let f = self.flags;
        if f.contains(RtsFlags::ECHO) {
            return RtsKind::Echo;
        }
        if f.contains(RtsFlags::RECYCLE_CHANNEL) {
            return RtsKind::Recycle;
        }
        match (f, self.commands.as_slice()) {
            (RtsFlags::PING, []) => RtsKind::Ping,
            (
                RtsFlags::NONE,
                [
                    C::Version(_),
                    C::Cookie(_),
                    C::Cookie(_),
                    C::ReceiveWindowSize(_),
                ],
            ) => RtsKind::ConnA1,
            (
                RtsFlags::OUT_CHANNEL,
                [
                    C::Version(_),
                    C::Cookie(_),
                    C::Cookie(_),
                    C::ChannelLifetime(_),
                    C::ReceiveWindowSize(_),
                ],
            ) => RtsKind::ConnA2,
            (RtsFlags::NONE, [C::ConnectionTimeout(_)]) => RtsKind::ConnA3,
            (
                RtsFlags::NONE,
                [
                    C::Version(_),
                    C::Cookie(_),
                    C::Cookie(_),
                    C::ChannelLifetime(_),
                    C::ClientKeepalive(_),
                    C::AssociationGroupId(_),
                ],
            ) => RtsKind::ConnB1,
            (
                RtsFlags::IN_CHANNEL,
                [
                    C::Version(_),
                    C::Cookie(_),
                    C::Cookie(_),
                    C::ReceiveWindowSize(_),
                    C::ConnectionTimeout(_),
                    C::AssociationGroupId(_),
                    C::ClientAddress(_),
                ],
            ) => RtsKind::ConnB2,
            (RtsFlags::NONE, [C::ReceiveWindowSize(_), C::Version(_)]) => RtsKind::ConnB3,
            (
                RtsFlags::NONE,
                [
                    C::Version(_),
                    C::ReceiveWindowSize(_),
                    C::ConnectionTimeout(_),
                ],
            ) => RtsKind::ConnC1OrC2,
            (RtsFlags::OTHER_CMD, [C::FlowControlAck(_)]) => RtsKind::FlowControlAck,
            (RtsFlags::OTHER_CMD, [C::Destination(_), C::FlowControlAck(_)]) => {
                RtsKind::FlowControlAckWithDestination
            }
            (RtsFlags::OTHER_CMD, [C::PingTrafficSentNotify(_)]) => RtsKind::PingTrafficSentNotify,
            _ => RtsKind::Other,
        }
    }

    /// The first Cookie command's value, and the second's (virtual connection and channel
    /// cookies of CONN/A1, A2, B1, B2).
    pub fn cookies(&self) -> Vec<Uuid> {
        self.commands
            .iter()
            .filter_map(|c| match c {
                RtsCommand::Cookie(u) => Some(*u),
                _ => None,
            })
            .collect()
    }

    /// The FlowControlAck command, if any.
    pub fn flow_control_ack(&self) -> Option<FlowControlAck> {
        self.commands.iter().find_map(|c| match c {
            RtsCommand::FlowControlAck(a) => Some(*a),
            _ => None,
        })
    }

    /// Decodes a whole RTS PDU (common header included), checking the header rules of
    /// MS-RPCH 2.2.3.6.1.
    pub fn decode(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        let h = CommonHeader::decode(r).within("RtsPdu")?;
        if h.ptype != PacketType::RTS {
            return Err(
                DecodeError::invalid("PTYPE", r.offset() - 14, "not an RTS PDU").within("RtsPdu"),
            );
        }
        if h.auth_length != 0 {
            return Err(
                DecodeError::invalid("auth_length", r.offset() - 6, "must be 0").within("RtsPdu"),
            );
        }
        let mut body = r
            .sub(usize::from(h.frag_length) - CommonHeader::SIZE, "fragment")
            .within("RtsPdu")?;
        let p = Self::decode_body(&mut body)?;
        body.finish("RTS commands").within("RtsPdu")?;
        Ok(p)
    }

    /// Decodes a buffer holding exactly one RTS PDU.
    pub fn from_bytes(buf: &[u8]) -> DecodeResult<Self> {
        let mut r = ReadCursor::new(buf);
        let p = Self::decode(&mut r)?;
        r.finish("RtsPdu")?;
        Ok(p)
    }

    /// Decodes Flags, NumberOfCommands and the commands (the part after the common header).
    pub fn decode_body(r: &mut ReadCursor<'_>) -> DecodeResult<Self> {
        let flags = RtsFlags(r.u16("Flags").within("RtsPdu")?);
        let n = r.u16("NumberOfCommands").within("RtsPdu")?;
        // Each command is at least 4 bytes: bound the allocation by the input.
        let mut commands = Vec::with_capacity(usize::from(n).min(r.remaining() / 4));
        for _ in 0..n {
            commands.push(
                RtsCommand::decode(r)
                    .within("RtsCommand")
                    .within("RtsPdu")?,
            );
        }
        Ok(Self { flags, commands })
    }

    /// Writes Flags, NumberOfCommands and the commands.
    pub fn encode_body(&self, w: &mut WriteCursor) -> EncodeResult {
        w.u16(self.flags.0);
        w.u16(count_u16(
            self.commands.len(),
            "RtsPdu",
            "NumberOfCommands",
        )?);
        for c in &self.commands {
            c.encode(w)?;
        }
        Ok(())
    }

    /// Writes the whole PDU: common header (PFC_FIRST_FRAG|PFC_LAST_FRAG, call_id 0), then the body.
    pub fn encode(&self, w: &mut WriteCursor) -> EncodeResult {
        let start = w.len();
        CommonHeader {
            rpc_vers_minor: 0,
            ptype: PacketType::RTS,
            pfc_flags: PfcFlags::FIRST_AND_LAST,
            drep: CommonHeader::DREP_LE,
            frag_length: 0,
            auth_length: 0,
            call_id: 0,
        }
        .encode(w);
        self.encode_body(w)?;
        let len = w.len() - start;
        w.patch_u16(start + 8, len, "RtsPdu", "frag_length")
    }

    /// The whole PDU as bytes.
    pub fn to_bytes(&self) -> EncodeResult<Vec<u8>> {
        let mut w = WriteCursor::new();
        self.encode(&mut w)?;
        Ok(w.into_inner())
    }
}
