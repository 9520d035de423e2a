//! A raw MAPI/HTTP client over the transport and the wire codecs (the way
//! `crates/oxmapi/benches/read.rs` replays ROPs): Connect (MS-OXCMAPIHTTP 2.2.4.1), RopLogon
//! (MS-OXCROPS 2.2.3.1), Execute (2.2.4.2) with RopBackoff honoured (MS-OXCROPS 3.2.4.2),
//! Disconnect (2.2.4.3), and the table ROPs the measurements time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use oxmapi_transport::{
    AuthScheme, Credentials, Endpoint, HttpAuth, MapiHttpClient, MapiHttpSession, Secret, Timeouts,
    TlsConfig, TlsPolicy, TransportConfig,
};
use oxmapi_wire::data::restriction::{BMR_EQZ, FL_IGNORECASE, FL_SUBSTRING};
use oxmapi_wire::data::{FolderId, PropertyTag, PropertyValue, Restriction, tags};
use oxmapi_wire::mapihttp::Response;
use oxmapi_wire::mapihttp::emsmdb::{
    ConnectRequest, ConnectResponse, DisconnectRequest, ExecuteRequest, ExecuteResponse,
};
use oxmapi_wire::rop::{
    GetContentsTableRequest, GetPropertiesSpecificRequest, LogonRequest, OpenFolderRequest,
    QueryRowsRequest, ReleaseRequest, RestrictRequest, RopRequest, RopRequestBuffer, RopResponse,
    RopResponseBuffer, SetColumnsRequest, SortOrder, SortOrderSet, SortTableRequest, logon_flags,
    open_flags,
};
use oxmapi_wire::rpcext::{PackOptions, pack_segment, unpack_chain};
use oxmapi_wire::{Decode as _, Encode as _};

/// A free slot in the handle table.
const NULL: u32 = u32::MAX;
/// MSGFLAG_READ (MS-OXCMSG 2.2.1.6).
const MSGFLAG_READ: u32 = 0x0000_0001;
/// The longest a call may keep retrying after RopBackoff.
const BACKOFF_BUDGET: Duration = Duration::from_secs(600);

/// The columns of the contents tables the measurements read.
pub(crate) const COLUMNS: [PropertyTag; 4] = [
    tags::PidTagMid,
    tags::PidTagSubject,
    tags::PidTagMessageDeliveryTime,
    tags::PidTagMessageFlags,
];

/// Folder properties read by the small request of (c).
pub(crate) const FOLDER_TAGS: [PropertyTag; 3] = [
    tags::PidTagDisplayName,
    tags::PidTagContentCount,
    tags::PidTagContentUnreadCount,
];

/// Where and as whom to log on.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `https://127.0.0.1:PORT`.
    pub(crate) url: String,
    pub(crate) ca: PathBuf,
    /// HTTP Basic user name.
    pub(crate) user: String,
    pub(crate) password: String,
    /// MailboxId (the personalized server name).
    pub(crate) mailbox_id: String,
    /// The user's legacyExchangeDN.
    pub(crate) dn: String,
}

impl Target {
    /// A client for this target's sessions (TLS verified through the CA file, Basic auth).
    pub(crate) fn client(&self) -> Result<MapiHttpClient> {
        let mut cfg = TransportConfig::new(self.url.clone());
        cfg.tls = TlsConfig {
            policy: TlsPolicy::CaFile(self.ca.clone()),
            expected_principal: None,
        };
        cfg.auth = Some(HttpAuth {
            scheme: AuthScheme::Basic,
            credentials: Credentials {
                user: self.user.clone(),
                domain: None,
                password: Secret::new(self.password.clone()),
            },
        });
        // A sort over 100k rows may legitimately take minutes on a slow store.
        cfg.timeouts = Timeouts {
            connect: Duration::from_secs(30),
            response_headers: Duration::from_secs(900),
            body_idle: Duration::from_secs(900),
        };
        Ok(MapiHttpClient::new(cfg)?)
    }
}

/// One logged-on session context.
pub(crate) struct Mapi {
    http: MapiHttpSession,
    pub(crate) logon: u32,
    pub(crate) inbox: FolderId,
    /// RopBackoff answers seen (each one retried after its duration).
    pub(crate) backoffs: u64,
}

/// The answers to the ROPs sent (RopNotify / RopPending left out) and the handle table.
pub(crate) type Answer = (Vec<RopResponse>, Vec<u32>);

impl Mapi {
    /// Connect + RopLogon (private mailbox); the Inbox is FolderIds[4] (MS-OXCROPS 2.2.3.1.3).
    pub(crate) async fn logon(client: &MapiHttpClient, t: &Target) -> Result<Self> {
        let mut http = client.session(Endpoint::Emsmdb, &t.mailbox_id);
        let body = ConnectRequest {
            user_dn: t.dn.clone(),
            flags: 0,
            default_code_page: 1252,
            lcid_sort: 0x409,
            lcid_string: 0x409,
            aux: Vec::new(),
        }
        .to_bytes()?;
        let resp = http.post("Connect", body).await.context("Connect")?;
        match ConnectResponse::from_bytes(&resp.body)? {
            Response::Success(s) if s.error_code == 0 => {}
            Response::Success(s) => bail!("Connect ErrorCode {:#x}", s.error_code),
            Response::Failure(f) => bail!("Connect StatusCode {}", f.status_code),
        }
        let mut me = Self {
            http,
            logon: NULL,
            inbox: FolderId(0),
            backoffs: 0,
        };
        let logon = LogonRequest {
            logon_id: 0,
            output_handle_index: 0,
            logon_flags: logon_flags::PRIVATE,
            open_flags: open_flags::USE_PER_MDB_REPLID_MAPPING
                | open_flags::TAKE_OWNERSHIP
                | open_flags::HOME_LOGON,
            store_state: 0,
            essdn: Some(t.dn.clone()),
        };
        let (r, h) = me.run(vec![logon.into()], vec![NULL]).await?;
        match r.first() {
            Some(RopResponse::LogonPrivate(l)) => {
                me.logon = h[0];
                me.inbox = l.folder_ids[4];
                Ok(me)
            }
            other => Err(anyhow!("RopLogon: {}", describe(other))),
        }
    }

    /// One Execute; the answers to the ROPs sent, without notifications.
    pub(crate) async fn execute(
        &mut self,
        rops: Vec<RopRequest>,
        handles: Vec<u32>,
    ) -> Result<Answer> {
        let req = RopRequestBuffer { rops, handles };
        let contexts = req
            .response_contexts(|_, _| Some(COLUMNS.to_vec()))
            .map_err(|e| anyhow!("{e}"))?;
        let rop_buffer = pack_segment(
            &req.to_bytes()?,
            PackOptions {
                compress: true,
                xor: true,
                last: true,
            },
        )?;
        let body = ExecuteRequest {
            flags: 0,
            rop_buffer,
            max_rop_out: 0x4_0000,
            aux: Vec::new(),
        }
        .to_bytes()?;
        let resp = self.http.post("Execute", body).await.context("Execute")?;
        let ok = match ExecuteResponse::from_bytes(&resp.body)? {
            Response::Success(s) => s,
            Response::Failure(f) => bail!("Execute StatusCode {}", f.status_code),
        };
        if ok.error_code != 0 {
            bail!("Execute ErrorCode {:#x}", ok.error_code);
        }
        let payloads = unpack_chain(&ok.rop_buffer)?;
        let first = payloads.first().context("no ROP output buffer")?;
        let out = RopResponseBuffer::decode(first, &contexts)?;
        let rops = out
            .rops
            .into_iter()
            .filter(|r| {
                !matches!(
                    r,
                    RopResponse::Notify(_)
                        | RopResponse::Pending(_)
                        | RopResponse::UndecodedNotifications(_)
                )
            })
            .collect();
        Ok((rops, out.handles))
    }

    /// Execute until every ROP is answered: after a RopBackoff (which takes the place of the
    /// delayed ROP; nothing after it ran, MS-OXCROPS 3.2.4.2) it waits the duration asked and
    /// sends the delayed ROP and those after it again. No RopRelease in `rops` (it has no
    /// answer to count).
    pub(crate) async fn run(&mut self, rops: Vec<RopRequest>, handles: Vec<u32>) -> Result<Answer> {
        let started = Instant::now();
        let mut rest = rops;
        let mut handles = handles;
        let mut done = Vec::new();
        loop {
            let (mut r, h) = self.execute(rest.clone(), handles).await?;
            handles = h;
            let Some(at) = r.iter().position(|x| matches!(x, RopResponse::Backoff(_))) else {
                done.append(&mut r);
                return Ok((done, handles));
            };
            let wait = match &r[at] {
                RopResponse::Backoff(b) => b.duration,
                _ => 0,
            };
            self.backoffs += 1;
            if at > rest.len() || started.elapsed() > BACKOFF_BUDGET {
                bail!("still backed off after {:?}", started.elapsed());
            }
            r.truncate(at);
            done.append(&mut r);
            rest.drain(..at);
            tokio::time::sleep(Duration::from_millis(u64::from(wait.clamp(10, 60_000)))).await;
        }
    }

    /// RopOpenFolder on the Inbox; the folder handle.
    pub(crate) async fn open_inbox(&mut self) -> Result<u32> {
        let open = open_folder(self.inbox);
        let (r, h) = self.run(vec![open], vec![self.logon, NULL]).await?;
        expect(&r, 1)?;
        Ok(h[1])
    }

    /// RopOpenFolder (Inbox) + RopGetContentsTable + RopSetColumns ([`COLUMNS`]) in one
    /// Execute; the (folder, table) handles.
    pub(crate) async fn open_table(&mut self) -> Result<(u32, u32)> {
        let rops = vec![
            open_folder(self.inbox),
            GetContentsTableRequest {
                logon_id: 0,
                input_handle_index: 1,
                output_handle_index: 2,
                table_flags: 0,
            }
            .into(),
            SetColumnsRequest {
                logon_id: 0,
                input_handle_index: 2,
                set_columns_flags: 0,
                property_tags: COLUMNS.to_vec(),
            }
            .into(),
        ];
        let (r, h) = self.run(rops, vec![self.logon, NULL, NULL]).await?;
        expect(&r, 3)?;
        Ok((h[1], h[2]))
    }

    /// RopSortTable (PidTagMessageDeliveryTime, descending or ascending) + RopQueryRows of
    /// `rows` rows in one Execute on `table`; the rows returned.
    pub(crate) async fn sort_and_read(
        &mut self,
        table: u32,
        desc: bool,
        rows: u16,
    ) -> Result<usize> {
        let sort = SortTableRequest {
            logon_id: 0,
            input_handle_index: 0,
            sort_table_flags: 0,
            sort_order_set: SortOrderSet {
                categorized_count: 0,
                expanded_count: 0,
                sort_orders: vec![SortOrder {
                    tag: tags::PidTagMessageDeliveryTime,
                    order: u8::from(desc),
                }],
            },
        };
        self.then_rows(sort.into(), table, rows).await
    }

    /// RopRestrict (subject contains `text`, ignoring case: ContentRestriction FL_SUBSTRING |
    /// FL_IGNORECASE, MS-OXCDATA 2.12.4) + RopQueryRows of `rows` rows from the start.
    pub(crate) async fn restrict_subject(
        &mut self,
        table: u32,
        text: &str,
        rows: u16,
    ) -> Result<usize> {
        let res = Restriction::Content {
            fuzzy_level_low: FL_SUBSTRING,
            fuzzy_level_high: FL_IGNORECASE,
            tag: tags::PidTagSubject,
            value: oxmapi_wire::data::TaggedPropertyValue::new(
                tags::PidTagSubject,
                PropertyValue::Unicode(text.to_owned()),
            ),
        };
        self.restricted_rows(table, res, rows).await
    }

    /// RopRestrict (unread: BitMaskRestriction BMR_EQZ on PidTagMessageFlags & MSGFLAG_READ,
    /// MS-OXCDATA 2.12.7) + RopQueryRows of `rows` rows from the start.
    pub(crate) async fn restrict_unread(&mut self, table: u32, rows: u16) -> Result<usize> {
        let res = Restriction::Bitmask {
            relop: BMR_EQZ,
            tag: tags::PidTagMessageFlags,
            mask: MSGFLAG_READ,
        };
        self.restricted_rows(table, res, rows).await
    }

    async fn restricted_rows(&mut self, table: u32, res: Restriction, rows: u16) -> Result<usize> {
        let restrict = RestrictRequest {
            logon_id: 0,
            input_handle_index: 0,
            restrict_flags: 0,
            restriction: Some(res),
        };
        self.then_rows(restrict.into(), table, rows).await
    }

    /// `first` (on the table in slot 0) then RopQueryRows; the rows returned.
    async fn then_rows(&mut self, first: RopRequest, table: u32, rows: u16) -> Result<usize> {
        let rops = vec![
            first,
            QueryRowsRequest {
                logon_id: 0,
                input_handle_index: 0,
                query_rows_flags: 0,
                forward_read: 1,
                row_count: rows,
            }
            .into(),
        ];
        let (r, _) = self.run(rops, vec![table]).await?;
        expect(&r, 2)?;
        match r.get(1) {
            Some(RopResponse::QueryRows(q)) => Ok(q.rows.len()),
            other => Err(anyhow!("RopQueryRows: {}", describe(other))),
        }
    }

    /// RopGetPropertiesSpecific ([`FOLDER_TAGS`]) on `folder`: the small request of (c).
    pub(crate) async fn folder_props(&mut self, folder: u32) -> Result<()> {
        let get = GetPropertiesSpecificRequest {
            logon_id: 0,
            input_handle_index: 0,
            property_size_limit: 0,
            want_unicode: 1,
            property_tags: FOLDER_TAGS.to_vec(),
        };
        let (r, _) = self.run(vec![get.into()], vec![folder]).await?;
        expect(&r, 1)
    }

    /// RopRelease of `handle` (no answer; notifications may come back).
    pub(crate) async fn release(&mut self, handle: u32) -> Result<()> {
        let rel = ReleaseRequest {
            logon_id: 0,
            input_handle_index: 0,
        };
        self.execute(vec![rel.into()], vec![handle]).await?;
        Ok(())
    }

    /// Disconnect (MS-OXCMAPIHTTP 2.2.4.3): the server drops the session context at once
    /// (gromox caps session contexts per user; expired ones would linger for minutes).
    pub(crate) async fn disconnect(mut self) -> Result<()> {
        let body = DisconnectRequest { aux: Vec::new() }.to_bytes()?;
        self.http.post("Disconnect", body).await?;
        Ok(())
    }
}

fn open_folder(fid: FolderId) -> RopRequest {
    OpenFolderRequest {
        logon_id: 0,
        input_handle_index: 0,
        output_handle_index: 1,
        folder_id: fid,
        open_mode_flags: 0,
    }
    .into()
}

/// `n` answers, none of them a failure.
fn expect(r: &[RopResponse], n: usize) -> Result<()> {
    if let Some(bad) = r.iter().find(|x| {
        matches!(
            x,
            RopResponse::Error(_)
                | RopResponse::BufferTooSmall(_)
                | RopResponse::NullDestination(_)
        )
    }) {
        bail!("{}", describe(Some(bad)));
    }
    if r.len() != n {
        bail!("{} answers, expected {n}", r.len());
    }
    Ok(())
}

fn describe(r: Option<&RopResponse>) -> String {
    match r {
        Some(RopResponse::Error(e)) => format!("{:?} failed with {}", e.rop_id, e.return_value),
        Some(other) => format!("{:?}", other.rop_id()),
        None => "no answer".to_owned(),
    }
}
