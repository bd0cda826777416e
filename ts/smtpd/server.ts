// startSmtpd: the SMTP service over the core's listeners (crates/smtp-server): the
// smtp, submission and implicit-TLS smtps listeners (IPv4 and IPv6), admission (deny list
// 554, total and per-IP limits 421 4.7.0) and every session run on the core's threads;
// this side answers the decisions (decide.ts) and keeps the rules current.
//
// Order: the listeners are bound, then accepting starts (deps.deferAccept: not until
// handle.start()). A daemon started as root binds its addresses before dropping root
// (ts/net/prebound.ts); the core takes those sockets and calls listen(2) itself.
// Reload: update() hands new rules to the core for new connections (a broken certificate,
// deny list or relay client list rejects, nothing changed), then makes the listeners those
// of the new settings (new ones opened, dropped ones closed; their sessions go on).
// Sessions keep the rules they were admitted under: each rules version has a generation
// number, the core names it in every ask, and a replaced version is kept for a session
// time limit.
// Failures: a listen error (address in use, bad address) rejects startSmtpd after closing
// what was opened, and rejects update() after opening every listener it could; smtps
// without TLS settings throws.
// Guarantee: close() stops accepting at once, lets messages in the middle of their body
// finish for up to shutdownGraceMs, says 421 4.3.2 to idle sessions, then drops the rest.

import { answerSmtp, createSmtpServer, setSmtpRules, takeSmtpItems, type NativeSmtpServer, type SmtpListen, type SmtpServerRules } from '../native.js';
import { describe } from '../outcome.js';
import { createEtrn, type Etrn } from './etrn.js';
import { wantsContent } from './content.js';
import { Decider, type DecideRules } from './decide.js';
import { takePrebound } from '../net/prebound.js';
import { ensureTlsFiles } from './tls.js';
import type { ListenerKind, SmtpdDeps, SmtpdHandle, SmtpdSettings } from './types.js';

const KINDS = ['smtp', 'submission', 'smtps'] as const;

type ListenSettings = Pick<SmtpdSettings, ListenerKind>;

/** Binds every configured listener and starts accepting; resolves once all are bound. */
export async function startSmtpd(settings: SmtpdSettings, deps: SmtpdDeps): Promise<SmtpdHandle> {
  const etrn = deps.etrn ? createEtrn(deps.etrn, deps.log) : undefined;
  const versions = new Versions(decideRules(settings, deps));
  let tlsSettings = settings.tls;
  let server: NativeSmtpServer | undefined;
  const decider = new Decider({
    rules: (g) => versions.get(g), deps, ...(etrn ? { etrn } : {}),
    answer: (id, a) => server && answerSmtp(server, id, a), content: (id) => server?.content(id) ?? undefined,
  });
  const created = createSmtpServer(coreRules(settings, deps, etrn, versions.current), deps.queue.root, () => {
    if (server) for (const item of takeSmtpItems(server)) decider.handle(item);
  });
  if (created.kind !== 'ok') throw new Error(describe(created));
  server = created.value;
  const s = server;
  let listening: ListenSettings = settings;
  let last = '';
  const listen = (wanted: ListenSettings): void => {
    const failed = s.listen(listenList(wanted));
    const now = JSON.stringify(s.addresses());
    if (now !== last) deps.log?.info({ addresses: s.addresses() }, 'smtpd listening');
    last = now;
    if (failed.length > 0) throw new Error(`cannot listen on ${failed.join(', ')}`);
  };
  try {
    listen(settings);
  } catch (err) {
    await s.close(0);
    throw err;
  }
  if (!deps.deferAccept) s.start();
  let closing: Promise<void> | undefined;
  return {
    get addresses() {
      return s.addresses().map((a) => ({ kind: a.kind as ListenerKind, host: a.host, port: a.port }));
    },
    start: () => s.start(),
    counters: () => s.counters(),
    async update(next) {
      // A kind of listener left out of `next` stays as it is; the certificate too.
      const merged = { ...next, tls: next.tls ?? tlsSettings };
      const rules = decideRules(merged, deps);
      const set = setSmtpRules(s, coreRules(merged, deps, etrn, versions.current + 1));
      if (set.kind !== 'ok') throw new Error(describe(set));
      versions.add(rules, merged.sessionLimitMs ?? 3_600_000);
      tlsSettings = merged.tls;
      if (closing) return;
      listening = { smtp: next.smtp ?? listening.smtp, submission: next.submission ?? listening.submission, smtps: next.smtps ?? listening.smtps };
      listen(listening);
    },
    close: () => (closing ??= shutdown(s, settings, etrn)),
  };
}

/** The decision rules by generation; a replaced one is kept while sessions admitted under
 *  it may still run (the session time limit). */
class Versions {
  readonly #all = new Map<number, { readonly rules: DecideRules; replacedAt?: number; keepMs?: number }>();
  current = 1;

  constructor(first: DecideRules) {
    this.#all.set(1, { rules: first });
  }

  get(generation: number): DecideRules {
    return (this.#all.get(generation) ?? this.#all.get(this.current)!).rules;
  }

  add(rules: DecideRules, keepMs: number): void {
    const now = Date.now();
    const old = this.#all.get(this.current)!;
    [old.replacedAt, old.keepMs] = [now, keepMs];
    for (const [g, v] of this.#all) if (v.replacedAt !== undefined && now - v.replacedAt > v.keepMs!) this.#all.delete(g);
    this.#all.set(++this.current, { rules });
  }
}

/** The wanted listeners, each with the socket `qmta start` bound for it as root, if any. */
function listenList(settings: ListenSettings): SmtpListen[] {
  return KINDS.flatMap((kind) => (settings[kind] ?? []).map((a) => {
    const fd = takePrebound(a);
    return { kind, host: a.host, port: a.port, ...(fd !== undefined ? { fd } : {}) };
  }));
}

function decideRules(settings: SmtpdSettings, deps: SmtpdDeps): DecideRules {
  return {
    policy: { rcpthosts: settings.rcpthosts, validateRecipient: deps.validateRecipient, checkPassword: deps.checkPassword },
    authFailDelayMs: settings.authFailDelayMs ?? 1_000,
    etrnRoutes: settings.etrn ?? [],
  };
}

/** The rules the core follows; the certificate files are made when missing (tls.ts). The
 *  core parses the deny and relay client lists: a bad entry fails the start or the update,
 *  naming it (crates/smtp-server rules.rs). */
function coreRules(s: SmtpdSettings, deps: SmtpdDeps, etrn: Etrn | undefined, generation: number): SmtpServerRules {
  const tls = s.tls ? ensureTlsFiles(s.tls, s.hostname, deps.log) : undefined;
  if ((s.smtps?.length ?? 0) > 0 && !tls) throw new Error('smtps listeners need TLS settings');
  return {
    generation,
    session: {
      hostname: s.hostname,
      databytes: s.databytes ?? 0,
      maxRcpts: s.maxRcpts ?? 100,
      maxErrors: s.maxErrors ?? 20,
      maxTextLine: s.maxTextLine ?? 1000,
      auth: deps.checkPassword !== undefined,
      authWithoutTls: s.authWithoutTls ?? false,
      chunking: s.chunking ?? true,
      etrn: etrn !== undefined && (s.etrn?.length ?? 0) > 0,
      askHelo: deps.hooks?.has('helo') === true,
    },
    deny: [...(s.deny ?? [])],
    maxConnections: s.maxConnections ?? 200,
    maxPerIp: s.maxPerIp ?? 20,
    timeoutMs: s.timeoutMs ?? 1_200_000,
    sessionLimitMs: s.sessionLimitMs ?? 3_600_000,
    ...(tls ? { tlsCert: tls.certFile, tlsKey: tls.keyFile } : {}),
    askData: false,
    askConnect: deps.hooks?.has('connect') === true,
    syncEachFile: s.syncEachFile === true,
    badmailfrom: [...(s.badmailfrom ?? [])],
    relayClients: [...(s.relayClients ?? ['127.0.0.1', '::1'])],
    askMail: deps.hooks?.has('mail') === true,
    contentTrusted: wantsContent(deps, false),
    // Fault injection for test/e2e/smtp-engine-error.test.ts only.
    ...(process.env.QMTA_TEST_SMTP_PANIC_ON ? { panicOn: process.env.QMTA_TEST_SMTP_PANIC_ON } : {}),
  };
}

async function shutdown(s: NativeSmtpServer, settings: SmtpdSettings, etrn: Etrn | undefined): Promise<void> {
  const grace = settings.shutdownGraceMs ?? 10_000;
  const deadline = Date.now() + grace;
  await s.close(grace);
  // A flush cut short by the exit loses nothing: a message leaves the maildir only after the peer's 250.
  if (etrn) await Promise.race([etrn.settle(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
}
