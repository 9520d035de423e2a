//! Seeding a mailbox straight into the store before `oxmapi serve` starts (much faster than
//! delivering thousands of messages through ROPs), for the attacks that need a big Inbox.

use std::path::Path;

use oxmapi_server::store::{SPECIAL_INBOX, Store, StoreError};
use oxmapi_wire::WriteCursor;
use oxmapi_wire::data::{MessageId, PropertyTag, PropertyValue, ValueContext, encode_typed_value};

/// PropertyValue as stored in `props.value` (the ROP encoding of a typed value).
fn encoded(v: &PropertyValue) -> Vec<u8> {
    let mut w = WriteCursor::new();
    encode_typed_value(v, &mut w, ValueContext::Rop).expect("encoding a property value");
    w.into_inner()
}

/// Puts `count` messages into `alias`'s Inbox of the store in `data`, in one transaction;
/// message `i` gets the properties `props(i)`. The server is not running yet; the store is
/// closed again on return.
pub(crate) fn seed_inbox(
    data: &Path,
    alias: &str,
    count: usize,
    props: impl Fn(usize) -> Vec<(PropertyTag, PropertyValue)>,
) {
    let store = Store::open(data).expect("opening the store");
    let user = store
        .user_by_alias(alias)
        .expect("looking up the user")
        .expect("the user exists");
    let inbox = store
        .special_folder(user.id, SPECIAL_INBOX)
        .expect("looking up the Inbox")
        .expect("the user has an Inbox")
        .cast_signed();
    store
        .with_conn(|c| {
            let tx = c.transaction()?;
            {
                let mut msg =
                    tx.prepare("INSERT INTO messages (mailbox_id, mid, fid) VALUES (?1, ?2, ?3)")?;
                let mut prop = tx.prepare(
                    "INSERT INTO props (mailbox_id, kind, object_id, tag, value) \
                     VALUES (?1, 1, ?2, ?3, ?4)",
                )?;
                for i in 0..count {
                    let mid = MessageId::new(1, 0x10_0000 + i as u64).0.cast_signed();
                    msg.execute((user.id, mid, inbox))?;
                    for (tag, v) in props(i) {
                        prop.execute((user.id, mid, i64::from(tag.0), encoded(&v)))?;
                    }
                }
            }
            tx.commit()?;
            Ok::<(), StoreError>(())
        })
        .expect("seeding the Inbox");
}
