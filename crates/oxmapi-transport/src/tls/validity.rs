//! The validity period of an X.509 certificate ([RFC 5280 §4.1.2.5]), read from its DER.
//!
//! webpki checks the period of every certificate it chains but does not expose it; a leaf
//! trusted directly from `ca_file` is never chained, so its dates are checked here.
//!
//! [RFC 5280 §4.1.2.5]: https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.5

/// notBefore and notAfter, in seconds since the Unix epoch (negative before 1970).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Validity {
    pub(super) not_before: i64,
    pub(super) not_after: i64,
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
/// `[0] EXPLICIT Version` (context-specific, constructed, tag 0).
const VERSION: u8 = 0xA0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The validity of the certificate `der`, or `None` when the DER is not a certificate.
pub(super) fn validity(der: &[u8]) -> Option<Validity> {
    // Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, ... }  (§4.1)
    let (certificate, _) = tlv(der, SEQUENCE)?;
    let (tbs, _) = tlv(certificate, SEQUENCE)?;
    // TBSCertificate ::= SEQUENCE { version [0] EXPLICIT OPTIONAL, serialNumber,
    //     signature AlgorithmIdentifier, issuer Name, validity Validity, ... }
    let rest = match tlv(tbs, VERSION) {
        Some((_, rest)) => rest,
        None => tbs,
    };
    let (_serial, rest) = tlv(rest, INTEGER)?;
    let (_signature, rest) = tlv(rest, SEQUENCE)?;
    let (_issuer, rest) = tlv(rest, SEQUENCE)?;
    // Validity ::= SEQUENCE { notBefore Time, notAfter Time }
    let (period, _) = tlv(rest, SEQUENCE)?;
    let (not_before, rest) = time(period)?;
    let (not_after, rest) = time(rest)?;
    rest.is_empty().then_some(Validity {
        not_before,
        not_after,
    })
}

/// One DER tag-length-value with tag `tag`: (value, rest). Lengths up to 4 bytes.
fn tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7F => (usize::from(first), rest),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7F);
            let bytes = rest.get(..n)?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, rest.get(n..)?)
        }
        _ => return None,
    };
    Some((rest.get(..len)?, rest.get(len..)?))
}

/// `Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }` in the forms §4.1.2.5.1
/// and §4.1.2.5.2 require: `YYMMDDHHMMSSZ` and `YYYYMMDDHHMMSSZ`.
fn time(input: &[u8]) -> Option<(i64, &[u8])> {
    let (year, clock, rest) = if let Some((text, rest)) = tlv(input, UTC_TIME) {
        let (yy, clock) = (text.get(..2)?, text.get(2..)?);
        let yy = digits(yy)?;
        // §4.1.2.5.1: YY >= 50 is 19YY, YY < 50 is 20YY.
        let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
        (year, clock, rest)
    } else {
        let (text, rest) = tlv(input, GENERALIZED_TIME)?;
        (digits(text.get(..4)?)?, text.get(4..)?, rest)
    };
    // MMDDHHMMSSZ
    if clock.len() != 11 || clock.last() != Some(&b'Z') {
        return None;
    }
    let field = |i: usize| clock.get(i..i + 2).and_then(digits);
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3_600 + minute * 60 + second, rest))
}

/// ASCII decimal digits as a number (at most 4 here).
fn digits(text: &[u8]) -> Option<i64> {
    text.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Vec<u8> {
        [&[UTC_TIME, text.len() as u8][..], text.as_bytes()].concat()
    }

    fn generalized(text: &str) -> Vec<u8> {
        [&[GENERALIZED_TIME, text.len() as u8][..], text.as_bytes()].concat()
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        let t = |der: Vec<u8>| time(&der).map(|(t, _)| t);
        assert_eq!(t(utc("700101000000Z")), Some(0));
        assert_eq!(t(utc("491231235959Z")), Some(2_524_607_999));
        assert_eq!(t(utc("500101000000Z")), Some(-631_152_000));
        // RFC 5280 §4.1.2.5: 99991231235959Z means "no well-defined expiration date".
        assert_eq!(t(generalized("99991231235959Z")), Some(253_402_300_799));
        assert_eq!(t(generalized("20240229120000Z")), Some(1_709_208_000));
    }

    #[test]
    fn bad_times_are_refused() {
        for bad in [
            utc("700101000000"),
            utc("7001010000000Z"),
            utc("701301000000Z"),
            utc("700230000000Z"),
            utc("700101240000Z"),
            utc("70010100000aZ"),
            generalized("20230229000000Z"),
            generalized("20230101000000.5Z"),
            vec![UTC_TIME, 13],
            vec![0x05, 0],
        ] {
            assert_eq!(time(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn reads_the_period_of_real_certificates() {
        // UTCTime before 2050, GeneralizedTime from 2050 on (§4.1.2.5).
        for (from, to) in [
            ((2001, 1, 1), (2002, 1, 1)),
            ((1975, 1, 1), (4096, 1, 1)),
            ((2049, 12, 31), (2050, 1, 1)),
        ] {
            let mut params = rcgen::CertificateParams::new(vec!["x.test".to_owned()]).unwrap();
            params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
            params.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
            let key = rcgen::KeyPair::generate().unwrap();
            let der = params.self_signed(&key).unwrap().der().to_vec();
            let day = |(y, m, d): (i32, u8, u8)| {
                days_from_civil(i64::from(y), i64::from(m), i64::from(d)) * 86_400
            };
            assert_eq!(
                validity(&der),
                Some(Validity {
                    not_before: day(from),
                    not_after: day(to),
                })
            );
            for n in 0..der.len() {
                assert_eq!(validity(&der[..n]), None, "prefix {n}");
            }
        }
    }

    #[test]
    fn long_form_lengths_and_truncation() {
        let value = vec![7u8; 300];
        let der = [&[SEQUENCE, 0x82, 0x01, 0x2C][..], &value].concat();
        assert_eq!(tlv(&der, SEQUENCE), Some((&value[..], &[][..])));
        for n in 0..der.len() {
            assert_eq!(tlv(&der[..n], SEQUENCE), None, "prefix {n}");
        }
        assert_eq!(tlv(&[SEQUENCE, 0x80], SEQUENCE), None);
        assert_eq!(tlv(&[SEQUENCE, 0x85, 0, 0, 0, 0, 0], SEQUENCE), None);
    }
}
