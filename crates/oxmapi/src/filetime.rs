//! FILETIME (MS-DTYP 2.3.3, PtypTime in MS-OXCDATA 2.11.1): 100 ns intervals since
//! 1601-01-01 UTC, to and from [`SystemTime`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// FILETIME of 1970-01-01 UTC.
const UNIX_EPOCH_FILETIME: u64 = 116_444_736_000_000_000;

/// A FILETIME as a [`SystemTime`] (times before 1970 are supported).
pub fn to_system_time(ft: u64) -> SystemTime {
    if ft >= UNIX_EPOCH_FILETIME {
        UNIX_EPOCH + Duration::from_nanos((ft - UNIX_EPOCH_FILETIME).saturating_mul(100))
    } else {
        UNIX_EPOCH - Duration::from_nanos((UNIX_EPOCH_FILETIME - ft).saturating_mul(100))
    }
}

/// A [`SystemTime`] as a FILETIME (saturating outside the representable range).
pub fn from_system_time(t: SystemTime) -> u64 {
    let hundreds = |d: Duration| u64::try_from(d.as_nanos() / 100).unwrap_or(u64::MAX);
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH_FILETIME.saturating_add(hundreds(d)),
        Err(e) => UNIX_EPOCH_FILETIME.saturating_sub(hundreds(e.duration())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // DEPENDENCIES.md: FILETIME 133444736000000000 = 2023-11-14 22:13:20 UTC.
        let t = to_system_time(133_444_736_000_000_000);
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_700_000_000
        );
        assert_eq!(from_system_time(t), 133_444_736_000_000_000);
        assert_eq!(from_system_time(UNIX_EPOCH), UNIX_EPOCH_FILETIME);
        assert_eq!(
            to_system_time(0),
            UNIX_EPOCH - Duration::from_secs(11_644_473_600)
        );
    }
}
