//! Changing a mailbox: moving, copying and deleting messages, read flags, and folder writes
//! (CDO `Message.MoveTo`/`CopyTo`/`Delete`, `Message.Unread`, `Folders.Add`, `Folder.Name`,
//! `Folder.MoveTo`, `Folder.Delete`). Each call is one Execute that opens what it needs by
//! ID and releases it: no handle outlives the call.

use oxmapi_wire::data::{ErrorCode, FolderId, MessageId, PropertyValue, TaggedPropertyValue, tags};
use oxmapi_wire::rop::{
    CreateFolderRequest, DeleteFolderRequest, DeleteMessagesRequest, EmptyFolderRequest,
    GetPropertiesSpecificRequest, HardDeleteMessagesRequest, MoveCopyMessagesRequest,
    MoveFolderRequest, OpenFolderRequest, RopResponse, SetPropertiesRequest, SetReadFlagsRequest,
    delete_folder_flags, folder_type, read_flags,
};

use crate::entryid::{self, EntryId};
use crate::error::{Error, ErrorKind};
use crate::ropkit::{Batch, NEW_HANDLE, Replies};
use crate::session::{DefaultFolder, Session};

/// How [`Session::delete_messages`] deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteMode {
    /// Move to Deleted Items (what Outlook's Delete key does); hard-deletes when the
    /// messages already are in Deleted Items.
    Soft,
    /// RopHardDeleteMessages: gone, not recoverable from Deleted Items.
    Hard,
}

impl Session {
    /// The folder and message IDs a message entry ID names, in this mailbox (for the write
    /// calls, which take IDs).
    pub fn message_of(&self, id: &EntryId) -> Result<(FolderId, MessageId), Error> {
        self.check_store(id)?;
        match id {
            EntryId::Message(m) => Ok((
                entryid::folder_id(self.replid(), &m.folder),
                entryid::message_id(self.replid(), &m.message),
            )),
            EntryId::Folder(_) => Err(Error::new(
                ErrorKind::NotFound,
                ErrorCode::INVALID_ENTRYID,
                format!("entry ID {id} names a folder, not a message"),
            )
            .at_step("entry-id")),
        }
    }

    /// CDO `Message.MoveTo` for several messages of `from` (RopMoveCopyMessages).
    pub async fn move_messages(
        &mut self,
        from: FolderId,
        ids: &[MessageId],
        to: FolderId,
    ) -> Result<(), Error> {
        self.move_copy(from, ids, to, false).await
    }

    /// CDO `Message.CopyTo` for several messages of `from` (RopMoveCopyMessages, WantCopy).
    pub async fn copy_messages(
        &mut self,
        from: FolderId,
        ids: &[MessageId],
        to: FolderId,
    ) -> Result<(), Error> {
        self.move_copy(from, ids, to, true).await
    }

    /// Deletes messages of `folder`: [`DeleteMode::Soft`] moves them to Deleted Items,
    /// [`DeleteMode::Hard`] removes them (RopHardDeleteMessages).
    pub async fn delete_messages(
        &mut self,
        folder: FolderId,
        ids: &[MessageId],
        mode: DeleteMode,
    ) -> Result<(), Error> {
        let deleted_items = self.default_folder_id(DefaultFolder::DeletedItems);
        if mode == DeleteMode::Soft && folder != deleted_items {
            return self.move_copy(folder, ids, deleted_items, false).await;
        }
        const STEP: &str = "delete-messages";
        let mut b = Batch::new(vec![self.logon_handle(), NEW_HANDLE]);
        open_folder(&mut b, folder, 1);
        let req = DeleteMessagesRequest {
            logon_id: 0,
            input_handle_index: 1,
            want_asynchronous: 0,
            notify_non_read: 0,
            message_ids: ids.to_vec(),
        };
        if mode == DeleteMode::Hard {
            b.push(HardDeleteMessagesRequest {
                logon_id: req.logon_id,
                input_handle_index: req.input_handle_index,
                want_asynchronous: 0,
                notify_non_read: 0,
                message_ids: req.message_ids,
            });
        } else {
            b.push(req);
        }
        b.release(1);
        let mut r = b.send(self, STEP).await?;
        let what = || format!("deleting {} message(s) of folder {folder}", ids.len());
        expect_open(&mut r, &what)?;
        let (rv, partial) = r.next(&what, |x| match x {
            RopResponse::DeleteMessages(d) => Ok((d.return_value, d.partial_completion)),
            RopResponse::HardDeleteMessages(d) => Ok((d.return_value, d.partial_completion)),
            o => Err(o),
        })?;
        partial_ok(STEP, rv, partial, &what)
    }

    /// CDO `Message.Unread = False/True` for several messages (RopSetReadFlags).
    pub async fn set_read(
        &mut self,
        folder: FolderId,
        ids: &[MessageId],
        read: bool,
    ) -> Result<(), Error> {
        const STEP: &str = "set-read-flags";
        let mut b = Batch::new(vec![self.logon_handle(), NEW_HANDLE]);
        open_folder(&mut b, folder, 1);
        b.push(SetReadFlagsRequest {
            logon_id: 0,
            input_handle_index: 1,
            want_asynchronous: 0,
            read_flags: if read {
                read_flags::SUPPRESS_RECEIPT
            } else {
                read_flags::CLEAR_READ_FLAG
            },
            message_ids: ids.to_vec(),
        });
        b.release(1);
        let mut r = b.send(self, STEP).await?;
        let state = if read { "read" } else { "unread" };
        let what = || {
            format!(
                "marking {} message(s) of folder {folder} {state}",
                ids.len()
            )
        };
        expect_open(&mut r, &what)?;
        let partial = r.next(&what, |x| match x {
            RopResponse::SetReadFlags(s) => Ok(s.partial_completion),
            o => Err(o),
        })?;
        partial_ok(STEP, ErrorCode::SUCCESS, partial, &what)
    }

    /// CDO `Folders.Add`: a generic folder named `name` under `parent`; returns its ID.
    pub async fn create_folder(&mut self, parent: FolderId, name: &str) -> Result<FolderId, Error> {
        const STEP: &str = "create-folder";
        let mut b = Batch::new(vec![self.logon_handle(), NEW_HANDLE, NEW_HANDLE]);
        open_folder(&mut b, parent, 1);
        b.push(CreateFolderRequest {
            logon_id: 0,
            input_handle_index: 1,
            output_handle_index: 2,
            folder_type: folder_type::GENERIC,
            use_unicode_strings: 1,
            open_existing: 0,
            reserved: 0,
            display_name: name.to_owned(),
            comment: String::new(),
        });
        b.release(2);
        b.release(1);
        let mut r = b.send(self, STEP).await?;
        let what = || format!("creating folder {name:?} under folder {parent}");
        expect_open(&mut r, &what)?;
        r.next(&what, |x| match x {
            RopResponse::CreateFolder(c) => Ok(c.folder_id),
            o => Err(o),
        })
    }

    /// CDO `Folder.Name = ...; Folder.Update` (RopSetProperties PidTagDisplayName).
    pub async fn rename_folder(&mut self, folder: FolderId, name: &str) -> Result<(), Error> {
        const STEP: &str = "rename-folder";
        let mut b = Batch::new(vec![self.logon_handle(), NEW_HANDLE]);
        open_folder(&mut b, folder, 1);
        b.push(SetPropertiesRequest {
            logon_id: 0,
            input_handle_index: 1,
            values: vec![TaggedPropertyValue::new(
                tags::PidTagDisplayName,
                PropertyValue::Unicode(name.to_owned()),
            )],
        });
        b.release(1);
        let mut r = b.send(self, STEP).await?;
        let what = || format!("renaming folder {folder} to {name:?}");
        expect_open(&mut r, &what)?;
        let set = r.next(&what, |x| match x {
            RopResponse::SetProperties(s) => Ok(s),
            o => Err(o),
        })?;
        match set.problems.first() {
            None => Ok(()),
            Some(p) => Err(Error::mapi(
                STEP,
                p.error,
                format!("{}: the name was refused", what()),
            )),
        }
    }

    /// CDO `Folder.MoveTo`: moves `folder` (with its contents) under `new_parent`.
    pub async fn move_folder(
        &mut self,
        folder: FolderId,
        new_parent: FolderId,
    ) -> Result<(), Error> {
        const STEP: &str = "move-folder";
        let (parent, name) = self.folder_parent_and_name(folder).await?;
        let mut b = Batch::new(vec![self.logon_handle(), NEW_HANDLE, NEW_HANDLE]);
        open_folder(&mut b, parent, 1);
        open_folder(&mut b, new_parent, 2);
        b.push(MoveFolderRequest {
            logon_id: 0,
            source_handle_index: 1,
            dest_handle_index: 2,
            want_asynchronous: 0,
            use_unicode: 1,
            folder_id: folder,
            new_folder_name: name,
        });
        b.release(2);
        b.release(1);
        let mut r = b.send(self, STEP).await?;
        let what = || format!("moving folder {folder} under folder {new_parent}");
        expect_open(&mut r, &what)?;
        expect_open(&mut r, &what)?;
        let (rv, partial) = r.next(&what, |x| match x {
            RopResponse::MoveFolder(m) => Ok((m.return_value, m.partial_completion)),
            o => Err(o),
        })?;
        partial_ok(STEP, rv, partial, &what)
    }

    /// CDO `Folder.Messages.Delete` (all): RopEmptyFolder, subfolders included.
    pub async fn empty_folder(&mut self, folder: FolderId) -> Result<(), Error> {
        const STEP: &str = "empty-folder";
        let mut b = Batch::new(vec![self.logon_handle(), NEW_HANDLE]);
        open_folder(&mut b, folder, 1);
        b.push(EmptyFolderRequest {
            logon_id: 0,
            input_handle_index: 1,
            want_asynchronous: 0,
            want_delete_associated: 0,
        });
        b.release(1);
        let mut r = b.send(self, STEP).await?;
        let what = || format!("emptying folder {folder}");
        expect_open(&mut r, &what)?;
        let (rv, partial) = r.next(&what, |x| match x {
            RopResponse::EmptyFolder(e) => Ok((e.return_value, e.partial_completion)),
            o => Err(o),
        })?;
        partial_ok(STEP, rv, partial, &what)
    }

    /// CDO `Folder.Delete`: RopDeleteFolder on its parent, with its messages and subfolders.
    pub async fn delete_folder(&mut self, folder: FolderId) -> Result<(), Error> {
        const STEP: &str = "delete-folder";
        let (parent, _) = self.folder_parent_and_name(folder).await?;
        let mut b = Batch::new(vec![self.logon_handle(), NEW_HANDLE]);
        open_folder(&mut b, parent, 1);
        b.push(DeleteFolderRequest {
            logon_id: 0,
            input_handle_index: 1,
            delete_folder_flags: delete_folder_flags::DEL_MESSAGES
                | delete_folder_flags::DEL_FOLDERS,
            folder_id: folder,
        });
        b.release(1);
        let mut r = b.send(self, STEP).await?;
        let what = || format!("deleting folder {folder}");
        expect_open(&mut r, &what)?;
        let (rv, partial) = r.next(&what, |x| match x {
            RopResponse::DeleteFolder(d) => Ok((d.return_value, d.partial_completion)),
            o => Err(o),
        })?;
        partial_ok(STEP, rv, partial, &what)
    }

    async fn move_copy(
        &mut self,
        from: FolderId,
        ids: &[MessageId],
        to: FolderId,
        copy: bool,
    ) -> Result<(), Error> {
        let step = if copy {
            "copy-messages"
        } else {
            "move-messages"
        };
        let mut b = Batch::new(vec![self.logon_handle(), NEW_HANDLE, NEW_HANDLE]);
        open_folder(&mut b, from, 1);
        open_folder(&mut b, to, 2);
        b.push(MoveCopyMessagesRequest {
            logon_id: 0,
            source_handle_index: 1,
            dest_handle_index: 2,
            message_ids: ids.to_vec(),
            want_asynchronous: 0,
            want_copy: u8::from(copy),
        });
        b.release(2);
        b.release(1);
        let mut r = b.send(self, step).await?;
        let verb = if copy { "copying" } else { "moving" };
        let what = || {
            format!(
                "{verb} {} message(s) from folder {from} to folder {to}",
                ids.len()
            )
        };
        expect_open(&mut r, &what)?;
        expect_open(&mut r, &what)?;
        let (rv, partial) = r.next(&what, |x| match x {
            RopResponse::MoveCopyMessages(m) => Ok((m.return_value, m.partial_completion)),
            o => Err(o),
        })?;
        partial_ok(step, rv, partial, &what)
    }

    /// PidTagParentFolderId and PidTagDisplayName of a folder.
    async fn folder_parent_and_name(
        &mut self,
        folder: FolderId,
    ) -> Result<(FolderId, String), Error> {
        const STEP: &str = "folder-parent";
        let wanted = vec![tags::PidTagParentFolderId, tags::PidTagDisplayName];
        let mut b = Batch::new(vec![self.logon_handle(), NEW_HANDLE]);
        open_folder(&mut b, folder, 1);
        b.push(GetPropertiesSpecificRequest {
            logon_id: 0,
            input_handle_index: 1,
            property_size_limit: 0,
            want_unicode: 1,
            property_tags: wanted,
        });
        b.release(1);
        let mut r = b.send(self, STEP).await?;
        let what = || format!("reading the parent of folder {folder}");
        expect_open(&mut r, &what)?;
        let row = r.next(&what, |x| match x {
            RopResponse::GetPropertiesSpecific(g) => Ok(g.row),
            o => Err(o),
        })?;
        let parent = row
            .values
            .first()
            .and_then(|v| v.value())
            .and_then(PropertyValue::as_i64)
            .map(|v| FolderId(v as u64))
            .ok_or_else(|| {
                crate::ropkit::bad_data(STEP, format!("folder {folder} has no parent folder"))
            })?;
        let name = row
            .values
            .get(1)
            .and_then(|v| v.value())
            .and_then(PropertyValue::as_str)
            .map(|s| s.into_owned())
            .unwrap_or_default();
        Ok((parent, name))
    }
}

/// Releases a handle (RopRelease has no response); errors are of no consequence.
pub(crate) async fn release(session: &mut Session, handle: u32) {
    let mut b = Batch::new(vec![handle]);
    b.release(0);
    let _ = b.send(session, "release").await;
}

fn open_folder(b: &mut Batch, folder: FolderId, slot: u8) {
    b.push(OpenFolderRequest {
        logon_id: 0,
        input_handle_index: 0,
        output_handle_index: slot,
        folder_id: folder,
        open_mode_flags: 0,
    });
}

fn expect_open(r: &mut Replies, what: &dyn Fn() -> String) -> Result<(), Error> {
    r.next(what, |x| match x {
        RopResponse::OpenFolder(_) => Ok(()),
        o => Err(o),
    })
}

fn partial_ok(
    step: &'static str,
    rv: ErrorCode,
    partial: u8,
    what: &dyn Fn() -> String,
) -> Result<(), Error> {
    if rv != ErrorCode::SUCCESS {
        return Err(Error::mapi(step, rv, format!("{} failed", what())));
    }
    if partial != 0 {
        return Err(Error::mapi(
            step,
            ErrorCode(0x0004_0380),
            format!("{}: only partly done (PartialCompletion)", what()),
        ));
    }
    Ok(())
}
