//! MS-OXCDATA: the common data types of the Exchange protocols.
//!
//! [MS-OXCDATA](https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcdata/)

pub mod errcode;
pub mod ids;
pub mod prop;
pub mod restriction;
pub mod tags;

pub use errcode::ErrorCode;
pub use ids::{FolderId, LongTermId, MessageId};
pub use prop::{
    PropertyProblem, PropertyRow, PropertyTag, PropertyType, PropertyValue, RowValue,
    TaggedPropertyValue, ValueContext, decode_typed_value, encode_typed_value,
};
pub use restriction::{BitmapRelOp, RelOp, Restriction};
