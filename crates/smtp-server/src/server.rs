//! The listeners, admission and lifetime of the core's SMTP service.
//!
//! Interface: `Server::new(policy, queue, rules)`, `apply(wanted)` (the listening set made
//! equal to a list of (kind, host, port): unwanted ones stop accepting, their sessions go
//! on; missing ones are bound, or listen(2) is called on a socket bound beforehand by a
//! daemon that was root then), `start()` (accepting begins; bound before it, so a daemon
//! can bind as root, drop its privileges, then start: no byte is read before), `set_rules`
//! (new connections follow them), `addresses()`, `counters()`, `close(grace, done)`.
//!
//! Threads: one tokio runtime of its own (two worker threads: the sessions' I/O and
//! protocol work), created at `new`; the disk work of a commit runs on crates/queue's
//! threads.
//! Admission, before any byte is read from a connection: an address in the deny list gets
//! 554 5.7.1; while closing, 421 4.3.2; past maxconnections or maxconnectionsperip, 421
//! 4.7.0 (counted per canonical client address: an IPv4-mapped peer is IPv4).
//! Shutdown: `close` stops accepting at once, tells idle sessions 421 4.3.2, lets sessions
//! in the middle of a message finish for up to `grace`, then drops the rest.
//! Failures: `apply` binds every address it can and returns the ones it could not, with
//! the reason; accept errors (EMFILE, ...) back off briefly and go on.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use queue::Queue;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::watch;

use crate::conn::Ends;
use crate::counters::{Admission, Counters, Snapshot};
use crate::policy::{Kind, Policy};
use crate::rcpt_cache::RcptCache;
use crate::rules::{canonical, Rules};

/// The service's phase, watched by every session and listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    Draining,
    Stopped,
}

/// A listener wanted: its kind and address, and maybe a socket already bound there.
#[derive(Clone, Debug)]
pub struct Wanted {
    pub kind: Kind,
    pub host: String,
    pub port: u16,
    pub fd: Option<RawFd>,
}

/// A listener as configured and as bound (port 0 resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    pub kind: Kind,
    pub host: String,
    pub port: u16,
}

struct Listening {
    bound: Bound,
    /// The port asked for (0 stays 0: the key of a port-0 listener).
    configured: u16,
    /// Until `start`: the bound socket, not yet accepting.
    waiting: Option<TcpListener>,
    stop: watch::Sender<bool>,
}

/// State shared by the listeners and sessions.
pub(crate) struct Core {
    pub(crate) handle: Handle,
    pub(crate) policy: Arc<dyn Policy>,
    pub(crate) queue: Queue,
    pub(crate) counters: Counters,
    pub(crate) phase: watch::Sender<Phase>,
    rules: RwLock<Arc<Rules>>,
    /// RCPT answers given again while their files stat the same (rcpt_cache.rs).
    pub(crate) rcpts: RcptCache,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    pub(crate) sessions: AtomicUsize,
    next_sid: AtomicU64,
}

impl Core {
    pub(crate) fn rules(&self) -> Arc<Rules> {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn sid(&self) -> u64 {
        self.next_sid.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Takes a connection slot for `ip`, or says which limit is reached.
    fn enter(&self, ip: IpAddr, rules: &Rules) -> bool {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let mine = per_ip.get(&ip).copied().unwrap_or(0);
        if self.sessions.load(Ordering::Relaxed) >= rules.max_connections || mine >= rules.max_per_ip {
            return false;
        }
        per_ip.insert(ip, mine + 1);
        self.sessions.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn leave(&self, ip: IpAddr) {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        match per_ip.get(&ip).copied().unwrap_or(1) {
            n if n <= 1 => per_ip.remove(&ip),
            n => per_ip.insert(ip, n - 1),
        };
        self.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection's slot; given back when the session ends, however it ends.
pub(crate) struct Slot {
    core: Arc<Core>,
    ip: IpAddr,
    kind: Kind,
    started: Instant,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.core.leave(self.ip);
        self.core.counters.session_closed(self.kind, self.started.elapsed());
    }
}

pub struct Server {
    rt: Option<Runtime>,
    core: Arc<Core>,
    listeners: Mutex<Vec<Listening>>,
    started: AtomicBool,
}

impl Server {
    pub fn new(policy: Arc<dyn Policy>, queue: Queue, rules: Rules) -> io::Result<Server> {
        // SCHED_BATCH, as the queue's threads: a session woken by an answer from the event
        // loop waits for that thread to block (or for the other core) instead of preempting
        // it, so the event loop answers a whole batch of decisions in one go.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("qmta-smtp")
            .on_thread_start(queue::batch_policy)
            .enable_all()
            .build()?;
        let core = Arc::new(Core {
            handle: rt.handle().clone(),
            policy,
            queue,
            counters: Counters::default(),
            phase: watch::channel(Phase::Running).0,
            rules: RwLock::new(Arc::new(rules)),
            rcpts: RcptCache::default(),
            per_ip: Mutex::default(),
            sessions: AtomicUsize::new(0),
            next_sid: AtomicU64::new(0),
        });
        Ok(Server { rt: Some(rt), core, listeners: Mutex::default(), started: AtomicBool::new(false) })
    }

    /// New connections follow `rules` from now on.
    pub fn set_rules(&self, rules: Rules) {
        *self.core.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
        // Entries of the old generation could never be used again.
        self.core.rcpts.clear();
    }

    /// Makes the listening set `wanted`; returns the addresses that could not be bound. A
    /// wanted address may come with a socket already bound to it (by a daemon still root):
    /// it is used (and owned) instead of binding anew.
    pub fn apply(&self, wanted: &[Wanted]) -> Vec<String> {
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        let is = |l: &Listening, w: &Wanted| l.bound.kind == w.kind && l.bound.host == w.host && l.configured == w.port;
        listeners.retain(|l| {
            let keep = wanted.iter().any(|w| is(l, w));
            if !keep {
                let _ = l.stop.send(true);
            }
            keep
        });
        let mut failed = Vec::new();
        for w in wanted {
            if listeners.iter().any(|l| is(l, w)) {
                if let Some(fd) = w.fd {
                    // Already listening there: the spare socket is ours to close.
                    drop(unsafe { OwnedFd::from_raw_fd(fd) });
                }
                continue;
            }
            let bound = match w.fd {
                Some(fd) => self.listen_on(fd),
                None => self.bind(&w.host, w.port),
            };
            match bound {
                Ok(listener) => listeners.push(self.listening(w.kind, &w.host, w.port, listener)),
                Err(e) => failed.push(format!("{} {}:{} ({})", w.kind.name(), w.host, w.port, explain(&e))),
            }
        }
        failed
    }

    /// listen(2) on a socket bound elsewhere (ts/net/prebound.ts); the descriptor is ours.
    fn listen_on(&self, fd: RawFd) -> io::Result<TcpListener> {
        // SAFETY: the caller hands over a bound TCP socket it no longer uses.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        if unsafe { libc::listen(owned.as_raw_fd(), 511) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let std_listener = std::net::TcpListener::from(owned);
        std_listener.set_nonblocking(true)?;
        let _guard = self.core.handle.enter();
        TcpListener::from_std(std_listener)
    }

    fn bind(&self, host: &str, port: u16) -> io::Result<TcpListener> {
        let addr: SocketAddr = (host.trim_start_matches('[').trim_end_matches(']'), port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no address"))?;
        let _guard = self.core.handle.enter();
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(511)
    }

    fn listening(&self, kind: Kind, host: &str, port: u16, listener: TcpListener) -> Listening {
        let bound = Bound { kind, host: host.to_string(), port: listener.local_addr().map_or(port, |a| a.port()) };
        let (stop, stopped) = watch::channel(false);
        let mut l = Listening { bound, configured: port, waiting: Some(listener), stop };
        if self.started.load(Ordering::Relaxed) {
            self.spawn(&mut l, stopped);
        }
        l
    }

    fn spawn(&self, l: &mut Listening, stopped: watch::Receiver<bool>) {
        if let Some(listener) = l.waiting.take() {
            let core = self.core.clone();
            self.core.handle.spawn(accept_loop(core, listener, l.bound.kind, stopped));
        }
    }

    /// Starts accepting on every bound listener (and on those bound later).
    pub fn start(&self) {
        self.started.store(true, Ordering::Relaxed);
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        for l in listeners.iter_mut() {
            let stopped = l.stop.subscribe();
            self.spawn(l, stopped);
        }
    }

    /// The listeners, in the order bound.
    pub fn addresses(&self) -> Vec<Bound> {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|l| l.bound.clone()).collect()
    }

    pub fn counters(&self) -> Snapshot {
        self.core.counters.snapshot()
    }

    /// Sessions running now.
    pub fn sessions(&self) -> usize {
        self.core.sessions.load(Ordering::Relaxed)
    }

    /// Stops accepting, drains (see the header), then calls `done` (on a core thread).
    pub fn close(&self, grace: Duration, done: impl FnOnce() + Send + 'static) {
        for l in self.listeners.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            let _ = l.stop.send(true);
        }
        let core = self.core.clone();
        let _ = core.phase.send(Phase::Draining);
        self.core.handle.spawn(async move {
            let deadline = Instant::now() + grace;
            while core.sessions.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = core.phase.send(Phase::Stopped);
            let end = Instant::now() + Duration::from_secs(2);
            while core.sessions.load(Ordering::Relaxed) > 0 && Instant::now() < end {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            done();
        });
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// An error as an administrator reads it: the errno's name first (EADDRINUSE: another
/// server has the port; EACCES: a port below 1024 needs privilege).
fn explain(e: &io::Error) -> String {
    let name = match e.raw_os_error() {
        Some(libc::EADDRINUSE) => "EADDRINUSE",
        Some(libc::EADDRNOTAVAIL) => "EADDRNOTAVAIL",
        Some(libc::EACCES) => "EACCES",
        Some(libc::EAFNOSUPPORT) => "EAFNOSUPPORT",
        Some(libc::EINVAL) => "EINVAL",
        _ => return e.to_string(),
    };
    format!("{name}: {e}")
}

async fn accept_loop(core: Arc<Core>, listener: TcpListener, kind: Kind, mut stopped: watch::Receiver<bool>) {
    let bound = listener.local_addr().ok().filter(|a| !a.ip().is_unspecified());
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stopped.changed() => return,
        };
        match accepted {
            Ok((stream, addr)) => {
                // The listener's own address where it names one: no getsockname a connection.
                let local = bound.or_else(|| stream.local_addr().ok()).unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
                admit(&core, stream, Ends { ip: canonical(addr.ip()), port: addr.port(), local }, kind)
            }
            // EMFILE, ENFILE, ENOBUFS: give the sessions a moment to close descriptors.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn admit(core: &Arc<Core>, stream: TcpStream, ends: Ends, kind: Kind) {
    let ip = ends.ip;
    let rules = core.rules();
    let refusal = if rules.denied(ip) {
        Some((Admission::Denied, "554 5.7.1 connection refused\r\n"))
    } else if *core.phase.borrow() != Phase::Running {
        Some((Admission::Closing, "421 4.3.2 service shutting down\r\n"))
    } else if !core.enter(ip, &rules) {
        Some((Admission::Limited, "421 4.7.0 too many connections, try again later\r\n"))
    } else {
        None
    };
    core.counters.connection(kind, refusal.map_or(Admission::Accepted, |(a, _)| a));
    if let Some((_, line)) = refusal {
        core.handle.spawn(refuse(stream, line));
        return;
    }
    core.counters.session_opened(kind);
    let slot = Slot { core: core.clone(), ip, kind, started: Instant::now() };
    core.handle.spawn(crate::conn::serve(core.clone(), stream, ends, kind, rules, slot));
}

async fn refuse(mut stream: TcpStream, line: &'static str) {
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let _ = stream.write_all(line.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
