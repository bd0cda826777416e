//! Read buffers reused from one connection to the next. A fresh 64 KiB buffer per
//! connection cost a memset of all of it, and freeing it made the allocator consolidate its
//! fast bins (a free of 64 KiB or more does): together about 3% of the SMTP threads' CPU
//! with a new connection per message (perf, 50 connections).
//!
//! Interface: `ReadBuffer::take()`, used as a byte slice; dropped, it goes back to the
//! dropping thread's spares. Bounded: at most SPARES buffers a thread stay allocated.
//! A reused buffer still holds an earlier connection's bytes; the session only ever looks
//! at the bytes its own read just filled.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

const SIZE: usize = 64 * 1024;
/// Spares kept per thread (2 MiB): a burst's buffers beyond them are freed.
const SPARES: usize = 32;

thread_local! {
    static SPARE: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
}

pub struct ReadBuffer(Box<[u8]>);

impl ReadBuffer {
    /// A spare of this thread, or a new buffer.
    pub fn take() -> ReadBuffer {
        let spare = SPARE.with(|s| s.borrow_mut().pop());
        ReadBuffer(spare.unwrap_or_else(|| vec![0u8; SIZE].into_boxed_slice()))
    }
}

impl Deref for ReadBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl DerefMut for ReadBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl Drop for ReadBuffer {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.0);
        // try_with: a thread being torn down has no spares any more; the buffer is freed.
        let _ = SPARE.try_with(|s| {
            let mut spares = s.borrow_mut();
            if spares.len() < SPARES {
                spares.push(buf);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_buffer_is_the_next_one_taken() {
        let first = ReadBuffer::take();
        let at = first.as_ptr();
        assert_eq!(first.len(), SIZE);
        drop(first);
        assert_eq!(ReadBuffer::take().as_ptr(), at);
    }

    #[test]
    fn spares_are_bounded() {
        let held: Vec<ReadBuffer> = (0..SPARES + 5).map(|_| ReadBuffer::take()).collect();
        drop(held);
        assert_eq!(SPARE.with(|s| s.borrow().len()), SPARES);
    }
}
