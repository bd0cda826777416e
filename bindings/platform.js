// The running platform as napi-rs names its builds (linux-x64-gnu, linux-arm64-musl,
// darwin-arm64, win32-x64-msvc), the suffix of bindings/qmta-core.<platform>.node and of
// the prebuilt package qmta-<platform>.
//
// Interface: platformName() -> string. No failures.
// Constraint shared with the generated loader (index.js): the same names, or a source
// build lands where the loader does not look. Users: load.js, scripts/build-core.js.

/** The platform-arch[-abi] name of this process's platform. */
export function platformName() {
  const { platform, arch } = process;
  if (platform === 'win32') return `${platform}-${arch}-msvc`;
  if (platform !== 'linux') return `${platform}-${arch}`;
  // The loader reads /usr/bin/ldd first; the report's glibc version says the same.
  const glibc = process.report?.getReport?.().header?.glibcVersionRuntime;
  const abi = glibc ? 'gnu' : 'musl';
  return arch === 'arm' ? `linux-arm-${abi}eabihf` : `linux-${arch}-${abi}`;
}
