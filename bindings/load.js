// The import behind "#native" (package.json): loads the core through the loader napi
// build generates (index.js), and when no core loads, replaces the loader's catch-all
// "Cannot find native binding" with an error that says what is missing and what to do.
//
// Interface: default export = the core's exports (the namespace of index.js).
// Failures: no core loads -> throws an Error with code QMTA_NO_CORE whose message names
// the platform and the way out: the platform package to install, or the source build
// (`npx qmta-build-core`, scripts/build-core.js); `cause` is the loader's own error chain.
// Where the loader looks, in order: NAPI_RS_NATIVE_LIBRARY_PATH, then
// bindings/qmta-core.<platform>.node (a source build, or `npm run build` in a checkout),
// then the prebuilt package qmta-<platform> (an optionalDependency of the qmta package).

import { createRequire } from 'node:module';
import { platformName } from './platform.js';

const require = createRequire(import.meta.url);

let core;
try {
  core = await import('./index.js');
} catch (err) {
  throw noCore(err);
}
export default core;

function noCore(cause) {
  const pkg = require('../package.json');
  const name = platformName();
  const prebuilt = Object.keys(pkg.optionalDependencies ?? {});
  const wanted = `${pkg.name}-${name}`;
  const build = 'To build the core from source instead: install Rust (https://rustup.rs), then run `npx qmta-build-core`.';
  let text;
  if (!prebuilt.includes(wanted)) {
    const have = prebuilt.map((p) => p.slice(pkg.name.length + 1)).join(', ') || 'none';
    text = `qmta ${pkg.version} has no prebuilt native core for ${name} (prebuilt: ${have}). ${build}`;
  } else if (!installed(wanted)) {
    text = `qmta's prebuilt native core for ${name}, the package ${wanted}, is not installed. npm installs it ` +
      'as an optional dependency and leaves it out without an error when it cannot fetch it, with --omit=optional, ' +
      `or with a lockfile made on another platform (npm/cli#4828). Install it with \`npm install ${wanted}@${pkg.version}\`. ${build}`;
  } else {
    text = `qmta's prebuilt native core ${wanted} is installed but does not load here: ${loadError(cause, wanted)}. ${build}`;
  }
  return Object.assign(new Error(text, { cause }), { code: 'QMTA_NO_CORE' });
}

function installed(name) {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** What the loader's error chain (one link per place it tried) says about `name`. */
function loadError(err, name) {
  for (let e = err; e; e = e.cause) if (typeof e.message === 'string' && e.message.includes(name)) return e.message;
  return String(err?.message ?? err);
}
