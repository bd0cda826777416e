//! A TCP socket bound but not listening: `qmta start` as root binds every listener
//! (ports below 1024 need it), drops to its account, and only then calls listen(2)
//! through Node (`server.listen({ fd })`). Until then the kernel refuses connections, so
//! no network byte reaches the process while it is root.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{IntoRawFd, RawFd};

use nix::sys::socket::{bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};

/// Binds a close-on-exec, non-blocking TCP socket to `host:port` (port 0: the kernel
/// picks) with SO_REUSEADDR, as libuv's own bind does; returns the raw descriptor.
pub fn bind_tcp(host: IpAddr, port: u16) -> io::Result<RawFd> {
    let family = if host.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
    let fd = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK, None).map_err(io::Error::from)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(io::Error::from)?;
    let addr = SockaddrStorage::from(SocketAddr::new(host, port));
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &addr).map_err(io::Error::from)?;
    Ok(fd.into_raw_fd())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;
    use std::os::fd::{FromRawFd, OwnedFd};

    #[test]
    fn bound_socket_refuses_connections_until_it_listens() {
        let fd = bind_tcp("127.0.0.1".parse().unwrap(), 0).unwrap();
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let local: SocketAddr = nix::sys::socket::getsockname::<SockaddrStorage>(fd).unwrap().as_sockaddr_in().unwrap().to_owned().into();
        assert_ne!(local.port(), 0);
        assert!(TcpStream::connect(local).is_err());
        nix::sys::socket::listen(&owned, nix::sys::socket::Backlog::new(1).unwrap()).unwrap();
        assert!(TcpStream::connect(local).is_ok());
    }
}
