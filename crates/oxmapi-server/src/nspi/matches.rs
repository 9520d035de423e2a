//! The Filter of NspiGetMatches (MS-OXNSPI 3.1.4.1.10 constraint 8) on a GAL entry: a
//! restriction (MS-OXCDATA 2.12), including the ANR restriction clients use for ambiguous
//! names (a PropertyRestriction on PidTagAnr, MS-OXNSPI 3.1.4.7).

use oxmapi_wire::data::restriction::{
    FL_IGNORECASE, FL_PREFIX, FL_SUBSTRING, RELOP_EQ, RELOP_GE, RELOP_GT, RELOP_LE, RELOP_LT,
    RELOP_NE, RelOp, Restriction,
};
use oxmapi_wire::data::{PropertyTag, PropertyValue};

use super::gal::Gal;
use crate::store::UserRecord;

/// PidTagAnr (MS-OXPROPS): the ANR pseudo-property.
const PID_TAG_ANR: u16 = 0x360C;

/// Whether `user` satisfies `f`. Restrictions on properties the entry lacks are false
/// (MS-OXCDATA 2.12); sub-object restrictions never match an address-book entry. Used by
/// [`super::core::AddressBook::get_matches`] for both transports.
pub(crate) fn matches(gal: &Gal, user: &UserRecord, f: &Restriction) -> bool {
    match f {
        Restriction::And(v) => v.iter().all(|f| matches(gal, user, f)),
        Restriction::Or(v) => v.iter().any(|f| matches(gal, user, f)),
        Restriction::Not(f) => !matches(gal, user, f),
        Restriction::Content {
            fuzzy_level_low,
            fuzzy_level_high,
            tag,
            value,
        } => {
            let (Some(have), Some(want)) = (text(gal, user, *tag), value.value.as_str()) else {
                return false;
            };
            let fold = |s: &str| {
                if fuzzy_level_high & FL_IGNORECASE != 0 {
                    s.to_lowercase()
                } else {
                    s.to_owned()
                }
            };
            let (have, want) = (fold(&have), fold(&want));
            match fuzzy_level_low & 0x3 {
                FL_SUBSTRING => have.contains(&want),
                FL_PREFIX => have.starts_with(&want),
                _ => have == want,
            }
        }
        Restriction::Property { relop, tag, value } if tag.id() == PID_TAG_ANR => {
            *relop == RELOP_EQ
                && value
                    .value
                    .as_str()
                    .is_some_and(|name| gal.anr(&name).iter().any(|u| u.id == user.id))
        }
        Restriction::Property { relop, tag, value } => {
            compare(gal.value(user, *tag).as_ref(), &value.value, *relop)
        }
        Restriction::Exist { tag } => gal.value(user, *tag).is_some(),
        Restriction::Comment {
            restriction: Some(f),
            ..
        } => matches(gal, user, f),
        Restriction::Count { restriction, .. } => matches(gal, user, restriction),
        _ => false,
    }
}

fn text(gal: &Gal, user: &UserRecord, tag: PropertyTag) -> Option<String> {
    gal.value(user, tag)
        .and_then(|v| v.as_str().map(|s| s.into_owned()))
}

fn compare(have: Option<&PropertyValue>, want: &PropertyValue, relop: RelOp) -> bool {
    let Some(have) = have else { return false };
    let ord = match (have.as_str(), want.as_str(), have.as_i64(), want.as_i64()) {
        (Some(a), Some(b), _, _) => a.to_lowercase().cmp(&b.to_lowercase()),
        (_, _, Some(a), Some(b)) => a.cmp(&b),
        _ => match have.as_bytes().zip(want.as_bytes()) {
            Some((a, b)) => a.cmp(b),
            None => return false,
        },
    };
    match relop {
        RELOP_LT => ord.is_lt(),
        RELOP_LE => ord.is_le(),
        RELOP_GT => ord.is_gt(),
        RELOP_GE => ord.is_ge(),
        RELOP_EQ => ord.is_eq(),
        RELOP_NE => ord.is_ne(),
        _ => false,
    }
}
