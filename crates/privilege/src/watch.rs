//! Bounding a child's run time (the delivery helper's overall limit per delivery):
//! waiting for a child at most so long, and killing a child with everything it started.
//!
//! `wait_at_most` waits on a pidfd (poll with a timeout: the exit is seen at once, no
//! polling loop); where pidfd_open is missing (kernels before 5.3) it falls back to
//! try_wait every 50 ms. `kill_tree` first gives its own thread (only it: raw system
//! calls, not glibc's process-wide ones) the child's uid and gid, so every signal it sends
//! is one the owner could send: root's power is never aimed at a pid read from /proc,
//! and no CAP_KILL is needed (the systemd unit has none). Then it stops the child's
//! process group (so it starts nothing more), finds every descendant in /proc (a
//! qmail-local program runs in a session of its own, so the child's group alone would
//! miss it), kills each descendant and each process group made of descendants only, and
//! repeats the scan until none is left alive (at most SCANS times); then it kills the
//! child's group and reaps the child. The calling thread stays the owner: end it after.
//! Limits: a descendant that double-forks into a new session between two scans may
//! escape; under ProtectProc=invisible a descendant that made itself non-dumpable is not
//! seen in /proc.

use std::collections::{HashMap, HashSet};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// The child's exit status, or None when it was still running after `limit`.
pub fn wait_at_most(child: &mut Child, limit: Duration) -> io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + limit;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
    if raw < 0 {
        return poll_try_wait(child, deadline);
    }
    // SAFETY: `raw` is a descriptor we own from here on.
    let pidfd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut p = libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if n > 0 {
            return child.wait().map(Some);
        }
        if n == 0 {
            return child.try_wait();
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn poll_try_wait(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(Some(s));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How many times kill_tree looks for descendants still alive.
const SCANS: usize = 20;

type Table = HashMap<libc::pid_t, Proc>;

/// What /proc/PID/stat says of one process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Proc {
    ppid: libc::pid_t,
    pgrp: libc::pid_t,
    zombie: bool,
}

/// Kills `child` (a session leader started as `uid`:`gid`) and all its descendants, as
/// that user from this thread on, then reaps it. Should the thread fail to become the
/// user, only the child's own group is killed (its pgid is the unreaped child's pid, so
/// no stranger's), it is reaped, and the error returned.
pub fn kill_tree(child: &mut Child, uid: u32, gid: u32) -> io::Result<ExitStatus> {
    let pid = child.id() as libc::pid_t;
    if let Err(e) = become_on_this_thread(uid, gid) {
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        child.wait()?;
        return Err(e);
    }
    // SAFETY: signals as the owner; errors (already gone) are harmless.
    unsafe { libc::kill(-pid, libc::SIGSTOP) };
    for _ in 0..SCANS {
        let table = process_table();
        let alive: Vec<libc::pid_t> = descendants(pid, &table).into_iter().filter(|d| !table[d].zombie).collect();
        if alive.is_empty() {
            break;
        }
        for g in own_groups(pid, &alive, &table) {
            unsafe { libc::kill(-g, libc::SIGKILL) };
        }
        for &d in &alive {
            unsafe { libc::kill(d, libc::SIGKILL) };
        }
        std::thread::yield_now();
    }
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    child.wait()
}

/// Sets this thread's groups, gid and uid (real, effective, saved) with raw system calls,
/// which the kernel applies to the calling thread only.
fn become_on_this_thread(uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: plain system calls with integer arguments and an empty group list.
    let failed = unsafe {
        libc::syscall(libc::SYS_setgroups, 0usize, std::ptr::null::<libc::gid_t>()) != 0
            || libc::syscall(libc::SYS_setresgid, gid, gid, gid) != 0
            || libc::syscall(libc::SYS_setresuid, uid, uid, uid) != 0
    };
    if failed { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// The process groups of `alive` whose every member is `root` or one of its descendants.
fn own_groups(root: libc::pid_t, alive: &[libc::pid_t], table: &Table) -> HashSet<libc::pid_t> {
    let ours: HashSet<libc::pid_t> = descendants(root, table).into_iter().chain([root]).collect();
    alive.iter().filter_map(|d| table.get(d).map(|p| p.pgrp))
        .filter(|&g| g > 1 && table.iter().all(|(pid, p)| p.pgrp != g || ours.contains(pid)))
        .collect()
}

/// Every process /proc shows now.
fn process_table() -> Table {
    let Ok(dir) = std::fs::read_dir("/proc") else { return HashMap::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter_map(|pid| Some((pid, parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?)))
        .collect()
}

/// State, ppid and pgrp from /proc/PID/stat: fields 3 to 5, after the command name in
/// parentheses (which may itself hold spaces and parentheses: the last ')' ends it).
fn parse_stat(stat: &str) -> Option<Proc> {
    let mut f = stat[stat.rfind(')')? + 1..].split_whitespace();
    let zombie = matches!(f.next()?, "Z" | "X");
    Some(Proc { ppid: f.next()?.parse().ok()?, pgrp: f.next()?.parse().ok()?, zombie })
}

/// Every process whose chain of parents leads to `root` (not `root` itself).
fn descendants(root: libc::pid_t, table: &Table) -> Vec<libc::pid_t> {
    let mut children: HashMap<libc::pid_t, Vec<libc::pid_t>> = HashMap::new();
    for (&pid, p) in table {
        children.entry(p.ppid).or_default().push(pid);
    }
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &c in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
            found.push(c);
            frontier.push(c);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spawn::{spawn_as, Identity, Launch};
    use std::fs::File;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    const NOBODY: u32 = 65534;

    fn gone(pid: libc::pid_t) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| parse_stat(&s).is_none_or(|p| p.zombie))
    }

    /// `sh -c script` as the helper starts a child: as nobody in a session of its own when
    /// the tests run as root, else as ourselves with setsid.
    fn start(script: &str) -> (Child, u32, u32) {
        if unsafe { libc::getuid() } != 0 {
            // SAFETY: setsid is async-signal-safe.
            let child = unsafe { Command::new("sh").args(["-c", script]).pre_exec(|| { libc::setsid(); Ok(()) }).spawn().unwrap() };
            return (child, unsafe { libc::getuid() }, unsafe { libc::getgid() });
        }
        let null = || File::options().read(true).write(true).open("/dev/null").unwrap().into();
        let launch = Launch {
            program: "sh".into(), args: vec!["-c".into(), script.into()],
            env: vec![("PATH".into(), "/usr/bin:/bin".into())], stdin: null(), stdout: null(),
        };
        (spawn_as(&Identity { uid: NOBODY, gid: NOBODY, groups: vec![] }, launch).unwrap(), NOBODY, NOBODY)
    }

    fn wait_until(mut done: impl FnMut() -> bool) -> bool {
        (0..500).any(|_| done() || { std::thread::sleep(Duration::from_millis(20)); false })
    }

    #[test]
    fn a_quick_child_is_waited_for_and_a_slow_one_is_not() {
        let mut quick = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
        assert_eq!(wait_at_most(&mut quick, Duration::from_secs(10)).unwrap().and_then(|s| s.code()), Some(3));
        let (mut slow, uid, gid) = start("sleep 30");
        let started = Instant::now();
        assert!(wait_at_most(&mut slow, Duration::from_millis(200)).unwrap().is_none());
        assert!(started.elapsed() < Duration::from_secs(5));
        kill_tree(&mut slow, uid, gid).unwrap();
    }

    #[test]
    fn the_tree_dies_with_its_detached_descendants() {
        // A child that started one program in its own session (as qmail-local's programs
        // run: killing the child's group alone would miss it) and one in its group.
        let (mut child, uid, gid) = start("setsid sleep 301 & sleep 302 & wait");
        let pid = child.id() as libc::pid_t;
        let mut tree = Vec::new();
        assert!(wait_until(|| {
            let table = process_table();
            tree = descendants(pid, &table);
            tree.len() == 2 && tree.iter().filter(|p| table[p].pgrp != pid).count() == 1
        }), "{tree:?}");
        assert!(!kill_tree(&mut child, uid, gid).unwrap().success());
        assert!(wait_until(|| tree.iter().all(|&p| gone(p))), "{tree:?}");
    }

    #[test]
    fn a_group_with_a_stranger_in_it_is_not_killed() {
        let p = |ppid, pgrp| Proc { ppid, pgrp, zombie: false };
        // 10 is the child; 11 and 12 its descendants; 11 shares group 20 with stranger 20.
        let table: Table = [(10, p(1, 10)), (11, p(10, 20)), (12, p(11, 12)), (20, p(1, 20))].into_iter().collect();
        let mut alive = descendants(10, &table);
        alive.sort();
        assert_eq!(alive, vec![11, 12]);
        assert_eq!(own_groups(10, &alive, &table), HashSet::from([12]));
    }

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        assert_eq!(parse_stat("42 (a) b (c) S 7 42 42 0"), Some(Proc { ppid: 7, pgrp: 42, zombie: false }));
        assert_eq!(parse_stat("43 (x) Z 7 42 42 0").map(|p| p.zombie), Some(true));
        assert_eq!(parse_stat("garbage"), None);
    }
}
