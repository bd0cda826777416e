//! Starting a child as a mailbox owner (qmail-lspawn's fork, setgid, setuid, exec).
//! Node's spawn can set a uid and gid but clears the supplementary groups; qmta gives
//! the child the owner's groups (initgroups), so it reads and writes what the owner
//! could at a login. The child leads a session of its own (so nothing it starts can join
//! a process group outside it) and is a child subreaper (what its programs leave running
//! is reparented to it, not to init), so the caller can find and kill it with everything
//! it started (watch.rs); the caller reaps it.

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

/// Who the child runs as. `uid` 0 is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (groups_of).
    pub groups: Vec<u32>,
}

/// What to run: the program, its arguments, its whole environment, and the two
/// descriptors that become its stdin and stdout (stderr is inherited).
pub struct Launch {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
}

/// Starts `launch` as `who`, in a new session; the caller must wait for it.
pub fn spawn_as(who: &Identity, launch: Launch) -> io::Result<Child> {
    if who.uid == 0 {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "Not allowed to perform deliveries as root."));
    }
    let (uid, gid, groups) = (who.uid, who.gid, who.groups.clone());
    let mut cmd = Command::new(&launch.program);
    cmd.args(&launch.args).env_clear().envs(launch.env).current_dir("/")
        .stdin(Stdio::from(launch.stdin)).stdout(Stdio::from(launch.stdout)).stderr(Stdio::inherit());
    // SAFETY: between fork and exec only async-signal-safe system calls run here.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // No way back: a process that could become root again must not run the delivery.
            if libc::getuid() == 0 || libc::geteuid() == 0 || libc::setuid(0) == 0 {
                return Err(io::Error::new(io::ErrorKind::PermissionDenied, "uid 0 after the switch"));
            }
            Ok(())
        });
    }
    cmd.spawn()
}
