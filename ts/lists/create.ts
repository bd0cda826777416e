// Creating a list and managing its subscribers by hand (`qmta list create|add|del|show`).
//
// createList writes the state (lists/NAME/) and four .qmail files into the owner's home:
//   .qmail-NAME                 |<qmta> list post NAME      posts go to the subscribers
//   .qmail-NAME-owner           &OWNER                      the owner's address
//   .qmail-NAME-return-default  |<qmta> list bounce NAME    VERP bounces counted
//   .qmail-NAME-default         |<qmta> list request NAME   subscribe/unsubscribe/confirm/help
// where <qmta> is the command that runs this qmta with this home, so the lines work
// whatever the delivering process's PATH and environment are.
//
// Interface: createList(opts) -> Outcome<ListConfig>; addSubscribers / delSubscribers
// (state, addresses) -> Outcome<string[]> (the list afterwards).
// Failures: a bad name or address -> perm 5.1.3; an existing list -> perm 5.1.3; I/O -> temp.

import { randomBytes } from 'node:crypto';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, perm, type Outcome } from '../outcome.js';
import { changeSubscribers, listState, normalizeAddress, writeConfig, type ListConfig, type ListState } from './store.js';

export interface CreateListOptions {
  readonly dir: string;
  readonly name: string;
  readonly address: string;
  readonly owner: string;
  /** The command line prefix that runs qmta on this home (quoted for /bin/sh). */
  readonly invoke: string;
  readonly bounceLimit?: number;
  readonly bounceDays?: number;
  /** RFC 8058 one-click unsubscription endpoint (https:). */
  readonly oneClickUrl?: string;
}

/** Quotes a word for /bin/sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Creates list NAME in opts.dir. */
export async function createList(o: CreateListOptions): Promise<Outcome<ListConfig>> {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(o.name)) return perm('5.1.3', `bad list name "${o.name}" (lower-case letters, digits, . _ -)`);
  const address = normalizeAddress(o.address);
  const owner = normalizeAddress(o.owner);
  if (!address || !owner) return perm('5.1.3', 'bad list or owner address');
  const s = listState(o.dir, o.name);
  if (await access(join(s.root, 'config.json')).then(() => true, () => false)) return perm('5.1.3', `list ${o.name} exists`);
  if (o.oneClickUrl !== undefined && !/^https:\/\/[^\s]+$/.test(o.oneClickUrl)) return perm('5.1.3', 'the one-click URL must be https://...');
  const oneClick = o.oneClickUrl === undefined ? {} : { oneClickUrl: o.oneClickUrl, secret: randomBytes(32).toString('hex') };
  const cfg: ListConfig = { name: o.name, address, owner, bounceLimit: o.bounceLimit ?? 3, bounceDays: o.bounceDays ?? 10, ...oneClick };
  const w = await writeConfig(s, cfg);
  if (w.kind !== 'ok') return w;
  const run = (what: string) => `|${o.invoke} list ${what} ${shellQuote(o.name)} --dir ${shellQuote(o.dir)}\n`;
  const files: Record<string, string> = {
    [`.qmail-${o.name}`]: run('post'),
    [`.qmail-${o.name}-owner`]: `&${owner}\n`,
    [`.qmail-${o.name}-return-default`]: run('bounce'),
    [`.qmail-${o.name}-default`]: run('request'),
  };
  for (const [file, text] of Object.entries(files)) await writeFile(join(o.dir, file), text, { mode: 0o644 });
  const subs = await changeSubscribers(s, () => []);
  return subs.kind === 'ok' ? ok(cfg) : subs;
}

function validated(addresses: readonly string[]): Outcome<string[]> {
  const out: string[] = [];
  for (const a of addresses) {
    const n = normalizeAddress(a);
    if (n === undefined) return perm('5.1.3', `bad address "${a}"`);
    out.push(n);
  }
  return ok(out);
}

/** Adds addresses (no confirmation: the owner's own act). */
export async function addSubscribers(s: ListState, addresses: readonly string[]): Promise<Outcome<string[]>> {
  const v = validated(addresses);
  if (v.kind !== 'ok') return v;
  return changeSubscribers(s, (cur) => [...cur, ...v.value.filter((a, i) => !cur.includes(a) && v.value.indexOf(a) === i)]);
}

/** Removes addresses. */
export async function delSubscribers(s: ListState, addresses: readonly string[]): Promise<Outcome<string[]>> {
  const v = validated(addresses);
  if (v.kind !== 'ok') return v;
  return changeSubscribers(s, (cur) => cur.filter((a) => !v.value.includes(a)));
}
