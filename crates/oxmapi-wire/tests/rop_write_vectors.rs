//! Known-answer tests for the write-side ROPs: the published MS-OXCFOLD example and
//! constructed fixtures laid out from the MS-OXCROPS field tables (marked as such).

use oxmapi_wire::data::{ErrorCode, FolderId, MessageId};
use oxmapi_wire::rop::*;
use oxmapi_wire::{Decode, Encode, ReadCursor};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).expect("test hex")
}

fn decode_response(bytes: &[u8], id: RopId) -> RopResponse {
    let mut r = ReadCursor::new(bytes);
    let v = RopResponse::decode(&mut r, &ResponseContext::Plain(id)).expect("decode");
    r.finish("response").expect("whole response consumed");
    v
}

/// MS-OXCFOLD 4.5.1 "Client Request Buffer" (published): RopMoveFolder moving folder
/// 0001-00000E8EDF36 to the folder at handle index 2, renamed "Folder1".
#[test]
fn move_folder_request_ms_oxcfold_4_5_1() {
    let bytes = hex("35 00 01 02 01 01 01 00 00 00 0E 8E DF 36 46 00
         6F 00 6C 00 64 00 65 00 72 00 31 00 00 00");
    let req = RopRequest::from_bytes(&bytes).expect("decode");
    assert_eq!(
        req,
        RopRequest::MoveFolder(MoveFolderRequest {
            logon_id: 0,
            source_handle_index: 1,
            dest_handle_index: 2,
            want_asynchronous: 1,
            use_unicode: 1,
            folder_id: FolderId(0x36DF_8E0E_0000_0001),
            new_folder_name: "Folder1".into(),
        })
    );
    assert_eq!(req.input_handle_index(), 1);
    assert_eq!(req.dest_handle_index(), Some(2));
    assert_eq!(req.to_bytes().expect("encode"), bytes);
    for n in 0..bytes.len() {
        assert!(RopRequest::from_bytes(&bytes[..n]).is_err(), "prefix {n}");
    }
}

/// Constructed (MS-OXCROPS 2.2.4.7.2 layout): RopMoveFolder success with PartialCompletion 0,
/// and an ecNotFound failure that still carries PartialCompletion.
#[test]
fn move_folder_responses_constructed() {
    let ok = hex("35 01 00 00 00 00 00");
    assert_eq!(
        decode_response(&ok, RopId::MOVE_FOLDER),
        RopResponse::MoveFolder(MoveFolderResponse {
            source_handle_index: 1,
            return_value: ErrorCode::SUCCESS,
            partial_completion: 0,
        })
    );
    let not_found = hex("35 01 0F 01 04 80 01");
    let r = decode_response(&not_found, RopId::MOVE_FOLDER);
    assert_eq!(r.return_value(), Some(ErrorCode(0x8004_010F)));
    assert_eq!(r.to_bytes().expect("encode"), not_found);
}

/// Constructed (MS-OXCROPS 2.2.4.6.3 layout): RopMoveCopyMessages Null Destination Failure
/// Response: ecDstNullObject, DestHandleIndex 2 (u32), PartialCompletion 0.
#[test]
fn move_copy_messages_null_destination_constructed() {
    let bytes = hex("33 01 03 05 00 00 02 00 00 00 00");
    let r = decode_response(&bytes, RopId::MOVE_COPY_MESSAGES);
    assert_eq!(
        r,
        RopResponse::NullDestination(NullDestinationFailureResponse {
            rop_id: RopId::MOVE_COPY_MESSAGES,
            source_handle_index: 1,
            dest_handle_index: 2,
            partial_completion: 0,
        })
    );
    assert_eq!(r.return_value(), Some(ErrorCode(0x503)));
    assert_eq!(r.to_bytes().expect("encode"), bytes);
}

/// Constructed (MS-OXCROPS 2.2.6.2 / 2.2.6.3 layouts): create a message in folder
/// 0001-000000000042, then save it.
#[test]
fn create_and_save_message_constructed() {
    let req = hex("06 00 00 01 FF 0F 01 00 00 00 00 00 00 42 00");
    assert_eq!(
        RopRequest::from_bytes(&req).expect("decode"),
        RopRequest::CreateMessage(CreateMessageRequest {
            logon_id: 0,
            input_handle_index: 0,
            output_handle_index: 1,
            code_page_id: 0x0FFF,
            folder_id: FolderId(0x4200_0000_0000_0001),
            associated_flag: 0,
        })
    );
    let resp = hex("06 01 00 00 00 00 00");
    assert_eq!(
        decode_response(&resp, RopId::CREATE_MESSAGE),
        RopResponse::CreateMessage(CreateMessageResponse {
            output_handle_index: 1,
            message_id: None,
        })
    );
    let save = hex("0C 00 01 01 02");
    let save_req = RopRequest::from_bytes(&save).expect("decode");
    assert_eq!(save_req.response_handle_index(), 1);
    let saved = hex("0C 01 00 00 00 00 01 01 00 00 00 00 00 00 43");
    assert_eq!(
        decode_response(&saved, RopId::SAVE_CHANGES_MESSAGE),
        RopResponse::SaveChangesMessage(SaveChangesMessageResponse {
            response_handle_index: 1,
            input_handle_index: 1,
            message_id: MessageId(0x4300_0000_0000_0001),
        })
    );
    // A failed save is the generic form, echoing ResponseHandleIndex.
    let failed = hex("0C 01 05 00 04 80");
    assert_eq!(
        decode_response(&failed, RopId::SAVE_CHANGES_MESSAGE),
        RopResponse::Error(RopErrorResponse {
            rop_id: RopId::SAVE_CHANGES_MESSAGE,
            handle_index: 1,
            return_value: ErrorCode(0x8004_0005),
        })
    );
}

/// Constructed (MS-OXCROPS 2.2.9.3 layout): RopWriteStream of three bytes and its response.
#[test]
fn write_stream_constructed() {
    let req = hex("2D 00 02 03 00 61 62 63");
    assert_eq!(
        RopRequest::from_bytes(&req).expect("decode"),
        RopRequest::WriteStream(WriteStreamRequest {
            logon_id: 0,
            input_handle_index: 2,
            data: b"abc".to_vec(),
        })
    );
    let resp = hex("2D 02 00 00 00 00 03 00");
    assert_eq!(
        decode_response(&resp, RopId::WRITE_STREAM),
        RopResponse::WriteStream(WriteStreamResponse {
            input_handle_index: 2,
            written_size: 3,
        })
    );
}
