// qmta's configuration: every control/ file in one typed, validated Config object.
//
// Interface:
//   loadConfig(home, overrides?) -> Promise<Outcome<Config>>   (async: reads all files at once)
//   openConfig(home, overrides?) -> Promise<Outcome<ConfigStore>>  current() / reload() for SIGHUP
//   controlTable() -> rows of name, area, kind, default, meaning (documentation, showctl)
// Overrides use the control file names (the embedding API's `control: {...}`): a string is
// taken as the file's text, a number or boolean as its first line, an array as its lines;
// an override is parsed and validated exactly like the file it replaces.
// Failures: unreadable file -> temp 4.3.0; bad value -> temp 4.3.5 "control/NAME line N: ...";
// unknown override name -> temp 4.3.5. (Temporary: an admin fixes configuration; mail waits.)
// Guarantee: `me`, `locals` and `virtualdomains` are resolved first, so defaults may use them.

import { resolve } from 'node:path';
import { ok, temp, type Outcome } from '../outcome.js';
import type { DefaultContext, KeySpec } from './key.js';
import { authKeys } from './keys/auth.js';
import { coreKeys } from './keys/core.js';
import { injectKeys } from './keys/inject.js';
import { opsKeys } from './keys/ops.js';
import { pop3Keys } from './keys/pop3.js';
import { privilegeKeys } from './keys/privilege.js';
import { remoteKeys } from './keys/remote.js';
import { sendKeys } from './keys/send.js';
import { smtpdKeys } from './keys/smtpd.js';
import { readControl } from './read.js';

/** Each area's table; a new area adds one entry here. */
const AREAS = {
  core: coreKeys, send: sendKeys, smtpd: smtpdKeys, remote: remoteKeys, pop3: pop3Keys, inject: injectKeys, ops: opsKeys,
  auth: authKeys, privilege: privilegeKeys,
} as const;

const KEYS = { ...coreKeys, ...sendKeys, ...smtpdKeys, ...remoteKeys, ...pop3Keys, ...injectKeys, ...opsKeys, ...authKeys, ...privilegeKeys };

/** The name of a control file qmta reads (README: "Configuration: control/"). */
export type ControlName = keyof typeof KEYS;
type ValueOf<S> = S extends KeySpec<infer T> ? T : never;

/** Every control setting, typed; `home` is the absolute home directory. */
export type Config = { readonly home: string } & { readonly [K in ControlName]: ValueOf<(typeof KEYS)[K]> };

/** A control file's content given as a value: a one-line file's line, a number, a flag, or a list's lines. */
export type OverrideValue = string | number | boolean | readonly string[];
/** Control file values by name, taking the place of the files in control/. */
export type ControlOverrides = { readonly [K in ControlName]?: OverrideValue };

export type { ListenAddress, Network, RemoteAuth, SmtpRoute, VirtualDomain } from './values.js';
export { networkMatcher } from './network.js';

/** Reads and validates every control file of `home`, with `overrides` taking their place. */
export async function loadConfig(home: string, overrides: ControlOverrides = {}): Promise<Outcome<Config>> {
  const abs = resolve(home);
  const unknown = Object.keys(overrides).find((k) => !(k in KEYS));
  if (unknown !== undefined) return temp('4.3.5', `unknown control override "${unknown}"`);
  const names = Object.keys(KEYS) as ControlName[];
  const lines = await Promise.all(names.map((n) => sourceLines(abs, n, overrides[n])));
  const sources = new Map<ControlName, Source>();
  for (const [i, n] of names.entries()) {
    const got = lines[i]!;
    if (got.kind !== 'ok') return got;
    sources.set(n, got.value);
  }
  return build(abs, names, sources);
}

/** Where a value comes from: the file's lines or an override's, or nothing (default). */
interface Source {
  readonly lines: readonly string[] | undefined;
  readonly label: string;
}

async function sourceLines(home: string, name: ControlName, o: OverrideValue | undefined): Promise<Outcome<Source>> {
  if (o !== undefined) return ok({ lines: overrideLines(o), label: `control override ${name}` });
  const r = await readControl(home, name);
  return r.kind === 'ok' ? ok({ lines: r.value, label: `control/${name}` }) : r;
}

function overrideLines(o: OverrideValue): readonly string[] {
  if (typeof o === 'string') return o.split('\n');
  if (typeof o === 'number') return [String(o)];
  if (typeof o === 'boolean') return [o ? '1' : '0'];
  return o;
}

function build(home: string, names: ControlName[], sources: Map<ControlName, Source>): Outcome<Config> {
  const out: Record<string, unknown> = { home };
  let ctx: DefaultContext = { home, me: '', locals: [], virtualdomains: [] };
  const first: ControlName[] = ['me', 'locals', 'virtualdomains'];
  const order: ControlName[] = [...first, ...names.filter((n) => !first.includes(n))];
  for (const name of order) {
    const v = valueOf(KEYS[name] as KeySpec<unknown>, sources.get(name)!, ctx);
    if (v.kind !== 'ok') return v;
    out[name] = v.value;
    if (name === 'me') ctx = { ...ctx, me: v.value as string };
    if (name === 'locals') ctx = { ...ctx, locals: v.value as string[] };
    if (name === 'virtualdomains') ctx = { ...ctx, virtualdomains: v.value as DefaultContext['virtualdomains'] };
  }
  return ok(out as Config);
}

function valueOf(spec: KeySpec<unknown>, src: Source, ctx: DefaultContext): Outcome<unknown> {
  if (src.lines === undefined) return ok(spec.fallback(ctx));
  const p = spec.parse(src.lines, ctx);
  if ('reason' in p) return temp('4.3.5', `${src.label}: ${p.reason}`);
  return ok(p.value);
}

export interface ControlRow {
  readonly name: string;
  readonly area: string;
  readonly kind: string;
  readonly default: string;
  readonly meaning: string;
}

/** The table of every control file qmta reads, for documentation and `qmta showctl`-style output. */
export function controlTable(): ControlRow[] {
  return Object.entries(AREAS).flatMap(([area, keys]) =>
    Object.entries(keys as Record<string, KeySpec<unknown>>).map(([name, spec]) => ({
      name, area, kind: spec.kind, default: spec.defaultText, meaning: spec.meaning,
    })));
}

/** A loaded configuration that can be reloaded in place (SIGHUP). */
export interface ConfigStore {
  /** The configuration in force. */
  current(): Config;
  /** Rereads control/; on failure the old configuration stays in force and the failure is returned. */
  reload(): Promise<Outcome<Config>>;
  /** Calls `fn` after every successful reload; returns an unsubscribe function. */
  onReload(fn: (c: Config) => void): () => void;
}

/** Loads the configuration once and returns a store whose reload() rereads it. */
export async function openConfig(home: string, overrides: ControlOverrides = {}): Promise<Outcome<ConfigStore>> {
  const first = await loadConfig(home, overrides);
  if (first.kind !== 'ok') return first;
  let config = first.value;
  const listeners = new Set<(c: Config) => void>();
  return ok({
    current: () => config,
    reload: async () => {
      const next = await loadConfig(home, overrides);
      if (next.kind !== 'ok') return next;
      config = next.value;
      for (const fn of listeners) fn(config);
      return next;
    },
    onReload: (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  });
}
