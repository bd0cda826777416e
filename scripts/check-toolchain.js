// Stops the build with a plain message when the Rust toolchain is missing, before
// napi build would fail with something harder to read. A failed cargo build itself
// prints cargo's own errors.
import { spawnSync } from 'node:child_process';

const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
if (cargo.error || cargo.status !== 0) {
  console.error('qmta: cargo was not found. qmta needs the Rust toolchain (rustup.rs) to build its native core.');
  process.exit(1);
}
