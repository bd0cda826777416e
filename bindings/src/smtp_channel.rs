//! The decision channel between the core's SMTP sessions (crates/smtp-server) and
//! TypeScript: one long-lived thread-safe function, called only when the channel goes from
//! empty to non-empty, so one wake-up of the event loop carries every ask and event that
//! arrived meanwhile (batched across sessions, never one promise or function per command).
//! JS then `take`s the batch and answers each ask by its id.
//!
//! Failures: an answer for an unknown id (already answered, or the session is gone) is
//! ignored; an ask whose answer never comes is settled as a local error when the channel
//! closes (the responder is dropped: 451 4.3.0 in the session).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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

pub struct Channel {
    items: Mutex<Vec<Item>>,
    waiting: Mutex<HashMap<u64, (Shape, Responder)>>,
    next: AtomicU64,
    wake: Mutex<Option<Arc<Wake>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Channel {
    pub fn new(wake: Wake) -> Channel {
        Channel { items: Mutex::default(), waiting: Mutex::default(), next: AtomicU64::new(1), wake: Mutex::new(Some(Arc::new(wake))) }
    }

    fn push(&self, item: Item) {
        let first = {
            let mut items = lock(&self.items);
            items.push(item);
            items.len() == 1
        };
        if first {
            if let Some(w) = lock(&self.wake).clone() {
                w.call((), ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
    }

    /// Everything queued since the last take.
    pub fn take(&self) -> Vec<Item> {
        std::mem::take(&mut *lock(&self.items))
    }

    /// The responder of ask `id`, if it is still waiting.
    pub fn responder(&self, id: u64) -> Option<(Shape, Responder)> {
        lock(&self.waiting).remove(&id)
    }

    /// No more wake-ups: the process may exit. Asks still waiting get a local error.
    pub fn close(&self) {
        if let Some(w) = lock(&self.wake).take() {
            w.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
        lock(&self.waiting).clear();
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
