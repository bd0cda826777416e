// The passive queue of a dial-up style domain (serialmail's role). Mail for the domain is
// delivered into a maildir by ordinary local delivery; `qmta flush` (or, later, ETRN)
// sends it on to the host that has come online.
//
// Setup (qmail's, as serialmail's documentation has it, with qmta's alias user):
//   control/virtualdomains   dialup.example:dialup
//   alias/.qmail-dialup-default   ./dialup/Maildir/
// so joe@dialup.example is delivered to HOME/alias/dialup/Maildir/ with the line
// "Delivered-To: dialup-joe@dialup.example" on top.
//
// Interface: flushDomain(home, domain, target, options?) -> Promise<Outcome<FlushReport>>;
// passiveQueue(home, domain, options?) -> Promise<Outcome<PassiveQueue>> (is the domain
// passive, where is its maildir, how many messages wait: what ETRN answers 459/251/253 from).
// The prefix defaults to the domain's virtualdomains prepend + "-", the maildir to
// HOME/alias/<prepend>/Maildir/; options.prefix / options.maildir override them (then
// no virtualdomains entry is needed). target is "HOST:PORT" or a parsed Target.
// Failures: control/ unreadable -> its failure; a bad target -> perm 5.3.5; no
// virtualdomains entry for the domain and no prefix+maildir given -> perm 5.1.2; the
// maildir already being flushed -> temp 4.3.0; per-message results are in the report
// (send.ts), never a rejection.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openConfig, type Config } from '../config/index.js';
import { remoteSettings } from '../daemon/wiring.js';
import { isFailure, ok, perm, type Outcome } from '../outcome.js';
import type { RemoteLog } from '../remote/index.js';
import { lockMaildir } from './lock.js';
import { flushMaildir, type FlushReport } from './send.js';
import { parseTarget, type Target } from './target.js';

export type { FlushLine, FlushReport } from './send.js';
export type { Target } from './target.js';

export interface FlushOptions {
  readonly maildir?: string;
  readonly prefix?: string;
  readonly log?: RemoteLog;
}

interface Place {
  readonly maildir: string;
  readonly prefix: string;
}

function placeOf(home: string, domain: string, vds: readonly { key: string; prepend: string }[], o: FlushOptions): Outcome<Place> {
  const vd = vds.find((v) => v.key === domain && v.prepend !== '');
  if (o.maildir !== undefined && o.prefix !== undefined) return ok({ maildir: o.maildir, prefix: o.prefix });
  if (!vd) return perm('5.1.2', `${domain} has no control/virtualdomains entry (give --maildir and --prefix)`);
  return ok({ maildir: o.maildir ?? join(home, 'alias', vd.prepend, 'Maildir'), prefix: o.prefix ?? `${vd.prepend}-` });
}

export interface PassiveQueue extends Place {
  readonly domain: string;
  /** Messages in new/ and cur/ now (0 when the maildir does not exist). */
  readonly waiting: number;
  readonly config: Config;
}

function countWaiting(maildir: string): number {
  const count = (sub: string) => {
    try {
      return readdirSync(join(maildir, sub)).filter((n) => !n.startsWith('.')).length;
    } catch {
      return 0;
    }
  };
  return count('new') + count('cur');
}

/** The passive queue of `domain`: perm 5.1.2 when the domain has none. */
export async function passiveQueue(home: string, domain: string, options: FlushOptions = {}): Promise<Outcome<PassiveQueue>> {
  const config = await openConfig(home);
  if (isFailure(config)) return config;
  const c = config.value.current();
  const d = domain.toLowerCase();
  const place = placeOf(c.home, d, c.virtualdomains, options);
  if (isFailure(place)) return place;
  return ok({ ...place.value, domain: d, waiting: countWaiting(place.value.maildir), config: c });
}

/** Sends everything waiting in `domain`'s passive queue to `target`. */
export async function flushDomain(home: string, domain: string, target: string | Target, options: FlushOptions = {}): Promise<Outcome<FlushReport>> {
  const peer = typeof target === 'string' ? parseTarget(target) : ok(target);
  if (isFailure(peer)) return peer;
  const q = await passiveQueue(home, domain, options);
  if (isFailure(q)) return q;
  const { config: c, maildir, prefix, domain: d } = q.value;
  // Nothing ever delivered: nothing waits (the maildir is made before the first delivery).
  if (!existsSync(maildir)) return ok({ sent: 0, temp: 0, perm: 0, untried: 0, lines: [] });
  const unlock = lockMaildir(maildir);
  if (isFailure(unlock)) return unlock;
  try {
    const spec = { maildir, prefix, domain: d, target: peer.value, settings: remoteSettings(c, c.home) };
    return await flushMaildir(spec, options.log ? { log: options.log } : {});
  } finally {
    unlock.value();
  }
}
