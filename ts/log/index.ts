// Logging: pino JSON lines, one object a line, to HOME/log/qmta.log and/or stdout.
//
// Interface: createLogger(opts) -> QmtaLogger (pino; reopen() for SIGUSR1, size rotation
// with opts.rotate: rotate.ts), tapLog(log, tap) -> a Log that also hands each record to
// `tap` (metrics), sendEvents(log) -> SendEvents, the
// helpers that write qmail-send's activity lines (qmail.md §13.1) as structured records:
// every record carries `event` (the qmail line's keyword: "new msg", "info msg",
// "starting delivery", "delivery", "bounce msg", "triple bounce", "end msg", "status")
// plus its fields, and `msg` holds the qmail-style line itself, so statistics can be
// computed from the fields and a human can still read the familiar text.
// Failures: a log file that cannot be opened throws at start-up (a broken install, not
// mail); writes are asynchronous (pino.destination sync:false), batched (at most 32 KiB or
// one second behind) and flushed by close(); a SIGKILL may lose that last second.
// Guarantees: variable text is never interpreted; reports keep their LFs inside the JSON
// string (no qmail sanitising needed: JSON escapes them).

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger, type DestinationStream } from 'pino';
import { batched, type Batched } from './batched.js';
import { rotator, type RotateSettings } from './rotate.js';

/** The logger shape every module accepts (pino's, or any look-alike in tests). */
export interface Log {
  /** A record of normal activity: `o` holds its fields (`event`, ids, ...), `msg` the human line. */
  info(o: object, msg?: string): void;
  /** Something worth a look that did not stop mail (a retry, a reload that kept the old values). */
  warn(o: object, msg?: string): void;
  /** Something that needs an operator (a queue that cannot be written, a broken hook). */
  error(o: object, msg?: string): void;
}

export type QmtaLogger = Logger & {
  close(): Promise<void>;
  /** Reopens the file at its path (SIGUSR1, after logrotate renamed it). */
  reopen(): void;
};

export interface LoggerOptions {
  /** Log file (created with its folder); omitted = no file. */
  readonly file?: string;
  /** Also write to stdout. */
  readonly stdout?: boolean;
  readonly level?: string;
  /** Size rotation of the file (rotate.ts); omitted = only reopen(). */
  readonly rotate?: Omit<RotateSettings, 'warn'>;
}

/** A pino logger writing to the file and/or stdout; close() flushes and closes the file. */
export function createLogger(opts: LoggerOptions): QmtaLogger {
  const streams: { stream: DestinationStream }[] = [];
  const files: ReturnType<typeof pino.destination>[] = [];
  const pending: Batched[] = [];
  if (opts.file !== undefined) {
    mkdirSync(dirname(opts.file), { recursive: true });
    // Lines are written in batches of 32 KiB, or every second: each write is a hop to the
    // libuv pool, 13 µs of the event loop a message in 8 KiB batches (seven lines, about
    // 1.7 KiB, a message delivered at accept time). SonicBoom gets them encoded (batched.ts:
    // in its text mode it appends lines to one string and measures its UTF-8 length again
    // at every line, flattening it, 70 µs of the event loop per message at 50 SMTP
    // connections).
    const dest = pino.destination({ dest: opts.file, sync: false, minLength: 32768, maxWrite: 65536, periodicFlush: 1000, contentMode: 'buffer' });
    files.push(dest);
    const lines = batched(dest as unknown as { write(chunk: Buffer): boolean });
    pending.push(lines);
    streams.push({ stream: lines });
  }
  if (opts.stdout) streams.push({ stream: pino.destination({ dest: 1, sync: false }) });
  const level = opts.level ?? 'info';
  const logger = streams.length === 0 ? pino({ level, enabled: false }) : pino({ level, base: undefined }, oneStream(streams, level));
  let closing = false;
  // Once closing, a reopen is not started: one that lands after end() is dropped by
  // sonic-boom with the close still waiting (see closeFiles).
  const reopen = () => { if (!closing) for (const f of files) f.reopen(); };
  const rotation = opts.file !== undefined && opts.rotate
    ? rotator(opts.file, reopen, { ...opts.rotate, warn: (text) => logger.warn({ event: 'warning' }, `warning: ${text}`) })
    : undefined;
  rotation?.start();
  return Object.assign(logger, {
    close: () => { closing = true; rotation?.stop(); pending.forEach((p) => p.flush()); return closeFiles(files); },
    reopen,
  });
}

/** The destinations as one stream; pino's multistream only for several (it costs a
 *  level check and a loop per line). */
function oneStream(streams: { stream: DestinationStream }[], level: string): DestinationStream {
  const [only] = streams;
  return streams.length === 1 && only ? only.stream : pino.multistream(streams.map((s) => ({ ...s, level: level as 'info' })));
}

/** A Log that hands every record object to `tap` (after the logger took it). */
export function tapLog(log: Log, tap: (o: object) => void): Log {
  return {
    info: (o, msg) => { log.info(o, msg); tap(o); },
    warn: (o, msg) => { log.warn(o, msg); tap(o); },
    error: (o, msg) => { log.error(o, msg); tap(o); },
  };
}

type Destination = ReturnType<typeof pino.destination> & { fd: number; once(e: string, f: () => void): void };

/** Waits for the file to be open (SonicBoom opens asynchronously), then flushes and closes it.
 *  The flush comes first: a reopen asked while a write was in flight runs when that write
 *  ends, and sonic-boom 4.2 drops it if end() came meanwhile, leaving the close to wait for
 *  the next periodic flush, or forever when nothing else keeps the process alive. */
async function closeFiles(files: ReturnType<typeof pino.destination>[]): Promise<void> {
  await Promise.all(files.map(async (file) => {
    const f = file as Destination;
    if (f.fd < 0) await new Promise<void>((resolve) => f.once('ready', resolve));
    await new Promise<void>((resolve) => f.flush(() => resolve()));
    await new Promise<void>((resolve) => {
      f.once('close', resolve);
      f.end();
    });
  }));
}

/** A logger that drops everything (tests, embedding without logs). */
export const silentLog: Log = { info() {}, warn() {}, error() {} };

export type ChannelName = 'local' | 'remote';
export type DeliveryResult = 'success' | 'failure' | 'deferral';

/** qmail-send's activity lines (qmail.md §13.1), as structured records. */
export interface SendEvents {
  newMsg(id: string): void;
  infoMsg(id: string, bytes: number, sender: string): void;
  startDelivery(d: number, id: string, channel: ChannelName, recipient: string): void;
  delivery(d: number, result: DeliveryResult, report: string): void;
  bounceMsg(id: string, bounceId: string): void;
  tripleBounce(id: string): void;
  endMsg(id: string): void;
  status(local: number, localMax: number, remote: number, remoteMax: number, exiting?: boolean): void;
  warning(text: string, fields?: object): void;
  alert(text: string, fields?: object): void;
}

/** The qmail-send event helpers over a logger. */
export function sendEvents(log: Log): SendEvents {
  return {
    newMsg: (id) => log.info({ event: 'new msg', id }, `new msg ${id}`),
    infoMsg: (id, bytes, sender) =>
      log.info({ event: 'info msg', id, bytes, sender }, `info msg ${id}: bytes ${bytes} from <${sender}>`),
    startDelivery: (d, id, channel, recipient) =>
      log.info({ event: 'starting delivery', delivery: d, id, channel, recipient },
        `starting delivery ${d}: msg ${id} to ${channel} ${recipient}`),
    delivery: (d, result, report) =>
      log.info({ event: 'delivery', delivery: d, result, report }, `delivery ${d}: ${result}: ${report}`),
    bounceMsg: (id, bounceId) =>
      log.info({ event: 'bounce msg', id, bounce: bounceId }, `bounce msg ${id} qp ${bounceId}`),
    tripleBounce: (id) =>
      log.warn({ event: 'triple bounce', id }, `triple bounce: discarding bounce/${id}`),
    endMsg: (id) => log.info({ event: 'end msg', id }, `end msg ${id}`),
    status: (local, localMax, remote, remoteMax, exiting) =>
      log.info({ event: 'status', local, localMax, remote, remoteMax, exiting: exiting === true },
        `status: local ${local}/${localMax} remote ${remote}/${remoteMax}${exiting ? ' exitasap' : ''}`),
    warning: (text, fields) => log.warn({ event: 'warning', ...fields }, `warning: ${text}`),
    alert: (text, fields) => log.error({ event: 'alert', ...fields }, `alert: ${text}`),
  };
}
