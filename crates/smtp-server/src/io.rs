//! A session's byte stream: plain TCP, or TLS over it (implicit, or after STARTTLS).
//!
//! Interface: `read`, `write_all` (one call per batch of replies), `shutdown`; `upgrade`
//! runs the server side of a TLS handshake on the plain stream (bounded by the caller's
//! timeout). Failures are `io::Error`s; the session ends on any of them.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::policy::TlsInfo;

pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Taken for a TLS handshake that failed: nothing left to read or write.
    Closed,
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "stream closed")
}

impl Stream {
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
            Stream::Closed => Ok(0),
        }
    }

    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(bytes).await,
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Stream::Closed => Err(closed()),
        }
    }

    /// Sends what is left and closes our side (TLS: close_notify first).
    pub async fn shutdown(&mut self) {
        let _ = match self {
            Stream::Plain(s) => s.shutdown().await,
            Stream::Tls(s) => s.shutdown().await,
            Stream::Closed => Ok(()),
        };
    }

}

/// The handshake on a plain stream; the stream is gone when it fails.
pub async fn upgrade(plain: TcpStream, acceptor: &TlsAcceptor) -> io::Result<(Stream, TlsInfo)> {
    let tls = acceptor.accept(plain).await?;
    let info = crate::tls::info(tls.get_ref().1);
    Ok((Stream::Tls(Box::new(tls)), info))
}
