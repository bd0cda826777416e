// ETRN (RFC 1985) on the SMTP service: a dial-up site that has come online asks for the
// passive queue of its domain (ts/flush, serialmail's role) to be sent on to it.
//
// Interface: createEtrn(deps) -> Etrn { decide(request, routes) -> Promise<SmtpReply>;
// settle() -> Promise<void> (every flush started has ended) }.
// Who may ask: relay clients (control/relayclients) and authenticated sessions; anyone else
// gets 530 5.7.0 (RFC 4954 §6: the reply to any command that policy lets only
// authenticated clients use). Which domains: those listed in control/etrnroutes that
// also have a passive queue (a virtualdomains entry). The list is the safety: a flush
// sends a domain's mail to whoever the route names, the asking client by default.
// Replies (RFC 1985 §5 codes, RFC 3463 statuses):
//   not a relay client, not authenticated            -> 530 5.7.0
//   domain not in etrnroutes, or no passive queue    -> 459 4.7.1 Node D not allowed: ...
//   the passive queue cannot be read (temporary)     -> 458 4.3.0 Unable to queue messages for node D
//   no target (the client's address is unknown)      -> 458 4.3.0
//   nothing waiting                                  -> 251 2.0.0 OK, no messages waiting for node D
//   a flush of D already running                     -> 253 2.0.0 OK, N pending messages for node D started
//                                                       (that flush runs once more when it ends)
//   else                                             -> 250 2.0.0 OK, queuing for node D started; the flush starts
// 252 (pending, count unknown) is never said: the count is always known.
// Target: the route's host, or the asking client's IP (RFC 1985's model: the server opens
// a new connection to the client); the route's port, 25 by default.
// Guarantees: the flush starts after the reply is on its way and never blocks a session;
// one flush at a time per domain in this process (ts/flush's lock file also keeps out a
// concurrent `qmta flush`); a flush that fails or throws is logged, never thrown.

import { isIP } from 'node:net';
import type { Failure, Outcome } from '../outcome.js';
import type { SmtpReply } from '../native.js';
import type { EtrnRoute, SmtpdLog } from './types.js';

export interface EtrnTarget {
  readonly host: string;
  readonly port: number;
}

/** What a flush reports (ts/flush's FlushReport, as far as it is logged here). */
export interface EtrnFlushReport {
  readonly sent: number;
  readonly temp: number;
  readonly perm: number;
  readonly untried: number;
}

export interface EtrnDeps {
  /** The passive queue of a domain: perm when it has none, else how many messages wait. */
  readonly passive: (domain: string) => Promise<Outcome<{ readonly waiting: number }>>;
  /** Sends the domain's passive queue to the target (ts/flush's flushDomain). */
  readonly flush: (domain: string, target: EtrnTarget) => Promise<Outcome<EtrnFlushReport>>;
}

export interface EtrnRequest {
  readonly domain: string;
  /** The client's IP as the socket reports it. */
  readonly ip: string;
  readonly relayClient: boolean;
  readonly user: string | undefined;
}

export interface Etrn {
  decide(request: EtrnRequest, routes: readonly EtrnRoute[]): Promise<SmtpReply>;
  settle(): Promise<void>;
}

interface Running {
  again: boolean;
  target: EtrnTarget;
  done: Promise<void>;
}

const reply = (code: number, status: string, text: string): SmtpReply => ({ code, status, text });

/** The client's address as a flush target: IPv4-mapped IPv6 is taken as the IPv4 address. */
function clientTarget(ip: string, port: number): EtrnTarget | undefined {
  const host = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] ?? ip;
  return isIP(host) === 0 ? undefined : { host, port };
}

export function createEtrn(deps: EtrnDeps, log?: SmtpdLog): Etrn {
  const running = new Map<string, Running>();

  const run = async (domain: string, state: Running): Promise<void> => {
    // Let the reply leave first: the flush opens its own connection to the client.
    await new Promise((r) => setImmediate(r));
    try {
      do {
        state.again = false;
        await flushOnce(deps, domain, state.target, log);
      } while (state.again);
    } finally {
      running.delete(domain);
    }
  };

  const start = (domain: string, target: EtrnTarget): void => {
    const state: Running = { again: false, target, done: Promise.resolve() };
    running.set(domain, state);
    state.done = run(domain, state);
  };

  const decide = async (r: EtrnRequest, routes: readonly EtrnRoute[]): Promise<SmtpReply> => {
    const d = r.domain;
    if (!r.relayClient && r.user === undefined) return reply(530, '5.7.0', 'authentication required for ETRN');
    const route = routes.find((x) => x.domain === d);
    if (!route) return reply(459, '4.7.1', `Node ${d} not allowed: not a passive domain here`);
    const q = await deps.passive(d);
    if (q.kind !== 'ok') return unavailable(d, q, log);
    const target = route.host !== undefined ? { host: route.host, port: route.port } : clientTarget(r.ip, route.port);
    if (!target) return reply(458, '4.3.0', `Unable to queue messages for node ${d}: client address unknown`);
    const waiting = q.value.waiting;
    if (waiting === 0) return reply(251, '2.0.0', `OK, no messages waiting for node ${d}`);
    const current = running.get(d);
    if (current) {
      [current.again, current.target] = [true, target];
      return reply(253, '2.0.0', `OK, ${waiting} pending messages for node ${d} started`);
    }
    start(d, target);
    log?.info({ event: 'etrn', domain: d, target: `${target.host}:${target.port}`, waiting, ip: r.ip, user: r.user }, 'etrn: flush started');
    return reply(250, '2.0.0', `OK, queuing for node ${d} started`);
  };

  const settle = async (): Promise<void> => {
    while (running.size > 0) await Promise.all([...running.values()].map((s) => s.done));
  };

  return { decide, settle };
}

/** No passive queue (perm) -> 459; the queue cannot be read (temp) -> 458. */
function unavailable(d: string, f: Failure, log?: SmtpdLog): SmtpReply {
  const where = { event: 'etrn', domain: d, status: f.status, reason: f.text };
  if (f.kind === 'perm') {
    log?.warn(where, 'etrn: domain in etrnroutes has no passive queue');
    return reply(459, '4.7.1', `Node ${d} not allowed: no passive queue`);
  }
  log?.error(where, 'etrn: passive queue unreadable');
  return reply(458, '4.3.0', `Unable to queue messages for node ${d}`);
}

async function flushOnce(deps: EtrnDeps, domain: string, target: EtrnTarget, log?: SmtpdLog): Promise<void> {
  const where = { event: 'etrn', domain, target: `${target.host}:${target.port}` };
  try {
    const r = await deps.flush(domain, target);
    if (r.kind !== 'ok') return log?.warn({ ...where, status: r.status, reason: r.text }, 'etrn: flush failed');
    const { sent, temp, perm, untried } = r.value;
    log?.info({ ...where, sent, temp, perm, untried }, 'etrn: flush done');
  } catch (err) {
    log?.error({ ...where, err: (err as Error).message }, 'etrn: flush threw');
  }
}
