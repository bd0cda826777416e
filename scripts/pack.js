// `npm run package [-- OUTDIR]`: the npm tarballs of a built checkout (`npm run build`
// first): qmta itself (compiled JS, the loader, the Rust sources for a source build) and
// one package per prebuilt core, napi-rs's layout: npm/<platform>/ holds the platform
// package (made by `napi create-npm-dirs`), qmta lists each as an optionalDependency of
// the same version, and npm installs only the one whose os/cpu/libc match.
//
// Interface: writes the tarballs to OUTDIR (default: the current directory) and prints
// their paths as a JSON array, qmta's last.
// Failures (exit 1): a platform package whose version differs from qmta's (run
// `napi version`); no built core on this machine for any platform package; npm pack fails.
// A platform this machine cannot build is left out (its tarball comes from a machine
// that can, as napi-rs's CI matrix does).

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = resolve(process.argv[2] ?? '.');
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function fail(text) {
  console.error(`pack: ${text}`);
  process.exit(1);
}

/** npm pack of one folder into `out`; returns the tarball's path. */
function pack(dir) {
  const json = execFileSync(npm, ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  // Lifecycle scripts (prepack) print before the JSON array.
  return join(out, JSON.parse(json.slice(json.indexOf('\n[') + 1))[0].filename);
}

const main = readJson(join(root, 'package.json'));
const { binaryName } = main.napi;
mkdirSync(out, { recursive: true });
const tarballs = [];
for (const [name, version] of Object.entries(main.optionalDependencies ?? {})) {
  const platform = name.slice(main.name.length + 1);
  const dir = join(root, 'npm', platform);
  const sub = readJson(join(dir, 'package.json'));
  if (sub.version !== main.version || version !== main.version) {
    fail(`${name} is ${sub.version} (listed as ${version}), qmta is ${main.version}: run \`napi version\` and fix optionalDependencies`);
  }
  const core = join(root, 'bindings', `${binaryName}.${platform}.node`);
  if (!existsSync(core)) continue;
  copyFileSync(core, join(dir, `${binaryName}.${platform}.node`));
  tarballs.push(pack(dir));
}
if (tarballs.length === 0) fail('no platform package has a built core here: run `npm run build` first');
tarballs.push(pack(root));
console.log(JSON.stringify(tarballs));
