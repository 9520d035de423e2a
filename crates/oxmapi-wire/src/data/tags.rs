//! Well-known property tags (MS-OXPROPS), with their canonical names.

use crate::data::prop::PropertyTag;

macro_rules! tags {
    ($($name:ident = $value:expr;)*) => {
        $(
            #[doc = concat!("`", stringify!($name), "`")]
            #[allow(non_upper_case_globals)]
            pub const $name: PropertyTag = PropertyTag($value);
        )*

        /// The canonical name of a well-known tag.
        pub fn name_of(tag: PropertyTag) -> Option<&'static str> {
            match tag.0 {
                $( $value => Some(stringify!($name)), )*
                _ => None,
            }
        }

        /// Looks a well-known tag up by its canonical name (`PidTagSubject`).
        pub fn by_name(name: &str) -> Option<PropertyTag> {
            match name {
                $( stringify!($name) => Some(PropertyTag($value)), )*
                _ => None,
            }
        }
    };
}

tags! {
    PidTagMessageClass = 0x001A_001F;
    PidTagSubject = 0x0037_001F;
    PidTagSubjectPrefix = 0x003D_001F;
    PidTagNormalizedSubject = 0x0E1D_001F;
    PidTagClientSubmitTime = 0x0039_0040;
    PidTagSentRepresentingName = 0x0042_001F;
    PidTagSentRepresentingEmailAddress = 0x0065_001F;
    PidTagImportance = 0x0017_0003;
    PidTagSensitivity = 0x0036_0003;
    PidTagMessageDeliveryTime = 0x0E06_0040;
    PidTagMessageFlags = 0x0E07_0003;
    PidTagMessageSize = 0x0E08_0003;
    PidTagHasAttachments = 0x0E1B_000B;
    PidTagDisplayTo = 0x0E04_001F;
    PidTagDisplayCc = 0x0E03_001F;
    PidTagDisplayBcc = 0x0E02_001F;
    PidTagSenderName = 0x0C1A_001F;
    PidTagSenderEmailAddress = 0x0C1F_001F;
    PidTagSenderSmtpAddress = 0x5D01_001F;
    PidTagInternetMessageId = 0x1035_001F;
    PidTagBody = 0x1000_001F;
    PidTagHtml = 0x1013_0102;
    PidTagRtfCompressed = 0x1009_0102;
    PidTagTransportMessageHeaders = 0x007D_001F;
    PidTagCreationTime = 0x3007_0040;
    PidTagLastModificationTime = 0x3008_0040;
    PidTagEntryId = 0x0FFF_0102;
    PidTagRecordKey = 0x0FF9_0102;
    PidTagInstanceKey = 0x0FF6_0102;
    PidTagObjectType = 0x0FFE_0003;
    PidTagDisplayName = 0x3001_001F;
    PidTagAddressType = 0x3002_001F;
    PidTagEmailAddress = 0x3003_001F;
    PidTagComment = 0x3004_001F;
    PidTagDepth = 0x3005_0003;
    PidTagContentCount = 0x3602_0003;
    PidTagContentUnreadCount = 0x3603_0003;
    PidTagSubfolders = 0x360A_000B;
    PidTagContainerClass = 0x3613_001F;
    PidTagFolderType = 0x3601_0003;
    PidTagFolderId = 0x6748_0014;
    PidTagParentFolderId = 0x6749_0014;
    PidTagMid = 0x674A_0014;
    PidTagParentEntryId = 0x0E09_0102;
    PidTagRecipientType = 0x0C15_0003;
    PidTagSmtpAddress = 0x39FE_001F;
    PidTagAccount = 0x3A00_001F;
    PidTagAttachNumber = 0x0E21_0003;
    PidTagAttachSize = 0x0E20_0003;
    PidTagAttachMethod = 0x3705_0003;
    PidTagAttachFilename = 0x3704_001F;
    PidTagAttachLongFilename = 0x3707_001F;
    PidTagAttachMimeTag = 0x370E_001F;
    PidTagAttachDataBinary = 0x3701_0102;
    PidTagAttachDataObject = 0x3701_000D;
    PidTagAttachContentId = 0x3712_001F;
    PidTagRenderingPosition = 0x370B_0003;
    PidTagStoreSupportMask = 0x340D_0003;
    PidTagStoreState = 0x340E_0003;
    PidTagMailboxOwnerName = 0x661C_001F;
    PidTagMailboxOwnerEntryId = 0x661B_0102;
    PidTagUserEntryId = 0x6619_0102;
    PidTagMessageSizeExtended = 0x0E08_0014;
    PidTagIpmSubtreeEntryId = 0x35E0_0102;
    PidTagIpmOutboxEntryId = 0x35E2_0102;
    PidTagIpmWastebasketEntryId = 0x35E3_0102;
    PidTagIpmSentMailEntryId = 0x35E4_0102;
    PidTagIpmAppointmentEntryId = 0x36D0_0102;
    PidTagIpmContactEntryId = 0x36D1_0102;
    PidTagIpmJournalEntryId = 0x36D2_0102;
    PidTagIpmNoteEntryId = 0x36D3_0102;
    PidTagIpmTaskEntryId = 0x36D4_0102;
    PidTagIpmDraftsEntryId = 0x36D7_0102;
    PidTagRead = 0x0E69_000B;
    PidTagInternetCodepage = 0x3FDE_0003;
    PidTagMessageLocaleId = 0x3FF1_0003;
    PidTagLastModifierName = 0x3FFA_001F;
    PidTagAddressBookDisplayNamePrintable = 0x39FF_001F;
    PidTagDisplayType = 0x3900_0003;
    PidTagDisplayTypeEx = 0x3905_0003;
    PidTagAddressBookProxyAddresses = 0x800F_101F;
    PidTagAddressBookHomeMessageDatabase = 0x8006_001E;
    PidTagTitle = 0x3A17_001F;
    PidTagDepartmentName = 0x3A18_001F;
    PidTagInstanceNum = 0x674E_0003;
    PidTagAddressBookContainerId = 0xFFFD_0003;
    PidTagContainerFlags = 0x3600_0003;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_both_ways() {
        assert_eq!(name_of(PidTagSubject), Some("PidTagSubject"));
        assert_eq!(by_name("PidTagMid"), Some(PidTagMid));
        assert_eq!(name_of(PropertyTag(0x1234_0003)), None);
    }
}
