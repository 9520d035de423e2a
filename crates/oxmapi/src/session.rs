//! `Session`: CDO's `MAPI.Session`, logged on over MAPI/HTTP.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use oxmapi_profile::{
    AuthMethod, CertPolicy, Config, Overrides, ProfileInfo, ProfileSelection, ResolvedProfile,
    Secret, Transport, resolve,
};
use oxmapi_transport::{
    AuthScheme, Credentials, Endpoint, HttpAuth, MapiHttpClient, TlsConfig, TlsPolicy,
    TransportConfig,
};
use oxmapi_wire::data::{ErrorCode, FolderId, PropertyRow, PropertyTag};
use oxmapi_wire::rop::{
    GetPropertiesSpecificRequest, LogonRequest, NotifyResponse, ReleaseRequest, ResponseContext,
    RopRequest, RopRequestBuffer, RopResponse, RopResponseBuffer, UndecodedNotifications,
    logon_flags, open_flags,
};
use oxmapi_wire::rpcext::{AuxBody, decode_aux_buffer};

use crate::abook_channel::AddressBook;
use crate::backoff::{self, Pacing, RetryPolicy};
use crate::channel::{self, Mailbox};
use crate::error::{Error, ErrorKind};
use crate::nspi;
use crate::report::{
    ErrorReport, LogonReport, MailboxReport, ProfileReport, StepReport, TlsReport, TransportReport,
};

/// The 13 folder IDs of a private-mailbox RopLogon response, in MS-OXCSTOR 2.2.1.1.3 order.
pub const SPECIAL_FOLDER_NAMES: [&str; 13] = [
    "Mailbox Root",
    "Deferred Action",
    "Spooler Queue",
    "Top of Information Store",
    "Inbox",
    "Outbox",
    "Sent Items",
    "Deleted Items",
    "Common Views",
    "Schedule",
    "Finder",
    "Views",
    "Shortcuts",
];

/// CDO's default folder constants (`CdoDefaultFolderInbox` = 1 ... ); those a logon
/// response carries directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultFolder {
    /// CdoDefaultFolderInbox (1).
    Inbox,
    /// CdoDefaultFolderOutbox (2).
    Outbox,
    /// CdoDefaultFolderSentItems (3).
    SentItems,
    /// CdoDefaultFolderDeletedItems (4).
    DeletedItems,
}

/// The arguments of CDO's `Session.Logon`, in Rust.
///
/// `Session.Logon(ProfileName, ProfilePassword, ShowDialog, NewSession, ParentWindow,
/// NoMail, ProfileInfo)`: give `profile_name` for a static profile, or `profile_info`
/// (`"server\nmailbox"`) for a dynamic one. Unlike CDO, credentials travel with the logon,
/// which is what makes Basic-only front ends and Office 365 reachable.
#[derive(Debug, Clone, Default)]
pub struct LogonParams {
    /// ProfileName: a static profile in the config file.
    pub profile_name: Option<String>,
    /// ProfileInfo: `"<server>\n<mailbox>"` for a dynamic profile.
    pub profile_info: Option<String>,
    /// The password for the front end (CDO's ProfilePassword was the profile's password;
    /// here it is the account's).
    pub password: Option<Secret>,
    /// ShowDialog: there is no dialog; `true` is refused.
    pub show_dialog: bool,
    /// NewSession: every oxmapi session is new; kept for CDO parity.
    pub new_session: bool,
    /// NoMail: log on without registering with the spooler (RopLogon OpenFlags NO_MAIL).
    pub no_mail: bool,
    /// Overrides of profile settings (user, Ignore No PF, front end).
    pub overrides: Overrides,
    /// How long calls wait for a busy server, and how long a send whose answer was lost
    /// keeps looking for the message.
    pub retry: RetryPolicy,
}

pub(crate) struct Channels {
    pub(crate) emsmdb: Mailbox,
    /// The address book, bound over the same transport as the mailbox.
    pub(crate) abook: AddressBook,
}

/// A logged-on MAPI session (CDO's `MAPI.Session`).
pub struct Session {
    profile: ResolvedProfile,
    channels: Channels,
    user_dn: String,
    logon_handle: u32,
    folder_ids: [FolderId; 13],
    mailbox_guid: [u8; 16],
    public_store: bool,
    reconnects: u32,
    /// The back-off budget and the server's retry advice for RPC_S_SERVER_TOO_BUSY.
    pacing: Pacing,
    retry: RetryPolicy,
    report: LogonReport,
    /// Server objects dropped by their owners, released by the next ROP request.
    releases: ReleaseQueue,
    /// RopNotify responses that came with the answers, until taken.
    notifications: NotificationQueue,
}

/// Most notifications a [`Session`] keeps until [`Session::take_notifications`]; beyond it the
/// oldest are dropped (and counted in [`NotificationStats::dropped`]).
pub const MAX_QUEUED_NOTIFICATIONS: usize = 1024;

/// A notification the server sent along with the answers to one of the session's ROP
/// requests: a RopNotify response (MS-OXCROPS 2.2.14.2, MS-OXCNOTIF 2.2.1.4.1) for a table or
/// subscription the session has open.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Notification {
    /// The step whose ROP response carried it.
    pub step: &'static str,
    /// What arrived.
    pub content: NotificationContent,
}

/// The content of a [`Notification`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NotificationContent {
    /// A RopNotify response: NotificationHandle (the table or subscription, a handle of the
    /// session context current then) and the NotificationData.
    Notify(NotifyResponse),
    /// What followed the last answer from a RopNotify the codec could not decode (an unknown
    /// type, or truncated), kept as sent.
    Undecoded(UndecodedNotifications),
}

/// The state of a session's notification queue (see [`Session::notification_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotificationStats {
    /// Notifications waiting for [`Session::take_notifications`].
    pub queued: usize,
    /// Notifications dropped, oldest first, because [`MAX_QUEUED_NOTIFICATIONS`] were waiting.
    pub dropped: u64,
    /// RopPending responses received in all (MS-OXCROPS 2.2.14.3).
    pub pending_signals: u64,
    /// A RopPending arrived since the last [`Session::take_notifications`]: the server holds
    /// more notifications than it could send (NotificationWait would fetch them).
    pub more_pending: bool,
}

/// The notifications a session received and has not handed out yet, bounded by
/// [`MAX_QUEUED_NOTIFICATIONS`].
#[derive(Debug, Default)]
pub(crate) struct NotificationQueue {
    items: VecDeque<Notification>,
    dropped: u64,
    pending_signals: u64,
    more_pending: bool,
}

impl NotificationQueue {
    /// Moves the unsolicited responses (RopNotify, RopPending, undecoded notifications) out of
    /// `rops` into the queue; the answers stay, in order.
    pub(crate) fn absorb(&mut self, step: &'static str, rops: &mut Vec<RopResponse>) {
        for r in std::mem::take(rops) {
            match r {
                RopResponse::Notify(n) => self.push(step, NotificationContent::Notify(n)),
                RopResponse::UndecodedNotifications(u) => {
                    self.push(step, NotificationContent::Undecoded(u));
                }
                RopResponse::Pending(_) => {
                    self.pending_signals += 1;
                    self.more_pending = true;
                }
                answer => rops.push(answer),
            }
        }
    }

    fn push(&mut self, step: &'static str, content: NotificationContent) {
        if self.items.len() >= MAX_QUEUED_NOTIFICATIONS {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back(Notification { step, content });
    }

    pub(crate) fn take(&mut self) -> Vec<Notification> {
        self.more_pending = false;
        self.items.drain(..).collect()
    }

    pub(crate) fn stats(&self) -> NotificationStats {
        NotificationStats {
            queued: self.items.len(),
            dropped: self.dropped,
            pending_signals: self.pending_signals,
            more_pending: self.more_pending,
        }
    }
}

/// Server object handles to release (RopRelease) with the session's next ROP request:
/// owners that are dropped without a chance to send one (async drop does not exist) queue
/// their handles here. Each entry carries the session generation (its reconnect count) it
/// was opened in; handles of an earlier generation died with their session context and are
/// never sent (a new context may reuse the value for another object).
#[derive(Clone, Default)]
pub(crate) struct ReleaseQueue(Arc<Mutex<Vec<(u32, u32)>>>);

impl std::fmt::Debug for ReleaseQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ReleaseQueue")
            .field(&self.lock().len())
            .finish()
    }
}

impl ReleaseQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u32, u32)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes up to `max` handles of `generation`, dropping those of earlier generations.
    fn take(&self, generation: u32, max: usize) -> Vec<u32> {
        let mut queue = self.lock();
        queue.retain(|&(g, _)| g == generation);
        let n = queue.len().min(max);
        queue.drain(..n).map(|(_, h)| h).collect()
    }
}

/// A place to queue handles opened in one session generation for release (see
/// [`Session::deferred_release`]).
#[derive(Debug, Clone)]
pub(crate) struct DeferredRelease {
    queue: ReleaseQueue,
    generation: u32,
}

impl DeferredRelease {
    /// Queues `handles`; they are released, in this order, by the session's next ROP request.
    pub(crate) fn queue(&self, handles: impl IntoIterator<Item = u32>) {
        let generation = self.generation;
        self.queue
            .lock()
            .extend(handles.into_iter().map(|h| (generation, h)));
    }
}

/// Most entries a ROP request's Server object handle table holds (its indexes are one byte,
/// MS-OXCROPS 2.2.1).
const MAX_HANDLE_SLOTS: usize = 255;

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.profile.server_name.as_str())
            .field("mailbox", &self.profile.mailbox)
            .field("user_dn", &self.user_dn)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Logs on as CDO's `Session.Logon` does. On failure the error says which step failed;
    /// [`Session::logon_with_report`] also returns the report of the steps that ran.
    pub async fn logon(config: &Config, params: LogonParams) -> Result<Self, Error> {
        Self::logon_with_report(config, params).await.0
    }

    /// Logs on and returns the step-by-step report whether or not it succeeded.
    pub async fn logon_with_report(
        config: &Config,
        params: LogonParams,
    ) -> (Result<Self, Error>, LogonReport) {
        let started = Instant::now();
        let mut report = LogonReport::default();
        let result = logon_flow(config, params, &mut report).await;
        report.total_ms = started.elapsed().as_millis() as u64;
        report.total_http_round_trips = report.steps.iter().map(|s| s.http_round_trips).sum();
        match result {
            Ok(mut s) => {
                s.report = report.clone();
                (Ok(s), report)
            }
            Err(e) => {
                report.error = Some(ErrorReport::from(&e));
                (Err(e), report)
            }
        }
    }

    /// The logon report.
    pub fn report(&self) -> &LogonReport {
        &self.report
    }

    /// The resolved profile in use.
    pub fn profile(&self) -> &ResolvedProfile {
        &self.profile
    }

    /// The mailbox owner's legacy DN.
    pub fn user_dn(&self) -> &str {
        &self.user_dn
    }

    /// The 13 special folder IDs of the logon, MS-OXCSTOR order ([`SPECIAL_FOLDER_NAMES`]).
    pub fn special_folder_ids(&self) -> &[FolderId; 13] {
        &self.folder_ids
    }

    /// A default folder's ID (CDO `Session.GetDefaultFolder`).
    pub fn default_folder_id(&self, which: DefaultFolder) -> FolderId {
        let i = match which {
            DefaultFolder::Inbox => 4,
            DefaultFolder::Outbox => 5,
            DefaultFolder::SentItems => 6,
            DefaultFolder::DeletedItems => 7,
        };
        self.folder_ids[i]
    }

    /// The mailbox GUID.
    pub fn mailbox_guid(&self) -> [u8; 16] {
        self.mailbox_guid
    }

    /// True when the public folder store was opened too.
    pub fn has_public_store(&self) -> bool {
        self.public_store
    }

    /// How many times the session re-established an expired session context.
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    /// The server object handle of the private mailbox logon (input handle for ROPs on the
    /// store). Changes after a reconnect.
    pub(crate) fn logon_handle(&self) -> u32 {
        self.logon_handle
    }

    /// Network counters of the mailbox (EMSMDB) channel.
    pub(crate) fn mailbox_stats(&self) -> oxmapi_transport::SessionStats {
        self.channels.emsmdb.stats()
    }

    /// The address-book (NSPI) channel, bound during logon (MAPI/HTTP or RPC/HTTP).
    pub(crate) fn nspi_channel(&mut self) -> &mut AddressBook {
        &mut self.channels.abook
    }

    /// Where an owner of Server objects opened now queues their handles when it is dropped
    /// before it could release them; the next ROP request releases them.
    pub(crate) fn deferred_release(&self) -> DeferredRelease {
        DeferredRelease {
            queue: self.releases.clone(),
            generation: self.reconnects,
        }
    }

    /// Queues `handles` for release (RopRelease, MS-OXCROPS 2.2.15.3), in this order, in
    /// front of the session's next ROP request instead of a request of their own; a logoff
    /// does not send them (Disconnect frees every object of the session context,
    /// MS-OXCRPC 3.1.4.3, MS-OXCMAPIHTTP 3.2.5.4).
    pub(crate) fn release_later(&self, handles: impl IntoIterator<Item = u32>) {
        self.deferred_release().queue(handles);
    }

    /// Sends one ROP request buffer and decodes the responses (plus the raw payloads of any
    /// further chained RPC_HEADER_EXT segments). Handles in `request.handles` must be current.
    ///
    /// Handles queued by [`Session::deferred_release`] go first: one RopRelease each
    /// (MS-OXCROPS 2.2.15.3) on slots appended to the handle table. RopRelease has no
    /// response, so the responses, and the returned handle table (cut back to the request's
    /// length), are those of `request` alone.
    ///
    /// The RopNotify / RopPending responses the server adds (MS-OXCROPS 2.2.14) go to the
    /// notification queue: the returned list holds the answers only.
    pub(crate) async fn rops(
        &mut self,
        step: &'static str,
        request: &RopRequestBuffer,
        contexts: &[ResponseContext],
    ) -> Result<(RopResponseBuffer, Vec<Vec<u8>>), Error> {
        let room = MAX_HANDLE_SLOTS.saturating_sub(request.handles.len());
        let releases = self.releases.take(self.reconnects, room);
        let emsmdb = &mut self.channels.emsmdb;
        let (mut resp, chained) = if releases.is_empty() {
            backoff::execute(emsmdb, &self.pacing, step, request, contexts).await?
        } else {
            let own = request.handles.len();
            let request = with_releases(request, &releases);
            let (mut resp, chained) =
                backoff::execute(emsmdb, &self.pacing, step, &request, contexts).await?;
            resp.handles.truncate(own);
            (resp, chained)
        };
        self.notifications.absorb(step, &mut resp.rops);
        Ok((resp, chained))
    }

    /// Queues the unsolicited responses found while decoding a chained segment of `step`.
    pub(crate) fn queue_notifications(&mut self, step: &'static str, mut rops: Vec<RopResponse>) {
        self.notifications.absorb(step, &mut rops);
    }

    /// Takes the notifications received so far, oldest first (RopNotify responses the server
    /// sent along with the answers, MS-OXCNOTIF 3.2.5.7), and clears
    /// [`NotificationStats::more_pending`]. At most [`MAX_QUEUED_NOTIFICATIONS`] are kept.
    ///
    /// A notification names the table or subscription by its server handle, valid in the
    /// session context of its time: handles die with a reconnect ([`Session::reconnects`]).
    pub fn take_notifications(&mut self) -> Vec<Notification> {
        self.notifications.take()
    }

    /// How many notifications are queued, were dropped, and whether the server said it holds
    /// more (RopPending).
    pub fn notification_stats(&self) -> NotificationStats {
        self.notifications.stats()
    }

    /// Runs `f` once; if the server expired the session context (MAPI_E_END_OF_SESSION),
    /// reconnects (Connect + RopLogon: every earlier handle is void) and runs `f` again. Use
    /// only for operations that rebuild their handles from IDs (reads).
    pub(crate) async fn with_reconnect<T, F>(&mut self, mut f: F) -> Result<T, Error>
    where
        F: for<'s> FnMut(
            &'s mut Self,
        )
            -> std::pin::Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 's>>,
    {
        match f(self).await {
            Err(e) if e.code() == ErrorCode::END_OF_SESSION => {
                self.reconnect().await?;
                f(self).await
            }
            other => other,
        }
    }

    /// Reads properties of the message store (CDO `InfoStore.Fields`). Read-only, so when
    /// the server has expired the session context the call reconnects (Connect + RopLogon)
    /// once and retries.
    pub async fn store_properties(&mut self, tags: &[PropertyTag]) -> Result<PropertyRow, Error> {
        let tags = tags.to_vec();
        self.with_reconnect(move |s| {
            let tags = tags.clone();
            Box::pin(async move { s.store_properties_once(&tags).await })
        })
        .await
    }

    async fn store_properties_once(&mut self, tags: &[PropertyTag]) -> Result<PropertyRow, Error> {
        const STEP: &str = "get-store-properties";
        let request = RopRequestBuffer {
            rops: vec![RopRequest::GetPropertiesSpecific(
                GetPropertiesSpecificRequest {
                    logon_id: 0,
                    input_handle_index: 0,
                    property_size_limit: 0,
                    want_unicode: 1,
                    property_tags: tags.to_vec(),
                },
            )],
            handles: vec![self.logon_handle()],
        };
        let ctx = [ResponseContext::GetPropertiesSpecific {
            tags: tags.to_vec(),
        }];
        let (resp, _) = self.rops(STEP, &request, &ctx).await?;
        match resp.rops.into_iter().next() {
            Some(RopResponse::GetPropertiesSpecific(r)) => Ok(r.row),
            Some(other) => Err(rop_failure(STEP, &other)),
            None => Err(no_response(STEP)),
        }
    }

    /// How long calls wait for a busy server, and how long a send whose answer was lost
    /// keeps looking for the message.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Changes [`Session::retry_policy`] for the calls that follow.
    pub fn set_retry_policy(&mut self, policy: RetryPolicy) {
        self.retry = policy;
        self.pacing = self.pacing.with_budget(policy.backoff_budget);
    }

    /// Re-creates the session context after the server expired it.
    pub(crate) async fn reconnect(&mut self) -> Result<(), Error> {
        self.channels.emsmdb.reopen().await?;
        let (connected, _) = self
            .channels
            .emsmdb
            .connect(&self.user_dn, self.profile.connect_flags())
            .await?;
        self.pacing = self
            .pacing
            .with_connect(connected.retry_count, connected.retry_delay);
        let logon = private_logon(
            &mut self.channels.emsmdb,
            &self.pacing,
            &self.user_dn,
            open_flags_for(false),
            &mut self.notifications,
        )
        .await?;
        self.logon_handle = logon.handle;
        self.folder_ids = logon.folder_ids;
        self.reconnects += 1;
        Ok(())
    }

    /// Requests this session has made so far on both channels (address book and mailbox),
    /// from the first logon request on: HTTP round trips including authentication legs over
    /// MAPI/HTTP; RPC calls plus the HTTP requests that set the channels up over RPC/HTTP.
    pub fn round_trips(&self) -> u64 {
        self.channels.emsmdb.round_trips() + self.channels.abook.round_trips()
    }

    /// Logs off (CDO `Session.Logoff`): disconnects the mailbox and unbinds the address book.
    pub async fn logoff(self) -> Result<(), Error> {
        self.logoff_counted().await.map(|_| ())
    }

    /// [`Session::logoff`], returning the requests the logoff itself took (see
    /// [`Session::round_trips`]).
    pub async fn logoff_counted(mut self) -> Result<u64, Error> {
        let before = self.round_trips();
        // A context the server already expired is as good as closed.
        let gone = |r: Result<(), Error>| match r {
            Err(e) if e.code() == ErrorCode::END_OF_SESSION => Ok(()),
            other => other,
        };
        let a = gone(self.channels.emsmdb.disconnect().await);
        let b = gone(self.channels.abook.unbind().await);
        a.and(b)?;
        Ok(self.round_trips().saturating_sub(before))
    }
}

/// `request` with one RopRelease per handle in front, the handles on new slots at the end
/// of its handle table (at most [`MAX_HANDLE_SLOTS`] in all: the caller bounds `releases`).
fn with_releases(request: &RopRequestBuffer, releases: &[u32]) -> RopRequestBuffer {
    let mut handles = request.handles.clone();
    let mut rops = Vec::with_capacity(releases.len() + request.rops.len());
    for &h in releases {
        let Ok(slot) = u8::try_from(handles.len()) else {
            break;
        };
        handles.push(h);
        rops.push(RopRequest::Release(ReleaseRequest {
            logon_id: 0,
            input_handle_index: slot,
        }));
    }
    rops.extend(request.rops.iter().cloned());
    RopRequestBuffer { rops, handles }
}

/// A ROP response that is not the success the caller expected, as an error.
pub(crate) fn rop_failure(step: &'static str, r: &RopResponse) -> Error {
    match r {
        RopResponse::Error(e) => Error::mapi(
            step,
            e.return_value,
            format!("{} failed", e.rop_id.name().unwrap_or("the ROP")),
        ),
        other => Error::protocol(
            step,
            oxmapi_wire::DecodeError::invalid(
                "RopResponse",
                0,
                format!("unexpected response {:?}", other.rop_id()),
            ),
        ),
    }
}

/// The server answered with fewer ROP responses than expected.
pub(crate) fn no_response(step: &'static str) -> Error {
    Error::protocol(
        step,
        oxmapi_wire::DecodeError::invalid("RopResponseBuffer", 0, "the server sent no response"),
    )
}

struct PrivateLogon {
    handle: u32,
    folder_ids: [FolderId; 13],
    mailbox_guid: [u8; 16],
    response_flags: u8,
}

fn open_flags_for(no_mail: bool) -> u32 {
    // What Outlook sends for a home-server logon (NOTES.md §5.3).
    let mut f = open_flags::USE_PER_MDB_REPLID_MAPPING
        | open_flags::TAKE_OWNERSHIP
        | open_flags::HOME_LOGON;
    if no_mail {
        f |= open_flags::NO_MAIL;
    }
    f
}

/// The RopLogon request for the private mailbox (MS-OXCROPS 2.2.3.1, MS-OXCSTOR 2.2.1.1):
/// logon ID 0, its handle in slot 0.
fn private_logon_request(user_dn: &str, open_flags: u32) -> RopRequest {
    RopRequest::Logon(LogonRequest {
        logon_id: 0,
        output_handle_index: 0,
        logon_flags: logon_flags::PRIVATE,
        open_flags,
        store_state: 0,
        essdn: Some(user_dn.to_owned()),
    })
}

/// The RopLogon request for the public folder store: logon ID 1, its handle in `slot`.
fn public_logon_request(slot: u8) -> RopRequest {
    RopRequest::Logon(LogonRequest {
        logon_id: 1,
        output_handle_index: slot,
        logon_flags: 0,
        open_flags: open_flags::PUBLIC | open_flags::USE_PER_MDB_REPLID_MAPPING,
        store_state: 0,
        essdn: None,
    })
}

/// RopLogon for the private mailbox (MS-OXCROPS 2.2.3.1, MS-OXCSTOR 2.2.1.1).
async fn private_logon(
    emsmdb: &mut Mailbox,
    pacing: &Pacing,
    user_dn: &str,
    open_flags: u32,
    notifications: &mut NotificationQueue,
) -> Result<PrivateLogon, Error> {
    const STEP: &str = "rop-logon";
    let request = RopRequestBuffer {
        rops: vec![private_logon_request(user_dn, open_flags)],
        handles: vec![u32::MAX],
    };
    let ctx = [ResponseContext::Logon { private: true }];
    let (mut resp, _) = backoff::execute(emsmdb, pacing, STEP, &request, &ctx).await?;
    notifications.absorb(STEP, &mut resp.rops);
    let handle = resp.handles.first().copied().unwrap_or(u32::MAX);
    private_logon_result(resp.rops.into_iter().next(), handle)
}

/// The private and the public RopLogon in one request: ROPs of a buffer are processed in
/// order, each with its own LogonId and output slot (MS-OXCROPS 3.1.4.2, 3.2.5.1), so the
/// public store costs no round trip of its own. The first result is the private logon's;
/// the second is `Ok(Ok(()))` when the public store opened, `Ok(Err(code))` when it did
/// not (the organization has none).
async fn both_logons(
    emsmdb: &mut Mailbox,
    pacing: &Pacing,
    user_dn: &str,
    open_flags: u32,
    notifications: &mut NotificationQueue,
) -> Result<(Result<PrivateLogon, Error>, PublicLogon), Error> {
    const STEP: &str = "rop-logon";
    let request = RopRequestBuffer {
        rops: vec![
            private_logon_request(user_dn, open_flags),
            public_logon_request(1),
        ],
        handles: vec![u32::MAX, u32::MAX],
    };
    let ctx = [
        ResponseContext::Logon { private: true },
        ResponseContext::Logon { private: false },
    ];
    let (mut resp, _) = backoff::execute(emsmdb, pacing, STEP, &request, &ctx).await?;
    notifications.absorb(STEP, &mut resp.rops);
    let handle = resp.handles.first().copied().unwrap_or(u32::MAX);
    let mut rops = resp.rops.into_iter();
    let private = private_logon_result(rops.next(), handle);
    let public = public_logon_result(rops.next());
    Ok((private, public))
}

/// What the public RopLogon gave: `Ok(Err(code))` = the organization has no public folders.
type PublicLogon = Result<Result<(), ErrorCode>, Error>;

fn private_logon_result(r: Option<RopResponse>, handle: u32) -> Result<PrivateLogon, Error> {
    const STEP: &str = "rop-logon";
    match r {
        Some(RopResponse::LogonPrivate(r)) => Ok(PrivateLogon {
            handle,
            folder_ids: r.folder_ids,
            mailbox_guid: r.mailbox_guid,
            response_flags: r.response_flags,
        }),
        Some(RopResponse::LogonRedirect(r)) => Err(Error::mapi(
            STEP,
            ErrorCode::WRONG_SERVER,
            format!("the mailbox lives on another server: {}", r.server_name),
        )
        .with_hint("use that server name in ProfileInfo")),
        Some(other) => Err(rop_failure(STEP, &other)),
        None => Err(no_response(STEP)),
    }
}

/// The public RopLogon's response. `Ok(Err(code))` = the organization has none.
fn public_logon_result(r: Option<RopResponse>) -> PublicLogon {
    const STEP: &str = "public-folders";
    match r {
        Some(RopResponse::LogonPublic(_)) => Ok(Ok(())),
        Some(RopResponse::Error(e)) => Ok(Err(e.return_value)),
        Some(other) => Err(rop_failure(STEP, &other)),
        None => Err(no_response(STEP)),
    }
}

/// Maps a resolved profile onto the transport's configuration. `password` is the account's
/// password, or, with `auth = "bearer"`, the OAuth access token (sent as
/// `Authorization: Bearer`, https only; `user` then only names the account in messages).
fn transport_config(
    p: &ResolvedProfile,
    password: Option<Secret>,
) -> Result<TransportConfig, Error> {
    let mut cfg = TransportConfig::new(p.front_end_url.to_string());
    cfg.tls = TlsConfig {
        policy: match &p.cert_policy {
            CertPolicy::Verify => TlsPolicy::Verify,
            CertPolicy::CaFile(path) => TlsPolicy::CaFile(path.clone()),
            CertPolicy::PinnedSha256(pin) => TlsPolicy::PinnedSha256(*pin.as_bytes()),
            CertPolicy::Ignore => TlsPolicy::Ignore,
        },
        expected_principal: p.expected_principal.clone(),
    };
    let scheme = match p.auth {
        AuthMethod::Ntlm => AuthScheme::Ntlm,
        AuthMethod::Negotiate => AuthScheme::Negotiate,
        AuthMethod::Basic => AuthScheme::Basic,
        AuthMethod::Bearer => AuthScheme::Bearer,
    };
    let user = p.user.clone().unwrap_or_else(|| p.mailbox.clone());
    let password = password.ok_or_else(|| {
        let (what, hint) = match scheme {
            AuthScheme::Bearer => (
                "bearer token",
                "put the access token in a file and use --token-file, or set OXMAPI_TOKEN",
            ),
            _ => ("password", "set OXMAPI_PASSWORD or use --password-file"),
        };
        Error::new(
            ErrorKind::Authentication,
            ErrorCode::LOGON_FAILED,
            format!("no {what} was given for {user}"),
        )
        .at_step("profile")
        .with_hint(hint)
    })?;
    cfg.auth = Some(HttpAuth {
        scheme,
        credentials: Credentials {
            user,
            domain: p.domain.clone().filter(|_| scheme != AuthScheme::Bearer),
            password: oxmapi_transport::Secret::new(password.expose()),
        },
    });
    Ok(cfg)
}

fn profile_report(p: &ResolvedProfile, name: Option<&str>) -> ProfileReport {
    ProfileReport {
        kind: if name.is_some() { "static" } else { "dynamic" }.into(),
        name: name.map(str::to_owned),
        server: p.server_name.as_str().to_owned(),
        mailbox: p.mailbox.clone(),
        proxy_map_entry: p.proxy_entry_key.clone(),
        front_end: p.front_end_url.to_string(),
        auth: p.auth.as_str().to_owned(),
        certificate_policy: match &p.cert_policy {
            CertPolicy::Verify => "verify".into(),
            CertPolicy::CaFile(path) => format!("ca-file {}", path.display()),
            CertPolicy::PinnedSha256(pin) => format!("pinned-sha256 {pin}"),
            CertPolicy::Ignore => "ignore".into(),
        },
        ignore_no_public_folders: p.ignore_no_public_folders,
        user: match (&p.domain, &p.user) {
            (Some(d), Some(u)) => format!("{d}\\{u}"),
            (None, Some(u)) => u.clone(),
            _ => p.mailbox.clone(),
        },
        origin: p.origin.clone(),
    }
}

/// Measures one step: time, HTTP round trips, outcome.
struct StepTimer {
    round_trips: u64,
    started: Instant,
}

impl StepTimer {
    fn start(round_trips: u64) -> Self {
        Self {
            round_trips,
            started: Instant::now(),
        }
    }

    fn finish<T>(
        self,
        report: &mut LogonReport,
        name: &'static str,
        round_trips_now: u64,
        result: &Result<T, Error>,
        detail: impl FnOnce(&T) -> String,
    ) {
        report.steps.push(StepReport {
            name: name.into(),
            ok: result.is_ok(),
            elapsed_ms: self.started.elapsed().as_millis() as u64,
            http_round_trips: round_trips_now.saturating_sub(self.round_trips),
            detail: match result {
                Ok(v) => detail(v),
                Err(e) => e.to_string(),
            },
        });
    }
}

fn record_tls(report: &mut LogonReport, stats: oxmapi_transport::SessionStats) {
    if report.tls.is_none()
        && let Some(tls) = stats.tls
    {
        if tls.verification_skipped {
            report.warnings.push(format!(
                "the server certificate was NOT verified (certificate policy \"ignore\" for {}); \
                 anyone on the network path could read the password and the mailbox",
                tls.checked_name
            ));
        }
        report.tls = Some(TlsReport {
            version: tls.version,
            cipher_suite: tls.cipher_suite,
            certificate_sha256: tls.peer_cert_sha256,
            policy: tls.policy.to_owned(),
            checked_name: tls.checked_name,
            verification_skipped: tls.verification_skipped,
        });
    }
    if report.auth_scheme.is_none() {
        report.auth_scheme = stats.auth_scheme.map(|s| s.to_string());
    }
}

async fn logon_flow(
    config: &Config,
    params: LogonParams,
    report: &mut LogonReport,
) -> Result<Session, Error> {
    if params.show_dialog {
        return Err(Error::new(
            ErrorKind::Unsupported,
            ErrorCode::NO_SUPPORT,
            "ShowDialog is not supported: there is no profile dialog",
        )
        .at_step("profile")
        .with_hint("give a profile name or ProfileInfo"));
    }
    let selection = match (&params.profile_name, &params.profile_info) {
        (Some(name), None) => ProfileSelection::Named(name.clone()),
        (None, Some(info)) => ProfileSelection::Dynamic(
            ProfileInfo::parse(info).map_err(|e| Error::profile(e.into()))?,
        ),
        (Some(_), Some(_)) => {
            return Err(Error::new(
                ErrorKind::Profile,
                ErrorCode::INVALID_PARAMETER,
                "give either a profile name or ProfileInfo, not both",
            )
            .at_step("profile"));
        }
        (None, None) => {
            return Err(Error::new(
                ErrorKind::Profile,
                ErrorCode::INVALID_PARAMETER,
                "no profile: give a profile name or ProfileInfo (\"server\\nmailbox\")",
            )
            .at_step("profile"));
        }
    };
    let profile = resolve(config, &selection, &params.overrides).map_err(Error::profile)?;
    report.profile = profile_report(&profile, params.profile_name.as_deref());

    let tcfg = transport_config(&profile, params.password)?;
    let server = profile.server_name.as_str().to_owned();
    let client =
        MapiHttpClient::new(tcfg.clone()).map_err(|e| channel::transport_error("profile", e))?;
    let mut nspi_s = client.session(Endpoint::Nspi, &server);
    let mut nspi_rpc: Option<oxmapi_transport::NspiRpc> = None;
    let wanted = params.overrides.transport.unwrap_or(profile.transport);
    let mut use_rpc = wanted == Transport::RpcHttp;
    report.transport = TransportReport {
        used: if use_rpc { "rpchttp" } else { "mapihttp" }.into(),
        reason: match wanted {
            Transport::MapiHttp => {
                "MAPI over HTTP (MS-OXCMAPIHTTP): the profile's transport".into()
            }
            Transport::RpcHttp => {
                "RPC over HTTP v2 (MS-RPCH, Outlook Anywhere): the profile's transport".into()
            }
            Transport::Auto => "auto: MAPI over HTTP first, as Outlook does".into(),
        },
        emsmdb_url: String::new(),
        nspi_url: nspi_s.url(),
    };

    // Address book: bind, resolve the mailbox name to the owner's DN.
    if !use_rpc {
        let t = StepTimer::start(nspi_s.stats().http_round_trips);
        let bound = nspi::bind(&mut nspi_s).await;
        t.finish(
            report,
            "nspi-bind",
            nspi_s.stats().http_round_trips,
            &bound,
            |g| format!("bound over MAPI/HTTP; server GUID {}", hex_guid(g)),
        );
        record_tls(report, nspi_s.stats());
        match bound {
            Ok(_) => {}
            Err(e) if wanted == Transport::Auto && mapi_http_unavailable(&e) => {
                use_rpc = true;
                report.transport.used = "rpchttp".into();
                report.transport.reason = format!(
                    "auto: the front end has no MAPI/HTTP endpoint ({}), falling back to RPC over HTTP",
                    e.message()
                );
            }
            Err(e) => return Err(e),
        }
    }
    let rpc_client = if use_rpc {
        Some(
            oxmapi_transport::RpcHttpClient::new(tcfg)
                .map_err(|e| channel::transport_error("profile", e))?,
        )
    } else {
        None
    };
    if let Some(rc) = &rpc_client {
        let t = StepTimer::start(0);
        let bound = async {
            let ch = rc
                .connect(
                    &server,
                    oxmapi_transport::RpcPort::Nspi,
                    oxmapi_transport::RpcAuthLevel::Privacy,
                )
                .await
                .map_err(|e| proxy_error("nspi-bind", e))?;
            let mut n = oxmapi_transport::NspiRpc::new(ch);
            let guid = nspi::bind_rpc(&mut n).await?;
            Ok::<_, Error>((n, guid))
        }
        .await;
        let rt = bound
            .as_ref()
            .map(|(n, _)| rpc_round_trips(n.channel()))
            .unwrap_or(0);
        t.finish(report, "nspi-bind", rt, &bound, |(n, g)| {
            format!(
                "bound over RPC/HTTP ({}); server GUID {g}",
                n.channel().url()
            )
        });
        let (n, _) = bound?;
        record_tls(report, n.channel().stats().http);
        report.transport.nspi_url = n.channel().url().to_owned();
        nspi_rpc = Some(n);
    }
    let mut abook = match nspi_rpc {
        None => AddressBook::Http(Box::new(nspi_s)),
        Some(n) => AddressBook::Rpc(Box::new(n)),
    };
    let mailbox = profile.mailbox.clone();
    let t = StepTimer::start(abook.round_trips());
    let resolved = nspi::resolve_name(&mut abook, &mailbox).await;
    t.finish(
        report,
        "nspi-resolve",
        abook.round_trips(),
        &resolved,
        |r| format!("{mailbox:?} resolved to {} <{}>", r.display_name, r.dn),
    );
    let resolved = resolved?;
    report.resolved = Some(resolved.clone());

    // The connect step includes setting up the EMSMDB channel (for RPC/HTTP: the virtual
    // connection and the DCE/RPC bind).
    let connect_timer = StepTimer::start(0);
    let mut emsmdb = match &rpc_client {
        None => Mailbox::mapi_http(client.session(Endpoint::Emsmdb, &server)),
        Some(rc) => {
            let ch = rc
                .connect(
                    &server,
                    oxmapi_transport::RpcPort::Emsmdb,
                    oxmapi_transport::RpcAuthLevel::Privacy,
                )
                .await
                .map_err(|e| proxy_error("emsmdb-connect", e))?;
            Mailbox::rpc_http(ch, rc.clone(), server.clone())
        }
    };
    report.transport.emsmdb_url = emsmdb.url();

    // Mailbox: connect with the DN, then RopLogon.
    let dn = resolved.dn.clone();
    let flags = profile.connect_flags();
    let connected = emsmdb.connect(&dn, flags).await;
    let server_version = connected.as_ref().ok().and_then(|(_, v)| v.clone());
    let connected = connected.map(|(c, _)| c);
    connect_timer.finish(
        report,
        "emsmdb-connect",
        emsmdb.round_trips(),
        &connected,
        |c| format!("connected as {} (flags 0x{flags:08X})", c.display_name),
    );
    record_tls(report, emsmdb.stats());
    let connected = connected?;
    let org_public_folders = decode_aux_buffer(&connected.aux).ok().and_then(|blocks| {
        blocks.iter().find_map(|b| match b.body() {
            Ok(AuxBody::ExOrgInfo(info)) => Some(info.public_folders_enabled()),
            _ => None,
        })
    });
    let pacing =
        Pacing::new(&params.retry).with_connect(connected.retry_count, connected.retry_delay);
    let dn = resolved.dn.clone();
    let open = open_flags_for(params.no_mail);
    let t = StepTimer::start(emsmdb.round_trips());
    let mut notifications = NotificationQueue::default();
    let (logon, public) =
        match both_logons(&mut emsmdb, &pacing, &dn, open, &mut notifications).await {
            Ok((logon, public)) => (logon, Some(public)),
            Err(e) => (Err(e), None),
        };
    t.finish(report, "rop-logon", emsmdb.round_trips(), &logon, |l| {
        format!("private mailbox opened; Inbox {}", l.folder_ids[4])
    });
    let logon = logon?;
    report.mailbox = Some(MailboxReport {
        display_name: connected.display_name.clone(),
        dn_prefix: connected.dn_prefix.clone(),
        server_version,
        mailbox_guid: hex_guid(&logon.mailbox_guid),
        special_folders: SPECIAL_FOLDER_NAMES
            .iter()
            .zip(logon.folder_ids.iter())
            .map(|(n, id)| ((*n).to_owned(), id.to_string()))
            .collect(),
        org_public_folders,
    });
    let _ = logon.response_flags;

    // Public folders: CDO opens the public store too; without public folders the logon
    // fails with MAPI_E_FAILONEPROVIDER unless Ignore No PF (CONNECT_IGNORE_NO_PF) is set.
    let ignore = profile.ignore_no_public_folders;
    // The public RopLogon went in the request of the private one (no round trip here).
    let t = StepTimer::start(emsmdb.round_trips());
    let public = public.unwrap_or_else(|| Err(no_response("public-folders")));
    t.finish(
        report,
        "public-folders",
        emsmdb.round_trips(),
        &public,
        |r| match r {
            Ok(()) => "public folder store opened".to_owned(),
            Err(code) if ignore => format!(
                "no public folders (public logon returned {code}); ignored: Ignore No PF is set"
            ),
            Err(code) => format!("no public folders (public logon returned {code})"),
        },
    );
    let public = public?;
    let public_store = match public {
        Ok(()) => {
            report.public_folders = Some("present".into());
            true
        }
        Err(code) if ignore => {
            report.public_folders = Some("absent (ignored: Ignore No PF is set)".into());
            let _ = code;
            false
        }
        Err(code) => {
            report.public_folders = Some("absent".into());
            if let Some(last) = report.steps.last_mut() {
                last.ok = false;
            }
            let _ = emsmdb.disconnect().await;
            return Err(Error::mapi(
                "public-folders",
                ErrorCode::FAILONEPROVIDER,
                format!(
                    "the organization has no public folders (the public folder logon returned {code}), \
                     so the public folder provider failed"
                ),
            )
            .with_hint(
                "set Ignore No PF: `ignore_no_public_folders = true` in the config or the profile, \
                 or --ignore-no-public-folders",
            ));
        }
    };

    Ok(Session {
        profile,
        channels: Channels { emsmdb, abook },
        user_dn: resolved.dn,
        logon_handle: logon.handle,
        folder_ids: logon.folder_ids,
        mailbox_guid: logon.mailbox_guid,
        public_store,
        reconnects: 0,
        pacing,
        retry: params.retry,
        report: LogonReport::default(),
        releases: ReleaseQueue::default(),
        notifications,
    })
}

/// True when the MAPI/HTTP endpoint is missing (so `auto` may fall back to RPC/HTTP):
/// HTTP 404 / 501, or X-ResponseCode 16 "Endpoint Disabled".
fn mapi_http_unavailable(e: &Error) -> bool {
    use std::error::Error as _;
    match e
        .source()
        .and_then(|s| s.downcast_ref::<oxmapi_transport::TransportError>())
    {
        Some(oxmapi_transport::TransportError::HttpStatus { status, .. }) => {
            matches!(status, 404 | 405 | 501)
        }
        Some(oxmapi_transport::TransportError::ResponseCode { code: 16, .. }) => true,
        _ => false,
    }
}

/// Setting up an RPC/HTTP channel failed. The RPC proxy refuses a channel to a mailbox
/// server the user may not open with `503 RPC Error: 5` (MS-RPCH 2.1.2.1.3; 5 is
/// ERROR_ACCESS_DENIED): that is MAPI_E_NO_ACCESS, as Connect's refusal is over MAPI/HTTP.
fn proxy_error(step: &'static str, e: oxmapi_transport::RpcError) -> Error {
    if let oxmapi_transport::RpcError::Proxy { reason, .. } = &e {
        let code = reason
            .strip_prefix("RPC Error:")
            .and_then(|c| u32::from_str_radix(c.trim(), 16).ok());
        if code == Some(5) {
            let what = format!("the RPC proxy refused access to the mailbox server: {e}");
            return Error::mapi(step, ErrorCode::NO_ACCESS, what)
                .with_hint("the server name in ProfileInfo must be the user's own mailbox server")
                .with_source(e);
        }
    }
    channel::rpc_error(step, e)
}

fn rpc_round_trips(ch: &oxmapi_transport::RpcChannel) -> u64 {
    let st = ch.stats();
    st.calls + st.http.http_round_trips
}

/// A GUID in its usual text form from wire (little-endian fields) bytes.
pub fn hex_guid(g: &[u8; 16]) -> String {
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        g[3],
        g[2],
        g[1],
        g[0],
        g[5],
        g[4],
        g[7],
        g[6],
        g[8],
        g[9],
        g[10],
        g[11],
        g[12],
        g[13],
        g[14],
        g[15]
    )
}

#[cfg(test)]
mod tests {
    use oxmapi_wire::rop::ReleaseRequest;

    use super::*;

    #[test]
    fn releases_go_first_on_appended_slots() {
        let request = RopRequestBuffer {
            rops: vec![RopRequest::Release(ReleaseRequest {
                logon_id: 0,
                input_handle_index: 1,
            })],
            handles: vec![10, 11],
        };
        let out = with_releases(&request, &[20, 21]);
        assert_eq!(out.handles, [10, 11, 20, 21]);
        let slots: Vec<u8> = out
            .rops
            .iter()
            .map(RopRequest::input_handle_index)
            .collect();
        assert_eq!(slots, [2, 3, 1]);
        assert!(out.rops.iter().all(|r| matches!(r, RopRequest::Release(_))));
    }

    #[test]
    fn queue_keeps_only_the_current_generation_and_respects_room() {
        let queue = ReleaseQueue::default();
        let old = DeferredRelease {
            queue: queue.clone(),
            generation: 0,
        };
        let new = DeferredRelease {
            queue: queue.clone(),
            generation: 1,
        };
        old.queue([1, 2]);
        new.queue([3, 4, 5]);
        assert_eq!(queue.take(1, 2), [3, 4]);
        assert_eq!(queue.take(1, 10), [5]);
        assert!(queue.take(1, 10).is_empty());
        assert!(queue.take(0, 10).is_empty(), "old handles were dropped");
    }

    fn notify(handle: u32) -> RopResponse {
        use oxmapi_wire::rop::{NotificationData, NotificationType};
        let mut data = NotificationData::new(NotificationType::SearchComplete);
        data.folder_id = Some(FolderId(1));
        RopResponse::Notify(NotifyResponse {
            notification_handle: handle,
            logon_id: 0,
            data,
        })
    }

    /// What `Session::rops` does with a decoded buffer: notifications before, between and
    /// after the answers leave the list, the answers keep their order.
    #[test]
    fn rops_keeps_the_answers_and_queues_the_rest() {
        use oxmapi_wire::rop::{
            GetPropertiesSpecificResponse, LogonPrivateResponse, PendingResponse,
        };
        let tags = vec![PropertyTag(0x0E08_0003)];
        let ctx = [
            ResponseContext::Logon { private: true },
            ResponseContext::GetPropertiesSpecific { tags: tags.clone() },
        ];
        let logon = RopResponse::LogonPrivate(LogonPrivateResponse::default());
        let props = RopResponse::GetPropertiesSpecific(GetPropertiesSpecificResponse {
            input_handle_index: 0,
            tags,
            row: PropertyRow::from_values(vec![oxmapi_wire::data::RowValue::Value(
                oxmapi_wire::data::PropertyValue::Int32(5),
            )]),
        });
        let sent = RopResponseBuffer {
            rops: vec![
                notify(1),
                logon.clone(),
                notify(2),
                props.clone(),
                RopResponse::Pending(PendingResponse { session_index: 3 }),
                notify(3),
            ],
            handles: vec![1],
        };
        let mut resp = RopResponseBuffer::decode(&sent.to_bytes().unwrap(), &ctx).unwrap();
        let mut queue = NotificationQueue::default();
        queue.absorb("rop-logon", &mut resp.rops);
        assert_eq!(resp.rops, [logon, props]);
        assert_eq!(
            queue.stats(),
            NotificationStats {
                queued: 3,
                dropped: 0,
                pending_signals: 1,
                more_pending: true,
            }
        );
        let got = queue.take();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].step, "rop-logon");
        assert!(
            matches!(&got[2].content, NotificationContent::Notify(n) if n.notification_handle == 3)
        );
        let after = queue.stats();
        assert_eq!((after.queued, after.more_pending), (0, false));
        assert_eq!(after.pending_signals, 1, "a running total");
    }

    #[test]
    fn the_queue_keeps_the_latest_and_counts_the_dropped() {
        let mut queue = NotificationQueue::default();
        let mut rops: Vec<RopResponse> = (0..MAX_QUEUED_NOTIFICATIONS as u32 + 5)
            .map(notify)
            .collect();
        queue.absorb("list", &mut rops);
        assert!(rops.is_empty());
        let stats = queue.stats();
        assert_eq!((stats.queued, stats.dropped), (MAX_QUEUED_NOTIFICATIONS, 5));
        let got = queue.take();
        assert!(
            matches!(&got[0].content, NotificationContent::Notify(n) if n.notification_handle == 5)
        );
        assert_eq!(queue.stats().dropped, 5, "the count survives a take");
    }
}
