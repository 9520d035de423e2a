//! ROPs on the logon (store) object: RopLogon (MS-OXCROPS 2.2.3.1, MS-OXCSTOR 3.2.5.1),
//! RopGetReceiveFolder and RopSetReceiveFolder (MS-OXCSTOR 3.2.5.2, 3.2.5.3), and
//! RopGetPropertiesSpecific / RopGetPropertiesAll on a Logon (the store object's properties,
//! MS-OXCSTOR 2.2.2.1).
//!
//! Requests are decoded by the dispatcher, responses encoded with `oxmapi_wire::rop`; this
//! module only decides what to answer.

use oxmapi_wire::data::{ErrorCode, FolderId};
use oxmapi_wire::rop::{
    GetPropertiesAllRequest, GetPropertiesSpecificRequest, GetReceiveFolderRequest,
    GetReceiveFolderResponse, LogonPrivateResponse, LogonPublicResponse, LogonRequest, LogonTime,
    RopId, SetReceiveFolderRequest, SetReceiveFolderResponse, open_flags,
};

use super::context::MailboxContext;
use super::objects::{Logon, Object};
use super::props::{self, PropList, StoreInfo};
use super::step::{Step, encode, fail, reply};
use super::storeops;
use crate::store::SPECIAL_INBOX;
use crate::store::folders_write as fw;

/// MS-OXCSTOR 3.2.5.1.3 ecProfileNotConfigured.
const EC_PROFILE_NOT_CONFIGURED: ErrorCode = ErrorCode(0x0000_011C);
/// ResponseFlags of a private logon (MS-OXCSTOR 2.2.1.1.3): Reserved (must be set) |
/// OwnerRight | SendAsRight.
const LOGON_RESPONSE_FLAGS: u8 = 0x01 | 0x02 | 0x04;
/// The REPLID of every FID/MID this server allocates.
const REPLID: u16 = 1;
/// Longest message class accepted (MS-OXCSTOR 2.2.1.2.1: 255 characters).
const MAX_CLASS_LEN: usize = 255;

/// RopLogon (MS-OXCROPS 2.2.3.1, MS-OXCSTOR 3.2.5.1). A new logon with the LogonId of an
/// earlier one replaces it (MS-OXCROPS 3.1.4.2).
pub(super) fn logon(
    ctx: &mut MailboxContext,
    handles: &mut [u32],
    req: &LogonRequest,
    room: usize,
) -> Step {
    let rop = RopId::LOGON;
    let out = req.output_handle_index;
    let private = req.is_private();
    let info = match logon_target(ctx, req, private) {
        Ok(v) => v,
        Err(ec) => return fail(rop, out, ec),
    };
    if usize::from(out) >= handles.len() {
        return fail(rop, out, ErrorCode::INVALID_PARAMETER);
    }
    let mut folder_ids = [FolderId(0); 13];
    for (i, slot) in folder_ids.iter_mut().enumerate() {
        *slot = FolderId(info.special_fid(i as i64 + 1).unwrap_or(0) as u64);
    }
    let encoded = if private {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        encode(&LogonPrivateResponse {
            output_handle_index: out,
            logon_flags: req.logon_flags,
            folder_ids,
            response_flags: LOGON_RESPONSE_FLAGS,
            mailbox_guid: info.mailbox_guid,
            replica_id: REPLID,
            replica_guid: info.replica_guid,
            logon_time: logon_time(now),
            gwart_time: unix_to_filetime(now),
            store_state: 0,
        })
    } else {
        // MS-OXCSTOR 2.2.1.1.4: PerUserGuid zeros.
        encode(&LogonPublicResponse {
            output_handle_index: out,
            logon_flags: req.logon_flags,
            folder_ids,
            replica_id: REPLID,
            replica_guid: info.replica_guid,
            per_user_guid: [0; 16],
        })
    };
    let resp = match encoded {
        Ok(b) => b,
        Err(_) => return fail(rop, out, ErrorCode::CALL_FAILED),
    };
    if resp.len() > room {
        return Step::NoRoom(resp.len());
    }
    ctx.handles.release_logon(req.logon_id);
    ctx.stores.retain(|s| s.mailbox_id != info.mailbox_id);
    let logon = Logon {
        logon_id: req.logon_id,
        mailbox_id: info.mailbox_id,
        private,
    };
    ctx.stores.push(info);
    match ctx.handles.insert(Object::Logon(logon)) {
        Ok(h) => handles[usize::from(out)] = h,
        Err(ec) => return fail(rop, out, ec),
    }
    Step::Reply(resp)
}

/// Resolves the store of a logon request.
fn logon_target(
    ctx: &MailboxContext,
    req: &LogonRequest,
    private: bool,
) -> Result<StoreInfo, ErrorCode> {
    let (mailbox_id, replica_guid) = if private {
        let essdn = req.essdn.as_deref().unwrap_or("");
        if !essdn.eq_ignore_ascii_case(&ctx.user.legacy_dn) {
            // MS-OXCSTOR 3.2.5.1.1: an unknown ESSDN is ecUnknownUser; another user's
            // mailbox (a nonhome store) without USE_ADMIN_PRIVILEGE is
            // ecProfileNotConfigured; with it, the session user has no rights: ecLoginPerm.
            let known = ctx.with_conn(|c| {
                c.query_row(
                    "SELECT EXISTS(SELECT 1 FROM users WHERE legacy_dn = ?1)",
                    [essdn],
                    |r| r.get::<_, bool>(0),
                )
            })?;
            let admin = req.open_flags & open_flags::USE_ADMIN_PRIVILEGE != 0;
            return Err(match (known, admin) {
                (false, _) => ErrorCode::UNKNOWN_USER,
                (true, false) => EC_PROFILE_NOT_CONFIGURED,
                (true, true) => ErrorCode::LOGIN_PERM,
            });
        }
        (ctx.user.id, ctx.user.replica_guid)
    } else {
        // MS-OXCSTOR 3.2.5.1.2: without a public folder container to log on to, no suitable
        // server can be found: ecLoginFailure.
        if !ctx.org_public_folders {
            return Err(ErrorCode::LOGON_FAILED);
        }
        let org = ctx
            .with_conn(storeops::org)?
            .ok_or(ErrorCode::LOGON_FAILED)?;
        if !org.public_folders {
            return Err(ErrorCode::LOGON_FAILED);
        }
        (0, org.public_replica_guid)
    };
    let special = ctx.with_conn(|c| storeops::special_folders(c, mailbox_id))?;
    Ok(StoreInfo {
        mailbox_id,
        private,
        mailbox_guid: ctx.user.mailbox_guid,
        replica_guid,
        owner_name: ctx.user.display_name.clone(),
        owner_dn: ctx.user.legacy_dn.clone(),
        special,
    })
}

/// LogonTime (MS-OXCROPS 2.2.3.1.2) of a Unix time, in UTC.
fn logon_time(unix: u64) -> LogonTime {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    LogonTime {
        seconds: (secs % 60) as u8,
        minutes: (secs / 60 % 60) as u8,
        hour: (secs / 3600) as u8,
        day_of_week: ((days + 4) % 7) as u8,
        day: day as u8,
        month: month as u8,
        year: u16::try_from(year).unwrap_or(0),
    }
}

fn unix_to_filetime(unix: u64) -> u64 {
    (unix + 11_644_473_600) * 10_000_000
}

/// The store object's properties (MS-OXCSTOR 2.2.2.1) behind a Logon input handle.
fn store_props(ctx: &MailboxContext, handles: &[u32], input: u8) -> Result<PropList, ErrorCode> {
    let (_, info) = ctx.object_store(handles, input)?;
    Ok(info.store_props())
}

/// RopGetPropertiesSpecific (MS-OXCPRPT 3.2.5.1) on a Logon.
pub(super) fn get_properties_specific(
    ctx: &MailboxContext,
    handles: &[u32],
    q: &GetPropertiesSpecificRequest,
) -> Step {
    props::specific_reply(q, store_props(ctx, handles, q.input_handle_index))
}

/// RopGetPropertiesAll (MS-OXCPRPT 3.2.5.2) on a Logon.
pub(super) fn get_properties_all(
    ctx: &MailboxContext,
    handles: &[u32],
    q: &GetPropertiesAllRequest,
) -> Step {
    props::all_reply(q, store_props(ctx, handles, q.input_handle_index))
}

/// RopGetReceiveFolder (MS-OXCSTOR 3.2.5.2) on a private logon: the receive folder
/// configured (RopSetReceiveFolder) for the class or a base class of it, else the Inbox for
/// every class.
pub(super) fn get_receive_folder(
    ctx: &MailboxContext,
    handles: &[u32],
    q: &GetReceiveFolderRequest,
) -> Step {
    let (input, class) = (q.input_handle_index, q.message_class.as_str());
    match configured_receive_folder(ctx, handles, input, class) {
        Some(resp) => Step::Reply(resp),
        None => default_receive_folder(ctx, handles, input, class),
    }
}

/// The RopGetReceiveFolder response when a receive folder was configured for the class or a
/// base class of it. `None` when the input is not a private logon or nothing matches (the
/// defaults apply).
fn configured_receive_folder(
    ctx: &MailboxContext,
    handles: &[u32],
    input: u8,
    class: &str,
) -> Option<Vec<u8>> {
    let logon = match ctx.object_store(handles, input).ok()?.0 {
        Object::Logon(l) if l.private => l,
        _ => return None,
    };
    let (configured, fid) = ctx
        .folder_write(|c| fw::receive_folder(c, logon.mailbox_id, class))
        .ok()
        .flatten()?;
    let resp = GetReceiveFolderResponse {
        input_handle_index: input,
        folder_id: FolderId(fid as u64),
        explicit_message_class: configured,
    };
    encode(&resp).ok()
}

/// The default RopGetReceiveFolder answer: every class is received in the Inbox.
fn default_receive_folder(ctx: &MailboxContext, handles: &[u32], input: u8, class: &str) -> Step {
    let rop = RopId::GET_RECEIVE_FOLDER;
    let result = (|| {
        let (obj, info) = ctx.object_store(handles, input)?;
        if !matches!(obj, Object::Logon(_)) || !info.private {
            return Err(ErrorCode::NO_SUPPORT);
        }
        info.special_fid(SPECIAL_INBOX).ok_or(ErrorCode::NOT_FOUND)
    })();
    match result {
        Err(ec) => fail(rop, input, ec),
        Ok(fid) => {
            let explicit = if class
                .get(..3)
                .is_some_and(|p| p.eq_ignore_ascii_case("IPM"))
            {
                "IPM"
            } else {
                ""
            };
            let resp = GetReceiveFolderResponse {
                input_handle_index: input,
                folder_id: FolderId(fid as u64),
                explicit_message_class: explicit.to_owned(),
            };
            reply(rop, input, &resp)
        }
    }
}

/// RopSetReceiveFolder (MS-OXCSTOR 3.2.5.3) on a private logon: FolderId 0 removes the
/// class's entry; the classes "IPM" and "REPORT.IPM" cannot be changed (ecAccessDenied);
/// FolderId 0 for the empty (default) class is ecError.
pub(super) fn set_receive_folder(
    ctx: &MailboxContext,
    handles: &[u32],
    req: &SetReceiveFolderRequest,
    room: usize,
) -> Step {
    let (rop, input) = (RopId::SET_RECEIVE_FOLDER, req.input_handle_index);
    if room < 6 {
        return Step::NoRoom(6);
    }
    let (fid, class) = (req.folder_id.0 as i64, req.message_class.as_str());
    let result = (|| {
        let logon = match ctx.object_store(handles, input)?.0 {
            Object::Logon(l) if l.private => l,
            _ => return Err(ErrorCode::NO_SUPPORT),
        };
        if class.len() > MAX_CLASS_LEN || !class.bytes().all(|b| (0x20..0x7F).contains(&b)) {
            return Err(ErrorCode::INVALID_PARAMETER);
        }
        if class.eq_ignore_ascii_case("IPM") || class.eq_ignore_ascii_case("REPORT.IPM") {
            return Err(ErrorCode::NO_ACCESS);
        }
        if fid == 0 && class.is_empty() {
            return Err(ErrorCode::CALL_FAILED);
        }
        let target = (fid != 0).then_some(fid);
        ctx.folder_write(|c| fw::set_receive_folder(c, logon.mailbox_id, class, target))
    })();
    match result {
        Ok(()) => {
            let resp = SetReceiveFolderResponse {
                input_handle_index: input,
            };
            reply(rop, input, &resp)
        }
        Err(ec) => fail(rop, input, ec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LogonTime fields (MS-OXCROPS 2.2.3.1.2) of known instants.
    #[test]
    fn logon_time_of_known_instants() {
        let epoch = logon_time(0);
        assert_eq!(
            (epoch.year, epoch.month, epoch.day, epoch.day_of_week),
            (1970, 1, 1, 4),
            "1970-01-01 was a Thursday"
        );
        // 2024-02-29T12:34:56Z, a Thursday in a leap year.
        let t = logon_time(1_709_210_096);
        assert_eq!(
            t,
            LogonTime {
                seconds: 56,
                minutes: 34,
                hour: 12,
                day_of_week: 4,
                day: 29,
                month: 2,
                year: 2024,
            }
        );
        assert_eq!(unix_to_filetime(0), 116_444_736_000_000_000);
    }
}
