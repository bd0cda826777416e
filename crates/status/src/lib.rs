//! Failure values shared by every qmta crate.
//!
//! A `Failure` is qmail's report letter made explicit: a class (`Temporary` = qmail's
//! `Z`/exit 111, `Permanent` = `D`/exit 100), an RFC 3463 enhanced status whose first
//! digit agrees with the class, and a human text. `Display` prints qmail's HCMSSC
//! form: `text (#4.3.0)`.
//!
//! Guarantee: a `Failure` can never carry a class that disagrees with its status;
//! the constructors check it. Unknown errors are temporary (losing mail is worse than
//! delaying a bounce), see `from_io`.

use std::fmt;
use std::io;

mod errno;
pub use errno::class_of_errno;

/// qmail's two failure classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Temporary,
    Permanent,
}

impl Class {
    /// The first digit of an enhanced status code of this class.
    pub fn digit(self) -> char {
        match self {
            Class::Temporary => '4',
            Class::Permanent => '5',
        }
    }
}

/// A failure with its class, its RFC 3463 status ("4.3.0") and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub class: Class,
    pub status: String,
    pub text: String,
}

impl Failure {
    /// A temporary failure; `detail` is the "x.y" after the class digit, e.g. "3.0".
    pub fn temp(detail: &str, text: impl Into<String>) -> Self {
        Self::new(Class::Temporary, detail, text)
    }

    /// A permanent failure; `detail` is the "x.y" after the class digit, e.g. "1.3".
    pub fn perm(detail: &str, text: impl Into<String>) -> Self {
        Self::new(Class::Permanent, detail, text)
    }

    fn new(class: Class, detail: &str, text: impl Into<String>) -> Self {
        debug_assert!(is_detail(detail), "bad status detail {detail:?}");
        Failure { class, status: format!("{}.{}", class.digit(), detail), text: text.into() }
    }

    /// Maps an I/O error through the errno table; `what` says what was being done.
    pub fn from_io(err: &io::Error, what: &str) -> Self {
        let (class, detail) = class_of_errno(err.raw_os_error());
        Self::new(class, detail, format!("{what}: {err}"))
    }

    pub fn is_temporary(&self) -> bool {
        self.class == Class::Temporary
    }
}

fn is_detail(d: &str) -> bool {
    let mut parts = d.split('.');
    let ok = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (#{})", self.text, self.status)
    }
}

impl std::error::Error for Failure {}

/// Every fallible qmta operation returns this.
pub type Result<T> = std::result::Result<T, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_and_status_agree() {
        let t = Failure::temp("3.0", "disk trouble");
        assert_eq!(t.status, "4.3.0");
        assert!(t.is_temporary());
        let p = Failure::perm("1.3", "bad address");
        assert_eq!(p.status, "5.1.3");
        assert_eq!(p.class, Class::Permanent);
    }

    #[test]
    fn display_is_hcmssc() {
        assert_eq!(Failure::perm("1.1", "no mailbox").to_string(), "no mailbox (#5.1.1)");
    }

    #[test]
    fn io_errors_map_through_the_table() {
        let full = io::Error::from_raw_os_error(libc::ENOSPC);
        let f = Failure::from_io(&full, "writing body");
        assert_eq!(f.status, "4.3.1");
        assert!(f.text.starts_with("writing body: "));
        let big = io::Error::from_raw_os_error(libc::EFBIG);
        assert_eq!(Failure::from_io(&big, "mbox").status, "5.2.2");
    }

    #[test]
    fn unknown_errors_are_temporary() {
        let odd = io::Error::other("something strange");
        assert_eq!(Failure::from_io(&odd, "x").status, "4.3.0");
        let unlisted = io::Error::from_raw_os_error(libc::EXDEV);
        assert_eq!(Failure::from_io(&unlisted, "x").class, Class::Temporary);
    }

    #[test]
    fn detail_syntax_is_checked() {
        assert!(is_detail("3.0"));
        assert!(is_detail("7.10"));
        assert!(!is_detail("3"));
        assert!(!is_detail("a.b"));
        assert!(!is_detail("1.2.3"));
    }
}
