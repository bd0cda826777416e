//! Account look-ups through the C library (NSS: /etc/passwd, LDAP, systemd-userdb...),
//! never by parsing /etc/passwd ourselves.

use std::ffi::CString;
use std::io;
use std::path::PathBuf;

use nix::unistd::{getgrouplist, Gid, Uid, User};

/// A passwd entry: what the daemon drops to and what the helper checks a request against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

fn of(u: User) -> Account {
    Account { name: u.name, uid: u.uid.as_raw(), gid: u.gid.as_raw(), home: u.dir }
}

/// The account called `name`, if there is one.
pub fn account_by_name(name: &str) -> io::Result<Option<Account>> {
    Ok(User::from_name(name).map_err(io::Error::from)?.map(of))
}

/// The account with uid `uid`, if there is one.
pub fn account_by_uid(uid: u32) -> io::Result<Option<Account>> {
    Ok(User::from_uid(Uid::from_raw(uid)).map_err(io::Error::from)?.map(of))
}

/// Every group of `name` (its primary `gid` first), as initgroups(3) would set them.
pub fn groups_of(name: &str, gid: u32) -> io::Result<Vec<u32>> {
    let c = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut groups: Vec<u32> = getgrouplist(&c, Gid::from_raw(gid)).map_err(io::Error::from)?.into_iter().map(Gid::as_raw).collect();
    groups.sort_unstable();
    groups.dedup();
    groups.retain(|&g| g != gid);
    groups.insert(0, gid);
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_uid_0_with_its_group() {
        let root = account_by_name("root").unwrap().unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(account_by_uid(0).unwrap().unwrap().name, "root");
        assert_eq!(groups_of("root", 0).unwrap()[0], 0);
    }

    #[test]
    fn unknown_names_are_none() {
        assert_eq!(account_by_name("no-such-qmta-account").unwrap(), None);
        assert_eq!(account_by_name("nul\0name").unwrap(), None);
    }
}
