//! A scripted RPC over HTTP v2 server for the client tests: raw HTTP/1.1 on loopback (no
//! hyper, so every byte is ours), optional NTLM on each HTTP connection, the CONN/A1-A3, B1-C2
//! exchange, and a DCE/RPC server with NTLM (sspi) that seals/signs the whole fragment.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use oxmapi_wire::dcerpc::framer::fragment_stub;
use oxmapi_wire::dcerpc::ndr::{ContextHandle, NdrCodec};
use oxmapi_wire::dcerpc::nspi::{NspiBindResponse, NspiUnbindResponse};
use oxmapi_wire::dcerpc::pdu::{BindAck, ContextResult, ContextResultKind, Fault, Response};
use oxmapi_wire::dcerpc::rts::RtsKind;
use oxmapi_wire::dcerpc::{
    AuthLayout, AuthLevel, AuthType, FaultStatus, FrameStatus, PacketType, Pdu, PduBody, PduFramer,
    PfcFlags, Reassembler, RtsPdu, SecTrailer, SyntaxId, Uuid,
};
use sspi::{
    AuthIdentity, BufferType, CredentialUse, DataRepresentation, EncryptionFlags, Ntlm,
    SecurityBuffer, SecurityBufferFlags, SecurityBufferRef, SecurityStatus, ServerRequestFlags,
    Sspi, SspiEx, SspiImpl, Username,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub(crate) const USER: &str = "alice";
pub(crate) const DOMAIN: &str = "TESTDOM";
pub(crate) const PASSWORD: &str = "Passw0rd!";
/// Opnum that answers nca_op_rng_error.
pub(crate) const BAD_OPNUM: u16 = 99;

/// HTTP authentication of the proxy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Gate {
    None,
    Ntlm,
}

/// What the server does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Script {
    /// Echo: a call's response stub is its request stub reversed.
    Normal,
    /// `HTTP/1.0 503 RPC Error: 6ba` to RPC_OUT_DATA.
    Proxy503,
    /// Close the OUT channel when the first request arrives.
    CloseOutOnRequest,
    /// Never answer requests.
    Stall,
    /// Corrupt the signature of responses.
    BadSignature,
}

/// One request head as the server saw it.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: HashMap<String, String>,
}

struct Shared {
    gate: Gate,
    script: Script,
    outs: Mutex<HashMap<Uuid, mpsc::UnboundedSender<Vec<u8>>>>,
    seen: Mutex<Vec<Seen>>,
    /// RTS PDUs received on IN channels after CONN/B1.
    rts_in: Mutex<Vec<RtsKind>>,
    /// ConnectionTimeout announced in CONN/A3 and CONN/C2, milliseconds.
    connection_timeout_ms: u32,
}

pub(crate) struct RpchServer {
    pub(crate) addr: SocketAddr,
    shared: Arc<Shared>,
}

impl RpchServer {
    pub(crate) async fn start(gate: Gate, script: Script) -> Self {
        Self::start_with_connection_timeout(gate, script, 120_000).await
    }

    /// A server announcing `connection_timeout_ms` in CONN/A3 and CONN/C2.
    pub(crate) async fn start_with_connection_timeout(
        gate: Gate,
        script: Script,
        connection_timeout_ms: u32,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            gate,
            script,
            outs: Mutex::default(),
            seen: Mutex::default(),
            rts_in: Mutex::default(),
            connection_timeout_ms,
        });
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(connection(tcp, s.clone()));
            }
        });
        Self { addr, shared }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub(crate) fn rts_in(&self) -> Vec<RtsKind> {
        self.shared.rts_in.lock().unwrap().clone()
    }
}

async fn connection(tcp: TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = tcp.into_split();
    let mut read = BufReader::new(read);
    let mut acceptor = Acceptor::new();
    loop {
        let Some(head) = read_head(&mut read).await else {
            return;
        };
        shared.seen.lock().unwrap().push(head.clone());
        if shared.gate == Gate::Ntlm {
            let token = head
                .headers
                .get("authorization")
                .and_then(|v| v.strip_prefix("NTLM "))
                .and_then(|t| B64.decode(t).ok());
            let Some(token) = token else {
                let _ = write
                    .write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: NTLM\r\nContent-Length: 0\r\n\r\n")
                    .await;
                continue;
            };
            match acceptor.step(token) {
                Ok((challenge, false)) => {
                    let reply = format!(
                        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: NTLM {}\r\nContent-Length: 0\r\n\r\n",
                        B64.encode(challenge)
                    );
                    let _ = write.write_all(reply.as_bytes()).await;
                    continue;
                }
                Ok((_, true)) => {}
                Err(_) => {
                    let _ = write
                        .write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                    return;
                }
            }
        }
        let length: u64 = head
            .headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if length <= 16 {
            // MS-RPCH 2.1.2.1.5/6: an echo request, answered with the 20-byte echo PDU.
            let mut reply = b"HTTP/1.1 200 Success\r\nContent-Type: application/rpc\r\nContent-Length: 20\r\n\r\n".to_vec();
            reply.extend(RtsPdu::echo().to_bytes().unwrap());
            let mut skip = vec![0u8; length as usize];
            let _ = read.read_exact(&mut skip).await;
            if write.write_all(&reply).await.is_err() {
                return;
            }
            continue;
        }
        match head.method.as_str() {
            "RPC_OUT_DATA" => return out_channel(read, write, &shared).await,
            "RPC_IN_DATA" => return in_channel(read, &shared).await,
            _ => {
                let _ = write
                    .write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                    .await;
                return;
            }
        }
    }
}

async fn out_channel(
    mut read: BufReader<OwnedReadHalf>,
    mut write: tokio::net::tcp::OwnedWriteHalf,
    shared: &Shared,
) {
    if shared.script == Script::Proxy503 {
        let _ = write
            .write_all(b"HTTP/1.0 503 RPC Error: 6ba\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    }
    let mut a1 = [0u8; 76];
    if read.read_exact(&mut a1).await.is_err() {
        return;
    }
    let a1 = RtsPdu::from_bytes(&a1).unwrap();
    assert_eq!(a1.kind(), RtsKind::ConnA1);
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    shared.outs.lock().unwrap().insert(a1.cookies()[0], tx);
    let mut head = b"HTTP/1.1 200 Success\r\nContent-Type: application/rpc\r\nContent-Length: 1073741824\r\n\r\n".to_vec();
    head.extend(
        RtsPdu::conn_a3(shared.connection_timeout_ms)
            .to_bytes()
            .unwrap(),
    );
    if write.write_all(&head).await.is_err() {
        return;
    }
    while let Some(pdu) = rx.recv().await {
        if write.write_all(&pdu).await.is_err() {
            return;
        }
    }
    // All senders gone: close the OUT channel.
}

async fn in_channel(mut read: BufReader<OwnedReadHalf>, shared: &Shared) {
    let mut framer = PduFramer::new();
    let mut out: Option<mpsc::UnboundedSender<Vec<u8>>> = None;
    let mut dce = DceServer::new(shared.script);
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match read.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        framer.push(&buf[..n]);
        while let Ok(FrameStatus::Ready(pdu)) = framer.next_pdu() {
            let ptype = PacketType(pdu[2]);
            if ptype == PacketType::RTS {
                let rts = RtsPdu::from_bytes(&pdu).unwrap();
                if rts.kind() == RtsKind::ConnB1 {
                    out = wait_out(shared, rts.cookies()[0]).await;
                    if let Some(tx) = &out {
                        let c2 = RtsPdu::conn_c2(0x10000, shared.connection_timeout_ms);
                        let _ = tx.send(c2.to_bytes().unwrap());
                    }
                } else {
                    shared.rts_in.lock().unwrap().push(rts.kind());
                }
                continue;
            }
            if ptype == PacketType::REQUEST && shared.script == Script::CloseOutOnRequest {
                shared.outs.lock().unwrap().clear();
                return; // drops `out`: the OUT channel closes
            }
            if ptype == PacketType::REQUEST && shared.script == Script::Stall {
                continue;
            }
            for reply in dce.handle(pdu) {
                if let Some(tx) = &out {
                    let _ = tx.send(reply);
                }
            }
        }
    }
}

async fn wait_out(shared: &Shared, cookie: Uuid) -> Option<mpsc::UnboundedSender<Vec<u8>>> {
    for _ in 0..200 {
        if let Some(tx) = shared.outs.lock().unwrap().get(&cookie) {
            return Some(tx.clone());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

async fn read_head(read: &mut BufReader<OwnedReadHalf>) -> Option<Seen> {
    let mut line = String::new();
    read.read_line(&mut line).await.ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        line.clear();
        read.read_line(&mut line).await.ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (name, value) = l.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    Some(Seen {
        method,
        path,
        headers,
    })
}

/// The DCE/RPC side: bind (NTLM CHALLENGE), auth3, requests answered by the echo handler.
struct DceServer {
    script: Script,
    acceptor: Acceptor,
    level: Option<AuthLevel>,
    interface: Option<SyntaxId>,
    auth_failed: bool,
    reassembler: Reassembler,
}

impl DceServer {
    fn new(script: Script) -> Self {
        Self {
            script,
            acceptor: Acceptor::new(),
            level: None,
            interface: None,
            auth_failed: false,
            reassembler: Reassembler::new(1 << 20),
        }
    }

    fn handle(&mut self, mut frag: Vec<u8>) -> Vec<Vec<u8>> {
        let ptype = PacketType(frag[2]);
        if ptype == PacketType::REQUEST && self.level.is_some() {
            if self.auth_failed {
                return vec![fault(
                    u32::from_le_bytes(frag[12..16].try_into().unwrap()),
                    FaultStatus::NCA_S_FAULT_ACCESS_DENIED,
                )];
            }
            let privacy = self.level == Some(AuthLevel::PKT_PRIVACY);
            let mut parts = Parts::split(&mut frag);
            let mut bufs = parts.buffers(privacy);
            self.acceptor.ntlm.decrypt_message(&mut bufs).unwrap();
        }
        let pdu = Pdu::from_bytes(&frag).unwrap();
        match pdu.body {
            PduBody::Bind(bind) => {
                let ctx = &bind.contexts[0];
                self.interface = Some(ctx.abstract_syntax);
                let mut ack = Pdu::new(
                    pdu.call_id,
                    PduBody::BindAck(BindAck {
                        max_xmit_frag: 5840,
                        max_recv_frag: 5840,
                        assoc_group_id: 0x1234,
                        secondary_address: b"6001\0".to_vec(),
                        results: vec![ContextResult {
                            result: ContextResultKind::ACCEPTANCE,
                            reason: 0,
                            transfer_syntax: SyntaxId::NDR,
                        }],
                    }),
                );
                if let Some(auth) = pdu.auth {
                    self.level = Some(auth.auth_level);
                    let (challenge, _) = self.acceptor.step(auth.auth_value).unwrap();
                    ack = ack
                        .with_auth(trailer(auth.auth_level, challenge), 4)
                        .unwrap();
                }
                vec![ack.to_bytes().unwrap()]
            }
            PduBody::Auth3 { .. } => {
                let token = pdu.auth.unwrap().auth_value;
                self.auth_failed = !matches!(self.acceptor.step(token), Ok((_, true)));
                Vec::new()
            }
            PduBody::Request(ref req) => {
                let opnum = req.opnum;
                let Some(call) = self.reassembler.push(&pdu).unwrap() else {
                    return Vec::new();
                };
                if opnum == BAD_OPNUM {
                    return vec![fault(call.call_id, FaultStatus::NCA_OP_RNG_ERROR)];
                }
                let stub = self.answer(opnum, call.stub);
                self.response(call.call_id, &stub)
            }
            _ => Vec::new(),
        }
    }

    fn answer(&self, opnum: u16, mut stub: Vec<u8>) -> Vec<u8> {
        if self.interface == Some(SyntaxId::NSPI) {
            let handle = ContextHandle::new(Uuid([7; 16]));
            return match opnum {
                0 => NspiBindResponse {
                    server_guid: Some(Uuid([9; 16])),
                    handle,
                    result: oxmapi_wire::data::ErrorCode(0),
                }
                .to_stub()
                .unwrap(),
                _ => NspiUnbindResponse {
                    handle: ContextHandle::default(),
                    result: oxmapi_wire::data::ErrorCode(1),
                }
                .to_stub()
                .unwrap(),
            };
        }
        stub.reverse();
        stub
    }

    fn response(&mut self, call_id: u32, stub: &[u8]) -> Vec<Vec<u8>> {
        let overhead = if self.level.is_some() { 40 } else { 0 };
        let mut out = Vec::new();
        for (flags, chunk) in fragment_stub(stub, 5840, 8, overhead) {
            let mut pdu = Pdu::new(
                call_id,
                PduBody::Response(Response {
                    alloc_hint: stub.len() as u32,
                    context_id: 0,
                    cancel_count: 0,
                    stub: chunk.to_vec(),
                }),
            );
            pdu.pfc_flags = flags;
            let Some(level) = self.level else {
                out.push(pdu.to_bytes().unwrap());
                continue;
            };
            let pdu = pdu.with_auth(trailer(level, vec![0; 16]), 16).unwrap();
            let mut frag = pdu.to_bytes().unwrap();
            let mut parts = Parts::split(&mut frag);
            let mut bufs = parts.buffers(level == AuthLevel::PKT_PRIVACY);
            self.acceptor
                .ntlm
                .encrypt_message(EncryptionFlags::empty(), &mut bufs)
                .unwrap();
            if self.script == Script::BadSignature {
                let last = frag.len() - 1;
                frag[last] ^= 0xFF;
            }
            out.push(frag);
        }
        out
    }
}

fn fault(call_id: u32, status: FaultStatus) -> Vec<u8> {
    let mut pdu = Pdu::new(
        call_id,
        PduBody::Fault(Fault {
            alloc_hint: 0,
            context_id: 0,
            cancel_count: 0,
            flags: 0,
            status,
            reserved: 0,
            stub: Vec::new(),
        }),
    );
    pdu.pfc_flags = PfcFlags::FIRST_AND_LAST.with(PfcFlags::DID_NOT_EXECUTE);
    pdu.to_bytes().unwrap()
}

fn trailer(level: AuthLevel, auth_value: Vec<u8>) -> SecTrailer {
    SecTrailer {
        auth_type: AuthType::WINNT,
        auth_level: level,
        auth_pad_length: 0,
        auth_reserved: 0,
        auth_context_id: 0,
        auth_value,
    }
}

struct Parts<'a> {
    header: &'a mut [u8],
    body: &'a mut [u8],
    trailer: &'a mut [u8],
    token: &'a mut [u8],
}

impl<'a> Parts<'a> {
    fn split(frag: &'a mut [u8]) -> Self {
        let l = AuthLayout::of(frag).unwrap();
        let (rest, token) = frag.split_at_mut(l.auth_value.start);
        let (rest, trailer) = rest.split_at_mut(l.sec_trailer.start);
        let (header, body) = rest.split_at_mut(l.stub_and_pad.start);
        Self {
            header,
            body,
            trailer,
            token,
        }
    }

    fn buffers(&mut self, privacy: bool) -> Vec<SecurityBufferRef<'_>> {
        let ro = SecurityBufferFlags::SECBUFFER_READONLY_WITH_CHECKSUM;
        let body = SecurityBufferRef::data_buf(self.body);
        vec![
            SecurityBufferRef::data_buf(self.header).with_flags(ro),
            if privacy { body } else { body.with_flags(ro) },
            SecurityBufferRef::data_buf(self.trailer).with_flags(ro),
            SecurityBufferRef::token_buf(self.token),
        ]
    }
}

/// Server side of NTLM for the one test user.
struct Acceptor {
    ntlm: Ntlm,
    handle: Option<sspi::AuthIdentityBuffers>,
}

impl Acceptor {
    fn new() -> Self {
        let mut ntlm = Ntlm::new();
        let handle = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Inbound)
            .execute(&mut ntlm)
            .unwrap()
            .credentials_handle;
        Self { ntlm, handle }
    }

    /// Returns (output token, authenticated).
    fn step(&mut self, token: Vec<u8>) -> sspi::Result<(Vec<u8>, bool)> {
        let mut input = vec![SecurityBuffer::new(token, BufferType::Token)];
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let builder = self
            .ntlm
            .accept_security_context()
            .with_credentials_handle(&mut self.handle)
            .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output);
        let status = self
            .ntlm
            .accept_security_context_impl(builder)?
            .resolve_to_result()?
            .status;
        if matches!(
            status,
            SecurityStatus::CompleteNeeded | SecurityStatus::CompleteAndContinue
        ) {
            let name = self.ntlm.query_context_names()?.username;
            let account = name.account_name().to_owned();
            let password = if account == USER { PASSWORD } else { "" };
            self.ntlm.custom_set_auth_identity(AuthIdentity {
                username: Username::new(&account, Some(DOMAIN))?,
                password: password.to_owned().into(),
            })?;
            self.ntlm.complete_auth_token(&mut output)?;
            return Ok((Vec::new(), true));
        }
        let out = output
            .into_iter()
            .next()
            .map(|b| b.buffer)
            .unwrap_or_default();
        Ok((out, status == SecurityStatus::Ok))
    }
}
