// The only module that imports the native core (bindings/, through the "#native"
// import map). Everything else imports this file. It turns the core's raw results into
// domain types and its errors into Failure values.
//
// Constraint shared with bindings/src/failure.rs: a core failure is a JS error whose
// code is QMTA_TEMP or QMTA_PERM and whose message is "<status> <text>".

import core from '#native';
import { ok, perm, temp, type Failure, type Outcome } from './outcome.js';

/** Version of the loaded native core. */
export function coreVersion(): string {
  return core.coreVersion();
}

/** Decodes a native error into a Failure; any other error is rethrown (it is a bug). */
export function decodeFailure(err: unknown): Failure {
  const e = err as { code?: unknown; message?: unknown };
  if (e && (e.code === 'QMTA_TEMP' || e.code === 'QMTA_PERM') && typeof e.message === 'string') {
    const space = e.message.indexOf(' ');
    const status = e.message.slice(0, space);
    const text = e.message.slice(space + 1);
    return e.code === 'QMTA_TEMP' ? temp(status, text) : perm(status, text);
  }
  throw err;
}

/** Runs a synchronous native call; a core failure becomes a Failure value. */
export function nativeCall<T>(run: () => T): Outcome<T> {
  try {
    return ok(run());
  } catch (err) {
    return decodeFailure(err);
  }
}

/** Awaits an asynchronous native call; a core failure becomes a Failure value. */
export async function nativeAwait<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return ok(await run());
  } catch (err) {
    return decodeFailure(err);
  }
}

// --- wire ---
// crates/wire through bindings/src/wire.rs: a stored message read out as SMTP/POP3 wire
// chunks (CR LF line ends, dot-stuffed, ended by "." CR LF). Users: ts/remote, ts/pop3d.

/** A message file being read out for the wire; every call is synchronous and bounded. */
export interface WireStream {
  /** The next chunk of at most `max` bytes; null once the terminator has been handed out. */
  read(max: number): Outcome<Buffer | null>;
  /** Size with CR LF line ends, without stuffing dots or the terminator (SIZE, POP3 LIST). */
  size(): Outcome<number>;
}

export interface WireStreamOptions {
  /** Header lines sent before the file (LF line ends are fine). */
  readonly prefix?: Buffer;
  /** POP3 TOP: the header and this many body lines only. */
  readonly bodyLines?: number;
}

/** Opens a message file for the wire. */
export function openWireStream(path: string, options: WireStreamOptions = {}): Outcome<WireStream> {
  return nativeCall(() => {
    const reader = core.WireReader.open(path, { prefix: options.prefix, bodyLines: options.bodyLines });
    return {
      read: (max: number) => nativeCall(() => reader.read(max)),
      size: () => nativeCall(() => reader.size),
    };
  });
}

/** The wire size of a message file (as WireStream.size). */
export function wireSize(path: string): Outcome<number> {
  return nativeCall(() => core.wireSize(path));
}

// --- pop3 ---
// crates/mailbox read.rs through bindings/src/maildrop.rs: the POP3 login scan of a
// maildir (tmp/ cleaned, new/ moved to cur/, cur/ listed with RFC 1939 sizes), run on
// the libuv pool. User: ts/pop3d. The core resolves with { entries, failure? } because
// an async task cannot reject with a QMTA_ code; failure has the thrown errors' shape.

/** One message of a maildrop, in delivery order. */
export interface MaildropEntry {
  /** File name inside cur/. */
  readonly file: string;
  readonly size: number;
}

/** Cleans tmp/, moves new/ to cur/ and lists cur/ (crates/mailbox read.rs). */
export async function openMaildrop(maildir: string): Promise<Outcome<MaildropEntry[]>> {
  const scan = await core.openMaildrop(maildir);
  return scan.failure ? decodeFailure(scan.failure) : ok(scan.entries);
}

// --- mailbox ---
// crates/mailbox through bindings/src/mailbox.rs: maildir and mbox delivery. The async
// forms run off the event loop (maildir on the core's threads, mbox on the libuv pool)
// and reject with QMTA_TEMP/QMTA_PERM errors; the Sync forms block the calling thread
// (tinypool workers) and throw the same. User: ts/mailbox.
import type { MaildirDelivery, MboxDelivery } from './mailbox/types.js';

/** Maildir delivery on a core thread (not the libuv pool); the value is the file's name in new/. */
export async function deliverMaildir(d: MaildirDelivery): Promise<Outcome<string>> {
  return nativeAwait(() => core.deliverMaildir(d.maildir, d.headers, d.bodyPath));
}

/** Maildir delivery on this thread. */
export function deliverMaildirSync(d: MaildirDelivery): Outcome<string> {
  return nativeCall(() => core.deliverMaildirSync(d.maildir, d.headers, d.bodyPath));
}

/** mbox delivery on the libuv pool. */
export async function deliverMbox(d: MboxDelivery): Promise<Outcome<void>> {
  return nativeAwait(() => core.deliverMbox(d.mbox, d.sender, d.headers, d.bodyPath, d.lockWaitMs));
}

/** mbox delivery on this thread. */
export function deliverMboxSync(d: MboxDelivery): Outcome<void> {
  return nativeCall(() => core.deliverMboxSync(d.mbox, d.sender, d.headers, d.bodyPath, d.lockWaitMs));
}

// --- smtp --- (bindings/src/smtp_server.rs: the core's SMTP listeners; body bytes stay in Rust)
// The core runs the sessions on its own threads and asks TypeScript what only it decides,
// through one channel: `wake` is called when asks or events wait; `take()` returns them
// all; each ask is answered once by its id (ts/smtpd/decide.ts).

export type { DirectTarget, MessageContent, SmtpCounters, SmtpListen, SmtpServerRules } from '#native';

/** A commit's report (crates/accept): recipients named by their index in the message. */
export interface CommitReport {
  /** The id the logs give the direct deliveries ('' when there were none). */
  readonly id: string;
  readonly bytes: number;
  readonly delivered: readonly { readonly index: number; readonly files: readonly string[] }[];
  readonly fallback: readonly { readonly index: number; readonly status: string; readonly text: string }[];
  readonly queued?: { readonly id: string; readonly recipients: readonly number[] };
}

/**
 * One ask or event of the channel (bindings/src/smtp_items.rs, its Rust twin): `type` says
 * which fields are set. Asks (connect, helo, mail, rcpt, auth, etrn, data) have an `id` and
 * the whole session (SmtpAsk); events (accepted, failed, closed, error) have neither.
 */
export interface SmtpItem {
  readonly type: string;
  readonly id?: number;
  readonly sid: number;
  readonly listener: string;
  readonly ip: string;
  /** The session's transaction: counted at each MAIL, also one the core answered itself. */
  readonly transaction: number;
  readonly tls?: { readonly protocol: string; readonly cipher: string };
  readonly user?: string;
  /** helo: the name given and which command. */
  readonly name?: string;
  readonly ehlo?: boolean;
  readonly address?: string;
  readonly sender?: string;
  readonly size?: number;
  readonly body?: string;
  readonly smtputf8?: boolean;
  readonly mechanism?: string;
  readonly login?: string;
  readonly password?: string;
  readonly domain?: string;
  /** rcpt: the recipients accepted so far; data and events: the message's. */
  readonly recipients?: readonly string[];
  /** data: the message waits in SmtpServer.content(id). */
  readonly content?: boolean;
  readonly report?: CommitReport;
  readonly accepted?: number;
  readonly millis?: number;
  /** closed: [code, count] pairs. */
  readonly replies?: readonly (readonly [number, number])[];
  readonly status?: string;
  readonly text?: string;
}

/** An ask: an item with an id and the rest of its session. */
export interface SmtpAsk extends SmtpItem {
  readonly id: number;
  readonly generation: number;
  readonly port: number;
  readonly localIp: string;
  readonly localPort: number;
  /** The session's address is in control/relayclients (decided by the core). */
  readonly relayClient: boolean;
  readonly helo?: string;
}

/** The core sends every ask with its whole session (smtp_items.rs peer_item). */
export function isSmtpAsk(item: SmtpItem): item is SmtpAsk {
  return item.id !== undefined;
}

/** An answer: the reply, and what the ask's shape carries. */
export interface SmtpAnswer extends SmtpReply {
  readonly direct?: core.DirectTarget;
  readonly user?: string;
  readonly content?: boolean;
  readonly header?: Buffer;
  readonly dropAuthserv?: string;
}

/** The asks and events waiting (one JSON batch from the core). */
export function takeSmtpItems(server: core.SmtpServer): SmtpItem[] {
  return JSON.parse(server.take()) as SmtpItem[];
}

/** Answers ask `id`; the reply travels as arguments, the rest only when there is some. */
export function answerSmtp(server: core.SmtpServer, id: number, a: SmtpAnswer): void {
  const { code, status, text, ...extra } = a;
  server.answer(id, code, status, text, Object.keys(extra).length > 0 ? extra : undefined);
}

export interface SmtpReply {
  readonly code: number;
  readonly status: string;
  readonly text: string;
}

export type NativeSmtpSettings = core.SmtpSettings;
export type NativeSmtpServer = core.SmtpServer;

/** The core's SMTP service, not yet listening; a bad deny list or certificate is a failure. */
export function createSmtpServer(rules: core.SmtpServerRules, queueRoot: string, wake: () => void): Outcome<core.SmtpServer> {
  return nativeCall(() => new core.SmtpServer(rules, queueRoot, wake));
}

/** New rules for new connections; a bad deny list or certificate changes nothing. */
export function setSmtpRules(server: core.SmtpServer, rules: core.SmtpServerRules): Outcome<void> {
  return nativeCall(() => server.setRules(rules));
}

// --- queue ---
// crates/queue through bindings/src/queue.rs. The async calls run on the queue crate's
// own threads (no libuv thread is held while a commit waits for its group fsync) and
// reject with QMTA_TEMP/QMTA_PERM errors; the Sync forms block the calling thread and are
// meant for worker threads. User: ts/queue (the Queue contract of ts/queue/types.ts).

export type { NativeQueue, QueueWriter as NativeQueueWriter } from '#native';

/** Opens (creating when missing) the native queue at `root`. */
export function openNativeQueue(root: string, maxRecipients?: number): Outcome<core.NativeQueue> {
  return nativeCall(() => core.queueOpen(root, maxRecipients));
}

/** A benchmark's raw-disk loop (crates/queue rawloop.rs): elapsed milliseconds. */
export function queueRawLoop(kind: 'add' | 'accept' | 'message', dir: string, count: number, threads: number, bodySize: number): Promise<number> {
  return core.queueRawLoop(kind, dir, count, threads, bodySize);
}

// --- privilege ---
// crates/privilege through bindings/src/privilege.rs: account look-ups (NSS), sockets
// bound before the drop, SO_PEERCRED, socket pairs and descriptor passing. A descriptor
// returned here belongs to the caller, who closes it. Users: ts/privilege, ts/lspawn,
// ts/net, ts/submit.

/** A passwd entry. */
export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** The account called `name`, undefined when there is none. */
export function accountByName(name: string): Outcome<Account | undefined> {
  return nativeCall(() => core.accountByName(name) ?? undefined);
}

/** The account of `uid`, undefined when there is none. */
export function accountByUid(uid: number): Outcome<Account | undefined> {
  return nativeCall(() => core.accountByUid(uid) ?? undefined);
}

/** A TCP socket bound to host:port, not yet listening: its descriptor. */
export function bindTcp(host: string, port: number): Outcome<number> {
  return nativeCall(() => core.bindTcp(host, port));
}

/** Who is at the other end of a connected UNIX socket (the kernel's word). */
export function peerCredentials(fd: number): Outcome<{ pid: number; uid: number; gid: number }> {
  return nativeCall(() => core.peerCredentials(fd));
}

/** A connected socket pair: 'stream' (Node reads it as a net.Socket) or 'seqpacket'. */
export function socketPair(kind: 'stream' | 'seqpacket'): Outcome<[number, number]> {
  return nativeCall(() => (kind === 'stream' ? core.streamPair() : core.seqpacketPair()) as [number, number]);
}

/** Sends one packet carrying descriptors (SCM_RIGHTS). */
export function sendWithFds(fd: number, bytes: Buffer, fds: readonly number[]): Outcome<void> {
  return nativeCall(() => core.sendWithFds(fd, bytes, [...fds]));
}

/** Copies the file open on `fd` into a new unnamed file in `dir`; its descriptor. */
export function privateCopy(fd: number, dir: string): Outcome<number> {
  return nativeCall(() => core.privateCopy(fd, dir));
}

// --- lspawn ---
// crates/lspawn through bindings/src/lspawn.rs: the delivery helper's loop (`qmta
// lspawn`, root) and the request packet the daemon sends it. User: ts/lspawn.

/** One request to the helper (crates/lspawn frame.rs). */
export interface LspawnRequest {
  readonly kind: 'local' | 'pop3';
  readonly uid: number;
  readonly gid: number;
  readonly user: string;
  readonly home: string;
  readonly local: string;
  readonly dash: string;
  readonly ext: string;
  readonly domain: string;
  readonly sender: string;
  readonly timeoutMs: number;
}

/** The packet for a request; a request the helper would refuse as malformed is a Failure. */
export function encodeLspawnRequest(r: LspawnRequest): Outcome<Buffer> {
  return nativeCall(() => core.encodeLspawnRequest({ ...r }));
}

/** Serves requests on `control` until the daemon closes it (blocks this thread). */
export function lspawnServe(control: number, node: string, script: string, queueUid: number, marginS: number): Outcome<void> {
  return nativeCall(() => core.lspawnServe(control, node, script, queueUid, marginS));
}

/** Closes a descriptor one of the functions above handed out. */
export function closeFd(fd: number): void {
  core.closeFd(fd);
}
