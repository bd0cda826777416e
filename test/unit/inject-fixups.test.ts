// Header fixups against a table of input/expected messages (test/fixtures/inject/*.txt).
// Each fixture: a JSON line {"args": [...], "env": {...}, "input": "noeol"|"crlf", "mft": [...]}
// (mft: the QMAILMFTFILE list), then
// "=== input", "=== output" (what `qmta inject -n` prints: Return-Path, header, body) and
// "=== recipients" sections, or "=== error" with "<kind> <status> <text>".
// Fixed settings: defaulthost silverton, defaultdomain berkeley.edu, plusdomain
// berkeley.edu, idhost id.example, locals silverton.berkeley.edu, time 26 Sep 1995 04:46:53 UTC, pid 4242.

import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { fixupHeader } from '../../ts/inject/fixup.js';
import { controlsFromEnv, identityFromEnv } from '../../ts/inject/identity.js';
import { DEFAULT_MAX_HEADER_BYTES, injectStream } from '../../ts/inject/inject.js';
import { parseInjectArgs } from '../../ts/inject/options.js';

const DIR = new URL('../../../test/fixtures/inject/', import.meta.url);
const CONTROLS = { defaulthost: 'silverton', defaultdomain: 'berkeley.edu', plusdomain: 'berkeley.edu', idhost: 'id.example',
  locals: ['silverton.berkeley.edu'] };
const NOW = Date.UTC(1995, 8, 26, 4, 46, 53);

interface Fixture {
  readonly args: string[];
  readonly env: Record<string, string>;
  readonly input: Buffer;
  readonly output?: string;
  readonly recipients?: string[];
  readonly error?: string;
  readonly mft?: string[];
}

const utf8 = (latin1: string): string => Buffer.from(latin1, 'latin1').toString('utf8');

/** Splits a fixture on its "=== name" lines; bytes are kept (latin1); the JSON line and the
 * recipients (JS text, as the queue takes them) are UTF-8. */
function loadFixture(name: string): Fixture {
  const text = readFileSync(new URL(name, DIR)).toString('latin1');
  const [meta, ...rest] = text.split(/^=== /m);
  const opts = JSON.parse(utf8(meta ?? '')) as { args?: string[]; env?: Record<string, string>; input?: string; mft?: string[] };
  const sections: Record<string, string> = {};
  for (const s of rest) {
    const nl = s.indexOf('\n');
    sections[s.slice(0, nl).trim()] = s.slice(nl + 1);
  }
  let input = sections['input'] ?? '';
  if (opts.input === 'noeol') input = input.replace(/\n$/, '');
  if (opts.input === 'crlf') input = input.replace(/\n/g, '\r\n');
  return {
    args: opts.args ?? [],
    env: opts.env ?? { USER: 'joe' },
    input: Buffer.from(input, 'latin1'),
    output: sections['output'],
    recipients: sections['recipients'] === undefined ? undefined : utf8(sections['recipients']).split('\n').filter((l) => l !== ''),
    error: sections['error']?.trim(),
    mft: opts.mft,
  };
}

async function run(f: Fixture): Promise<{ printed: string; result: string; recipients: readonly string[] }> {
  const parsed = parseInjectArgs(f.args);
  if (parsed.kind !== 'ok') return { printed: '', result: `${parsed.kind} ${parsed.status} ${parsed.text}`, recipients: [] };
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const ctx = {
    identity: identityFromEnv(f.env), controls: controlsFromEnv(CONTROLS, f.env),
    mft: f.mft, nowMs: NOW, pid: 4242, idTag: '4242',
    maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
  };
  const r = await injectStream(Readable.from([f.input]), parsed.value.request, ctx, { kind: 'print', out });
  const printed = Buffer.concat(chunks).toString('latin1');
  if (r.kind !== 'ok') return { printed, result: `${r.kind} ${r.status} ${r.text}`, recipients: [] };
  return { printed, result: 'ok', recipients: r.value.recipients };
}

for (const name of readdirSync(DIR).filter((n) => n.endsWith('.txt')).sort()) {
  test(`fixup ${name}`, async (t) => {
    const f = loadFixture(name);
    const r = await run(f);
    if (f.error !== undefined) {
      t.is(r.result, f.error);
      return;
    }
    t.is(r.result, 'ok');
    t.is(r.printed, f.output ?? '');
    t.deepEqual(r.recipients, f.recipients ?? []);
  });
}

test('fixupHeader is pure: same input, same output', (t) => {
  const input = {
    fields: ['To: a, b@c\n'], args: [], strategy: 'default' as const, identity: identityFromEnv({}),
    controls: CONTROLS, nowMs: NOW, pid: 1, idTag: '1',
  };
  t.deepEqual(fixupHeader(input), fixupHeader(input));
});
