// The home directory: creation with defaults, pid file, reload signal. See create.ts, pid.ts.
export { ensureHome } from './create.js';
export { readPidFile, removePidFile, signalRunning, writePidFile } from './pid.js';
