//! N-API surface of crates/privilege: account look-ups, TCP sockets bound before the
//! daemon drops root, SO_PEERCRED, socket pairs and descriptor passing, and the private
//! copy of a message handed over as a descriptor. Descriptors cross as plain numbers:
//! the JS side owns each one it receives and closes it (fs.closeSync).
//! Failures throw through failure::to_napi (errno table: temporary unless EFBIG).

use std::path::Path;

use napi_derive::napi;
use status::Failure;

use crate::failure::{to_napi, Code};

fn io<T>(r: std::io::Result<T>, what: &str) -> Result<T, napi::Error<Code>> {
    r.map_err(|e| to_napi(Failure::from_io(&e, what)))
}

#[napi(object)]
pub struct NativeAccount {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

fn account(a: privilege::Account) -> NativeAccount {
    NativeAccount { name: a.name, uid: a.uid, gid: a.gid, home: a.home.to_string_lossy().into_owned() }
}

/// The passwd entry called `name` (NSS), or null.
#[napi]
pub fn account_by_name(name: String) -> Result<Option<NativeAccount>, napi::Error<Code>> {
    Ok(io(privilege::account_by_name(&name), "looking up account")?.map(account))
}

/// The passwd entry of `uid` (NSS), or null.
#[napi]
pub fn account_by_uid(uid: u32) -> Result<Option<NativeAccount>, napi::Error<Code>> {
    Ok(io(privilege::account_by_uid(uid), "looking up uid")?.map(account))
}

/// A TCP socket bound to host:port and not listening; returns its descriptor.
#[napi]
pub fn bind_tcp(host: String, port: u32) -> Result<i32, napi::Error<Code>> {
    let ip = host.parse().map_err(|_| to_napi(Failure::perm("3.5", format!("not an IP address: {host}"))))?;
    let port = u16::try_from(port).map_err(|_| to_napi(Failure::perm("3.5", format!("bad port {port}"))))?;
    io(privilege::bind_tcp(ip, port), &format!("binding {host}:{port}"))
}

#[napi(object)]
pub struct NativePeer {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// SO_PEERCRED of a connected UNIX socket descriptor.
#[napi]
pub fn peer_credentials(fd: i32) -> Result<NativePeer, napi::Error<Code>> {
    let p = io(privilege::peer_credentials(fd), "reading SO_PEERCRED")?;
    Ok(NativePeer { pid: p.pid, uid: p.uid, gid: p.gid })
}

/// A connected SOCK_STREAM pair [a, b].
#[napi]
pub fn stream_pair() -> Result<Vec<i32>, napi::Error<Code>> {
    io(privilege::stream_pair(), "socketpair").map(|(a, b)| vec![a, b])
}

/// A connected SOCK_SEQPACKET pair [a, b].
#[napi]
pub fn seqpacket_pair() -> Result<Vec<i32>, napi::Error<Code>> {
    io(privilege::seqpacket_pair(), "socketpair").map(|(a, b)| vec![a, b])
}

/// Sends one packet carrying descriptors (SCM_RIGHTS).
#[napi]
pub fn send_with_fds(fd: i32, bytes: &[u8], fds: Vec<i32>) -> Result<(), napi::Error<Code>> {
    io(privilege::send_with_fds(fd, bytes, &fds), "sending to the delivery helper")
}

/// Copies the file open on `fd` into a new unnamed 0600 file in `dir`; returns its descriptor.
#[napi]
pub fn private_copy(fd: i32, dir: String) -> Result<i32, napi::Error<Code>> {
    io(privilege::private_copy(fd, Path::new(&dir)), "copying the message")
}

/// Closes a descriptor this module handed out (Node warns when fs.closeSync closes one
/// it did not open itself).
#[napi]
pub fn close_fd(fd: i32) {
    // SAFETY: the caller owns `fd` (it came from this module) and never uses it again.
    unsafe { libc::close(fd) };
}
