//! The disk's raw limit for the benchmark: the syscalls of one queue add, without the
//! queue. Each of `threads` threads repeats, for its share of `count` messages:
//!   create+write+fsync a body file, create+write+fsync an envelope file,
//!   link the envelope into a third directory, fsync that directory.
//! No group commit, no buckets: every add pays its own directory fsync. The benchmark
//! prints queue adds next to this figure, at the same concurrency, in the same run. File
//! names are unique per call, so a folder can be reused (a steady-state measurement).
//!
//! Failures: any I/O error → temporary (errno table). The files are left in `dir` for the
//! caller to remove (removal is not part of what is measured).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use status::{Failure, Result};

/// Runs the loop in `dir` (created if missing) and returns the wall time it took.
pub fn raw_add_loop(dir: &Path, count: usize, threads: usize, body_size: usize) -> Result<Duration> {
    let io = |e: std::io::Error| Failure::from_io(&e, "raw loop");
    let dirs: Vec<PathBuf> = ["mess", "intd", "todo"].iter().map(|d| dir.join(d)).collect();
    dirs.iter().try_for_each(fs::create_dir_all).map_err(io)?;
    let threads = threads.max(1);
    let body = vec![b'x'; body_size];
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let start = Instant::now();
    let results: Vec<std::io::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (dirs, body) = (&dirs, &body);
                let share = (t..count).step_by(threads);
                s.spawn(move || share.into_iter().try_for_each(|i| one_add(dirs, &format!("{call}-{t}-{i}"), body)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(std::io::Error::other("raw loop thread panicked")))).collect()
    });
    results.into_iter().collect::<std::io::Result<()>>().map_err(io)?;
    Ok(start.elapsed())
}

fn one_add(dirs: &[PathBuf], name: &str, body: &[u8]) -> std::io::Result<()> {
    write_synced(&dirs[0].join(name), body)?;
    write_synced(&dirs[1].join(name), b"u0\0p0\0Fa@b\0Tc@d\0\0")?;
    fs::hard_link(dirs[1].join(name), dirs[2].join(name))?;
    File::open(&dirs[2])?.sync_all()
}

fn write_synced(p: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(p)?;
    f.write_all(bytes)?;
    f.sync_all()
}
