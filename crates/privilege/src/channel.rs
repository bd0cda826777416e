//! UNIX-socket plumbing between qmta's processes: who is calling (SO_PEERCRED, the
//! kernel's word, not the client's), socket pairs, and descriptors passed with a packet
//! (SCM_RIGHTS), so that the daemon hands the delivery helper an open message file and
//! never a path for root to open.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    getsockopt, recvmsg, sendmsg, socketpair, sockopt, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag,
    SockType, UnixAddr,
};

/// The process at the other end of a UNIX socket, when it connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// SO_PEERCRED of a connected UNIX socket.
pub fn peer_credentials(fd: RawFd) -> io::Result<Peer> {
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let c = getsockopt(&borrowed, sockopt::PeerCredentials).map_err(io::Error::from)?;
    Ok(Peer { pid: c.pid(), uid: c.uid(), gid: c.gid() })
}

fn pair(kind: SockType) -> io::Result<(RawFd, RawFd)> {
    let (a, b) = socketpair(AddressFamily::Unix, kind, None, SockFlag::SOCK_CLOEXEC).map_err(io::Error::from)?;
    Ok((a.into_raw_fd(), b.into_raw_fd()))
}

/// A connected SOCK_SEQPACKET pair: packet boundaries are kept (one request a packet).
pub fn seqpacket_pair() -> io::Result<(RawFd, RawFd)> {
    pair(SockType::SeqPacket)
}

/// A connected SOCK_STREAM pair (Node can read it as a net.Socket).
pub fn stream_pair() -> io::Result<(RawFd, RawFd)> {
    pair(SockType::Stream)
}

/// Sends `bytes` as one packet carrying `fds`.
pub fn send_with_fds(fd: RawFd, bytes: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let iov = [IoSlice::new(bytes)];
    let cmsg = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
    let sent = sendmsg::<UnixAddr>(fd, &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None).map_err(io::Error::from)?;
    if sent != bytes.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "packet sent in part"));
    }
    Ok(())
}

/// Receives one packet of at most `max` bytes and the descriptors it carries (made
/// close-on-exec). An empty packet with no descriptors means the peer closed. A packet
/// longer than `max` or whose descriptors did not all fit is an error (its descriptors
/// are closed).
pub fn recv_with_fds(fd: RawFd, max: usize, max_fds: usize) -> io::Result<(Vec<u8>, Vec<OwnedFd>)> {
    let mut buf = vec![0u8; max + 1];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let (len, fds, cut) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<UnixAddr>(fd, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC).map_err(io::Error::from)?;
        let mut fds = Vec::new();
        for c in msg.cmsgs().map_err(io::Error::from)? {
            if let ControlMessageOwned::ScmRights(list) = c {
                fds.extend(list.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
            }
        }
        (msg.bytes, fds, msg.flags.intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC))
    };
    if cut || len > max || fds.len() > max_fds {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "packet or its descriptors over the limit"));
    }
    buf.truncate(len);
    Ok((buf, fds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::io::Write;

    #[test]
    fn packets_carry_descriptors_and_keep_their_bounds() {
        let (a, b) = seqpacket_pair().unwrap();
        let mut f = tempfile();
        f.write_all(b"message").unwrap();
        send_with_fds(a, b"one", &[f.as_raw_fd()]).unwrap();
        send_with_fds(a, b"two", &[]).unwrap();
        let (bytes, fds) = recv_with_fds(b, 16, 2).unwrap();
        assert_eq!((bytes.as_slice(), fds.len()), (&b"one"[..], 1));
        let (bytes, fds) = recv_with_fds(b, 16, 2).unwrap();
        assert_eq!((bytes.as_slice(), fds.len()), (&b"two"[..], 0));
        unsafe { libc::close(a) };
        let (bytes, fds) = recv_with_fds(b, 16, 2).unwrap();
        assert!(bytes.is_empty() && fds.is_empty());
        unsafe { libc::close(b) };
    }

    #[test]
    fn oversized_packets_are_refused() {
        let (a, b) = seqpacket_pair().unwrap();
        send_with_fds(a, &[7u8; 100], &[]).unwrap();
        assert!(recv_with_fds(b, 10, 2).is_err());
        unsafe { libc::close(a); libc::close(b) };
    }

    #[test]
    fn peer_credentials_name_this_process() {
        let (a, b) = stream_pair().unwrap();
        let p = peer_credentials(a).unwrap();
        assert_eq!((p.pid, p.uid), (std::process::id() as i32, unsafe { libc::getuid() }));
        unsafe { libc::close(a); libc::close(b) };
    }

    fn tempfile() -> File {
        let path = std::env::temp_dir().join(format!("privilege-test-{}", std::process::id()));
        let f = File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }
}
