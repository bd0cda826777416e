//! Tests of the writers through their public functions, with the fault-injection
//! point (fault.rs) standing in for a crash or a failing system call at each step.

mod crash;
mod folders;
mod maildir;
mod mbox;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh directory removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("qmta-mailbox-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// Writes a file under the scratch folder and returns its path.
    pub fn file(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(rel);
        fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The names in a folder, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

/// A body with everything a writer must not touch: 8-bit bytes, From_ lines, dots, CR.
pub const TRICKY_BODY: &[u8] = b"Subject: t\n\nFrom the start\n>From quoted\n.\n..dots\n\xe9t\xe9 \x80\xff\r\nno final newline";

/// Bytes that repeat a pattern, for bodies larger than one copy chunk.
pub fn big_body(len: usize) -> Vec<u8> {
    b"From line\nplain line of text\n>From again\n".iter().copied().cycle().take(len).collect()
}
