//! A TLS-terminating proxy between the client and the lab server, for the suites that need a
//! server misbehaving on cue: answers lost, connections refused, a RopBackoff or an
//! RPC_S_SERVER_TOO_BUSY in place of the server's answer.
//!
//! It presents the lab server's own certificate (so the client's trust settings are
//! unchanged), reads one whole HTTP/1.1 request at a time, asks a [`Hook`] what to do with
//! it, and relays request/response pairs in order on each connection. MAPI/HTTP only: the
//! hooks read Execute bodies (MS-OXCMAPIHTTP 2.2.4.2).

#![allow(dead_code)] // each suite uses part of it

use std::sync::Arc;

use oxmapi_wire::mapihttp::emsmdb::{
    ConnectResponse, ExecuteRequest, ExecuteResponse, ExecuteSuccess,
};
use oxmapi_wire::mapihttp::{FailureBody, Response};
use oxmapi_wire::rop::{BackoffResponse, RopRequest, RopRequestBuffer};
use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_chain};
use oxmapi_wire::{Decode, Encode};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::write_support::Lab;

/// One HTTP/1.1 message: the head (start line and headers, without the blank line) and the
/// body, de-chunked.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

impl Message {
    /// The value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// `X-RequestType` of a MAPI/HTTP request or response.
    pub(crate) fn request_type(&self) -> Option<&str> {
        self.header("x-requesttype")
    }

    /// The message as bytes, framed by Content-Length.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for line in self.head.lines() {
            let name = line.split(':').next().unwrap_or("").trim();
            if name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding")
            {
                continue;
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// The Execute request and its ROP request buffer, if this is one.
    pub(crate) fn execute_rops(&self) -> Option<(ExecuteRequest, RopRequestBuffer)> {
        if !self
            .request_type()
            .is_some_and(|t| t.eq_ignore_ascii_case("execute"))
        {
            return None;
        }
        let exec = ExecuteRequest::from_bytes(&self.body).ok()?;
        let payloads = unpack_chain(&exec.rop_buffer).ok()?;
        let rops = RopRequestBuffer::decode(payloads.first()?).ok()?;
        Some((exec, rops))
    }

    /// True for an Execute carrying a ROP for which `pick` is true.
    pub(crate) fn carries(&self, pick: impl Fn(&RopRequest) -> bool) -> bool {
        self.execute_rops()
            .is_some_and(|(_, b)| b.rops.iter().any(pick))
    }

    /// This Execute request with `rops` as its ROP buffer.
    pub(crate) fn with_rops(&self, exec: &ExecuteRequest, rops: &RopRequestBuffer) -> Self {
        let payload = rops.to_bytes().unwrap();
        let exec = ExecuteRequest {
            rop_buffer: pack_segment(&payload, plain()).unwrap(),
            ..exec.clone()
        };
        Self {
            head: self.head.clone(),
            body: exec.to_bytes().unwrap(),
        }
    }

    /// A MAPI/HTTP response's body split into the meta-tags and additional headers
    /// (`PROCESSING`, `DONE`, `X-ElapsedTime`, ... and the blank line; MS-OXCMAPIHTTP
    /// 2.2.7) and the binary response.
    fn mapi_parts(&self) -> (Vec<u8>, Vec<u8>) {
        let done = find(&self.body, b"DONE\r\n").unwrap_or_else(|| {
            panic!(
                "not a MAPI/HTTP response body: {}\n{:?}",
                self.head,
                String::from_utf8_lossy(&self.body)
            )
        });
        let end = done + find(&self.body[done..], b"\r\n\r\n").unwrap() + 4;
        (self.body[..end].to_vec(), self.body[end..].to_vec())
    }

    fn with_binary(&self, binary: Vec<u8>) -> Self {
        let (mut body, _) = self.mapi_parts();
        body.extend(binary);
        Self {
            head: self.head.clone(),
            body,
        }
    }

    /// The server object handle table of this Execute response.
    pub(crate) fn execute_handles(&self) -> Vec<u32> {
        let (_, binary) = self.mapi_parts();
        let Response::Success(ok) = ExecuteResponse::from_bytes(&binary).unwrap() else {
            panic!("the server failed the Execute");
        };
        let buffer = unpack_chain(&ok.rop_buffer).unwrap().remove(0);
        let rop_size = usize::from(u16::from_le_bytes([buffer[0], buffer[1]]));
        buffer[rop_size..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    /// This Execute response with `backoff` after the answers (or, with `keep_answers`
    /// false, in place of them), the handle table unchanged.
    pub(crate) fn with_backoff(&self, backoff: &BackoffResponse, keep_answers: bool) -> Self {
        let (_, binary) = self.mapi_parts();
        let Response::Success(mut ok) = ExecuteResponse::from_bytes(&binary).unwrap() else {
            panic!("the server failed the Execute");
        };
        let buffer = unpack_chain(&ok.rop_buffer).unwrap().remove(0);
        let rop_size = usize::from(u16::from_le_bytes([buffer[0], buffer[1]]));
        let (list, handles) = (&buffer[2..rop_size], &buffer[rop_size..]);
        let mut rops = if keep_answers {
            list.to_vec()
        } else {
            Vec::new()
        };
        rops.extend(backoff.to_bytes().unwrap());
        let mut out = u16::try_from(rops.len() + 2)
            .unwrap()
            .to_le_bytes()
            .to_vec();
        out.extend(rops);
        out.extend_from_slice(handles);
        ok.rop_buffer = pack_segment(&out, plain()).unwrap();
        self.with_binary(Response::Success(ok).to_bytes().unwrap())
    }

    /// This Execute response replaced by the failure form with StatusCode `status`
    /// (MS-OXCMAPIHTTP 2.2.4.2.2), e.g. RPC_S_SERVER_TOO_BUSY (MS-OXCROPS 3.2.4.2).
    pub(crate) fn with_execute_failure(&self, status: u32) -> Self {
        let failure: Response<ExecuteSuccess> = Response::Failure(FailureBody {
            status_code: status,
            aux: Vec::new(),
        });
        self.with_binary(failure.to_bytes().unwrap())
    }

    /// This Connect response with other RetryCount / RetryDelay (MS-OXCMAPIHTTP 2.2.4.1.2);
    /// any other answer (a 401 asking for credentials) unchanged.
    pub(crate) fn with_connect_retry(&self, count: u32, delay_ms: u32) -> Self {
        if !self.head.starts_with("HTTP/1.1 200") {
            return self.clone();
        }
        let (_, binary) = self.mapi_parts();
        let Response::Success(mut ok) = ConnectResponse::from_bytes(&binary).unwrap() else {
            panic!("the server failed the Connect");
        };
        ok.retry_count = count;
        ok.retry_delay = delay_ms;
        self.with_binary(Response::Success(ok).to_bytes().unwrap())
    }
}

fn plain() -> PackOptions {
    PackOptions {
        compress: false,
        xor: false,
        last: true,
    }
}

/// What the proxy does with one request.
pub(crate) enum Plan {
    /// Forward it and relay the answer.
    Relay,
    /// Forward `request` instead, and relay `response(answer)`.
    Rewrite {
        request: Message,
        response: Box<dyn FnOnce(Message) -> Message + Send>,
    },
    /// Forward it, wait for the server's whole answer (so the request really ran), then drop
    /// the client's connection without relaying it.
    LoseAnswer,
    /// Drop the client's connection without forwarding anything.
    Refuse,
}

/// Decides each request's fate; called in the order requests arrive.
pub(crate) trait Hook: Send + Sync + 'static {
    fn plan(&self, request: &Message) -> Plan;
}

/// Starts the proxy in front of `lab`; returns its `https://` URL.
pub(crate) async fn start(lab: &Lab, hook: Arc<dyn Hook>) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = oxmapi_server::tls::ServerCert::load_or_generate(lab._dir.path()).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cert.server_config().unwrap()));
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(lab.server.ca_path()).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let client_cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_cfg));
    let upstream = lab.server.local_addr();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, connector, hook) = (acceptor.clone(), connector.clone(), hook.clone());
            tokio::spawn(async move {
                let Ok(client) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(up) = TcpStream::connect(upstream).await else {
                    return;
                };
                let name = ServerName::IpAddress(upstream.ip().into());
                let Ok(server) = connector.connect(name, up).await else {
                    return;
                };
                let _ = relay(client, server, hook.as_ref()).await;
            });
        }
    });
    url
}

async fn relay(
    mut client: impl AsyncRead + AsyncWrite + Unpin,
    mut server: impl AsyncRead + AsyncWrite + Unpin,
    hook: &dyn Hook,
) -> std::io::Result<()> {
    let mut cbuf = Vec::new();
    let mut sbuf = Vec::new();
    loop {
        let Some(request) = read_message(&mut client, &mut cbuf).await? else {
            return Ok(());
        };
        let (forward, rewrite, lose) = match hook.plan(&request) {
            Plan::Refuse => return Ok(()),
            Plan::Relay => (request, None, false),
            Plan::LoseAnswer => (request, None, true),
            Plan::Rewrite { request, response } => (request, Some(response), false),
        };
        server.write_all(&forward.to_bytes()).await?;
        let Some(answer) = read_message(&mut server, &mut sbuf).await? else {
            return Ok(());
        };
        if lose {
            return Ok(());
        }
        let answer = match rewrite {
            Some(f) => f(answer),
            None => answer,
        };
        client.write_all(&answer.to_bytes()).await?;
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Reads one HTTP/1.1 message (head + Content-Length or chunked body).
async fn read_message(
    s: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Message>> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        if !fill(s, buf).await? {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end - 4]).to_string();
    let probe = Message {
        head: head.clone(),
        body: Vec::new(),
    };
    let mut body = None;
    let total = if let Some(n) = probe.header("content-length") {
        head_end + n.parse::<usize>().unwrap_or(0)
    } else if probe
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        let mut at = head_end;
        let body = body.insert(Vec::new());
        loop {
            let line_end = loop {
                if let Some(i) = find(&buf[at..], b"\r\n") {
                    break at + i;
                }
                if !fill(s, buf).await? {
                    return Ok(None);
                }
            };
            let size_text = String::from_utf8_lossy(&buf[at..line_end]).to_string();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
                .unwrap_or(0);
            let data = line_end + 2;
            at = data + size + 2;
            while buf.len() < at {
                if !fill(s, buf).await? {
                    return Ok(None);
                }
            }
            body.extend_from_slice(&buf[data..data + size]);
            if size == 0 {
                break at;
            }
        }
    } else {
        // Requests without a body, and responses without framing headers.
        head_end
    };
    while buf.len() < total {
        if !fill(s, buf).await? {
            return Ok(None);
        }
    }
    let raw: Vec<u8> = buf.drain(..total).collect();
    let body = body.unwrap_or_else(|| raw[head_end..].to_vec());
    Ok(Some(Message { head, body }))
}

async fn fill(s: &mut (impl AsyncRead + Unpin), buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    let n = s.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}
