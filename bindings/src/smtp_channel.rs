//! The decision channel between the core's SMTP sessions (crates/smtp-server) and
//! TypeScript: one long-lived thread-safe function, called at most once between two takes,
//! so one wake-up of the event loop carries every ask and event that arrived meanwhile
//! (batched across sessions, never one promise or function per command). JS then `take`s
//! the batch and answers each ask by its id.
//! An ask wakes the event loop at once (a session waits for its answer), and so does a
//! message queued (the scheduler starts its deliveries). Any other event (log lines, the
//! record of a delivery at accept time) waits up to EVENT_DELAY for company: on the accept
//! path a message is two events and no ask, and a wake-up for each cost the event loop a
//! turn and a context switch: 18 to 29 µs of server CPU a message (bench smtp-e2e --against).
//!
//! Failures: an answer for an unknown id (already answered, or the session is gone) is
//! ignored; an ask whose answer never comes is settled as a local error when the channel
//! closes (the responder is dropped: 451 4.3.0 in the session).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use smtp_server::{Ask, Event, Peer, Policy, Responder};

/// The JS callback told that the channel has items; strong, so a listening server keeps
/// the process alive until it is closed.
pub type Wake = ThreadsafeFunction<(), (), (), Status, false>;

/// Which answer shape an ask expects.
#[derive(Clone, Copy)]
pub enum Shape {
    Reply,
    Mail,
    Rcpt,
    Auth,
    Data,
}

pub enum Item {
    Ask { id: u64, peer: Peer, ask: Ask },
    Event(Event),
}

/// How long an event may wait for the next wake-up.
const EVENT_DELAY: Duration = Duration::from_millis(5);

pub struct Channel {
    pending: Arc<Mutex<Pending>>,
    waiting: Mutex<HashMap<u64, (Shape, Responder)>>,
    next: AtomicU64,
}

/// The items not yet taken, and how the event loop hears of them.
struct Pending {
    items: Vec<Item>,
    /// The event loop has been called since the last take.
    woken: bool,
    /// A delayed wake-up is on its way (it calls only when items are left untaken).
    timer: bool,
    /// None once the channel is closed: nothing calls the event loop any more.
    wake: Option<Arc<Wake>>,
}

/// Calls the event loop unless it was called since the last take (or the channel closed).
fn wake_once(pending: &Mutex<Pending>) {
    let wake = {
        let mut p = lock(pending);
        if std::mem::replace(&mut p.woken, true) { None } else { p.wake.clone() }
    };
    if let Some(w) = wake {
        w.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Channel {
    pub fn new(wake: Wake) -> Channel {
        let pending = Pending { items: Vec::new(), woken: false, timer: false, wake: Some(Arc::new(wake)) };
        Channel { pending: Arc::new(Mutex::new(pending)), waiting: Mutex::default(), next: AtomicU64::new(1) }
    }

    fn push(&self, item: Item) {
        // An event off the sessions' runtime has no timer to wait on: it wakes at once.
        let delay = if urgent(&item) { None } else { tokio::runtime::Handle::try_current().ok() };
        let start_timer = {
            let mut p = lock(&self.pending);
            p.items.push(item);
            delay.is_some() && !p.woken && !std::mem::replace(&mut p.timer, true)
        };
        match delay {
            None => wake_once(&self.pending),
            Some(rt) if start_timer => self.wake_later(&rt),
            Some(_) => {}
        }
    }

    /// Wakes the event loop after EVENT_DELAY, unless a take emptied the channel meanwhile.
    fn wake_later(&self, rt: &tokio::runtime::Handle) {
        let pending = self.pending.clone();
        rt.spawn(async move {
            tokio::time::sleep(EVENT_DELAY).await;
            let left = {
                let mut p = lock(&pending);
                p.timer = false;
                !p.items.is_empty()
            };
            if left {
                wake_once(&pending);
            }
        });
    }

    /// Everything queued since the last take.
    pub fn take(&self) -> Vec<Item> {
        let mut p = lock(&self.pending);
        p.woken = false;
        std::mem::take(&mut p.items)
    }

    /// The responder of ask `id`, if it is still waiting.
    pub fn responder(&self, id: u64) -> Option<(Shape, Responder)> {
        lock(&self.waiting).remove(&id)
    }

    /// No more wake-ups: the process may exit. Asks still waiting get a local error.
    pub fn close(&self) {
        let last = lock(&self.pending).wake.take();
        if let Some(w) = last {
            w.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
        lock(&self.waiting).clear();
    }
}

/// Whether the event loop has to see `item` now: an ask, or a message in the queue.
fn urgent(item: &Item) -> bool {
    match item {
        Item::Ask { .. } => true,
        Item::Event(Event::Accepted { report, .. }) => report.queued.is_some(),
        Item::Event(_) => false,
    }
}

fn shape(ask: &Ask) -> Shape {
    match ask {
        Ask::Connect | Ask::Helo { .. } | Ask::Etrn { .. } => Shape::Reply,
        Ask::Mail { .. } => Shape::Mail,
        Ask::Rcpt { .. } => Shape::Rcpt,
        Ask::Auth { .. } => Shape::Auth,
        Ask::Data { .. } => Shape::Data,
    }
}

impl Policy for Channel {
    fn ask(&self, peer: &Peer, ask: Ask, answer: Responder) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.waiting).insert(id, (shape(&ask), answer));
        self.push(Item::Ask { id, peer: peer.clone(), ask });
    }

    fn tell(&self, event: Event) {
        self.push(Item::Event(event));
    }
}
