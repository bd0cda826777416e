//! The mbox From_ line exactly as qmail-local writes it (qmail.md §5.9):
//! `From <sender> <Www Mmm DD HH:MM:SS YYYY>\n`, the sender with space, tab and LF
//! turned into `-` (so the line stays one line and one word), an empty sender written
//! as `MAILER-DAEMON`, the time in UTC with the day of month zero-padded (qmail's
//! choice; asctime pads with a space, and readers accept both).

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
/// English month abbreviations, as qmail writes dates (shared with the SMTP Received line).
pub const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The From_ line for `sender` at `secs` since the epoch, with its LF.
pub fn from_line(sender: &[u8], secs: i64) -> Vec<u8> {
    let mut line = b"From ".to_vec();
    if sender.is_empty() {
        line.extend_from_slice(b"MAILER-DAEMON");
    }
    line.extend(sender.iter().map(|&b| if matches!(b, b' ' | b'\t' | b'\n') { b'-' } else { b }));
    line.push(b' ');
    line.extend_from_slice(ctime_utc(secs).as_bytes());
    line.push(b'\n');
    line
}

/// `Www Mmm DD HH:MM:SS YYYY` in UTC, day zero-padded.
pub fn ctime_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let weekday = DAYS[days.rem_euclid(7) as usize];
    let (hh, mm, ss) = (rem / 3600, rem / 60 % 60, rem % 60);
    format!("{weekday} {} {d:02} {hh:02}:{mm:02}:{ss:02} {y}", MONTHS[(m - 1) as usize])
}

/// Year, month (1-12), day (1-31) of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_ctime_in_utc_with_a_zero_padded_day() {
        assert_eq!(ctime_utc(0), "Thu Jan 01 00:00:00 1970");
        assert_eq!(ctime_utc(1_000_000_000), "Sun Sep 09 01:46:40 2001");
        assert_eq!(ctime_utc(951_782_400), "Tue Feb 29 00:00:00 2000");
        assert_eq!(ctime_utc(1_795_000_000), "Wed Nov 18 11:06:40 2026");
        assert_eq!(ctime_utc(-1), "Wed Dec 31 23:59:59 1969");
    }

    #[test]
    fn sender_blanks_become_dashes() {
        assert_eq!(from_line(b"a b\tc\nd@x", 0), b"From a-b-c-d@x Thu Jan 01 00:00:00 1970\n");
        assert_eq!(from_line(b"", 0), b"From MAILER-DAEMON Thu Jan 01 00:00:00 1970\n");
    }
}
