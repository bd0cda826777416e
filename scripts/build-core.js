#!/usr/bin/env node
// `npx qmta-build-core`: builds qmta's native core from the Rust sources shipped in the
// package, for a platform with no prebuilt core (or to replace the prebuilt one). npm
// runs no build at install time: npm 11 blocks dependencies' install scripts by default,
// and a compile hidden in `npm install` fails where nobody reads it. So this is a command
// the user runs, once, after installing qmta.
//
// Interface: no arguments. Runs `cargo build --release --locked -p qmta-bindings` over the
// package's Cargo workspace (target dir: $CARGO_TARGET_DIR, else <package>/target;
// $CARGO_BUILD_TARGET is honoured, so a checkout's `napi build` output can be reused), puts
// the library at bindings/qmta-core.<platform>.node, where the loader looks before the
// prebuilt package, and loads it once to prove it works.
// Failures (exit 1, one line on stderr): no cargo on the PATH; cargo fails (its own
// errors are shown); the built core does not load.

import { spawnSync } from 'node:child_process';
import { copyFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { platformName } from '../bindings/platform.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function fail(text) {
  console.error(`qmta-build-core: ${text}`);
  process.exit(1);
}

/** The file name cargo gives the cdylib on this platform. */
function libraryName() {
  if (process.platform === 'win32') return 'qmta_bindings.dll';
  return process.platform === 'darwin' ? 'libqmta_bindings.dylib' : 'libqmta_bindings.so';
}

const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
if (cargo.error || cargo.status !== 0) fail('cargo was not found. Install the Rust toolchain (https://rustup.rs) and run this again.');

const manifest = join(root, 'Cargo.toml');
const built = spawnSync('cargo', ['build', '--release', '--locked', '-p', 'qmta-bindings', '--manifest-path', manifest], { stdio: 'inherit' });
if (built.status !== 0) fail(`cargo build failed (exit ${built.status ?? built.signal}); its errors are above.`);

const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, 'target');
const dest = join(root, 'bindings', `qmta-core.${platformName()}.node`);
// Copy then rename: a running qmta never sees half a library.
// With CARGO_BUILD_TARGET set (as `napi build` does), cargo puts it under target/<triple>/.
const out = join(target, process.env.CARGO_BUILD_TARGET ?? '', 'release', libraryName());
copyFileSync(out, `${dest}.tmp`);
renameSync(`${dest}.tmp`, dest);

try {
  const { default: core } = await import('../bindings/load.js');
  console.log(`qmta-build-core: built the native core ${core.coreVersion()} for ${platformName()}: ${dest}`);
} catch (err) {
  fail(`the built core does not load: ${err.message}`);
}
