//! What a request may run as: qmail-lspawn's rules, with the checks a helper that trusts
//! nothing from the (unprivileged) daemon needs. A request is allowed when its uid is
//! not 0 and has an account, its gid is one of that account's groups and not 0, and its
//! home is the account's home or inside it, an existing folder (not a symlink) that the
//! account owns. So a compromised daemon can make an owner deliver mail by the owner's
//! own .qmail files, which it could do by sending mail, and nothing else.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use privilege::Account;
use status::Failure;

use crate::frame::Request;

/// Who the child runs as, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// The system's accounts and files, as the checks see them (tests substitute their own).
pub trait Accounts {
    fn by_uid(&self, uid: u32) -> Option<Account>;
    fn groups(&self, name: &str, gid: u32) -> Vec<u32>;
    /// Owner of `path` when it is a folder (not a symlink).
    fn folder_owner(&self, path: &Path) -> Option<u32>;
}

/// NSS and lstat.
pub struct SystemAccounts;

impl Accounts for SystemAccounts {
    fn by_uid(&self, uid: u32) -> Option<Account> {
        privilege::account_by_uid(uid).ok().flatten()
    }
    fn groups(&self, name: &str, gid: u32) -> Vec<u32> {
        privilege::groups_of(name, gid).unwrap_or_default()
    }
    fn folder_owner(&self, path: &Path) -> Option<u32> {
        std::fs::symlink_metadata(path).ok().filter(|m| m.is_dir()).map(|m| m.uid())
    }
}

fn refuse(text: impl Into<String>) -> Failure {
    Failure::temp("3.0", text)
}

/// The identity a request may run as, or why not.
pub fn authorize(req: &Request, accounts: &dyn Accounts) -> Result<Target, Failure> {
    if req.uid == 0 {
        return Err(refuse("Not allowed to perform deliveries as root."));
    }
    let account = accounts.by_uid(req.uid).ok_or_else(|| refuse(format!("uid {} has no account on this system.", req.uid)))?;
    let groups = accounts.groups(&account.name, account.gid);
    if req.gid == 0 || !groups.contains(&req.gid) {
        return Err(refuse(format!("gid {} is not a group of {} (or is root's).", req.gid, account.name)));
    }
    let own = account.home.to_string_lossy();
    let inside = own != "/" && (req.home == own || req.home.starts_with(&format!("{}/", own.trim_end_matches('/'))));
    if !inside {
        return Err(refuse(format!("{} is outside the home of {} ({own}).", req.home, account.name)));
    }
    if accounts.folder_owner(Path::new(&req.home)) != Some(req.uid) {
        return Err(refuse(format!("{} is not a folder owned by {}.", req.home, account.name)));
    }
    Ok(Target { uid: req.uid, gid: req.gid, groups: groups.into_iter().filter(|&g| g != 0).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Kind;
    use std::path::PathBuf;

    struct Fake;

    impl Accounts for Fake {
        fn by_uid(&self, uid: u32) -> Option<Account> {
            match uid {
                0 => Some(Account { name: "root".into(), uid: 0, gid: 0, home: "/root".into() }),
                1001 => Some(Account { name: "alice".into(), uid: 1001, gid: 1001, home: PathBuf::from("/home/alice") }),
                1 => Some(Account { name: "daemon".into(), uid: 1, gid: 1, home: "/".into() }),
                _ => None,
            }
        }
        fn groups(&self, _: &str, gid: u32) -> Vec<u32> {
            vec![gid, 100]
        }
        fn folder_owner(&self, path: &Path) -> Option<u32> {
            (path.starts_with("/home/alice") && !path.ends_with("link")).then_some(1001)
        }
    }

    fn req(uid: u32, gid: u32, home: &str) -> Request {
        Request {
            kind: Kind::Local, uid, gid, user: "x".into(), home: home.into(), local: "x".into(), dash: String::new(),
            ext: String::new(), domain: "d".into(), sender: String::new(), timeout_ms: 1000,
        }
    }

    #[test]
    fn an_owner_in_its_own_home_is_allowed_with_its_groups() {
        let t = authorize(&req(1001, 100, "/home/alice/lists"), &Fake).unwrap();
        assert_eq!(t, Target { uid: 1001, gid: 100, groups: vec![1001, 100] });
    }

    #[test]
    fn root_is_refused_with_qmail_s_words() {
        let f = authorize(&req(0, 0, "/root"), &Fake).unwrap_err();
        assert_eq!((f.status.as_str(), f.text.as_str()), ("4.3.0", "Not allowed to perform deliveries as root."));
    }

    #[test]
    fn everything_else_is_refused_temporarily() {
        for r in [
            req(4242, 4242, "/home/x"),
            req(1001, 0, "/home/alice"),
            req(1001, 5, "/home/alice"),
            req(1001, 1001, "/home/alicebob"),
            req(1001, 1001, "/var/lib/qmta/mail/joe"),
            req(1001, 1001, "/home/alice/link"),
            req(1, 1, "/tmp"),
        ] {
            let f = authorize(&r, &Fake).unwrap_err();
            assert_eq!(f.status, "4.3.0", "{r:?}");
        }
    }
}
