// The wire binding's contract: chunks of at most `max` bytes whose concatenation is the
// CR LF, dot-stuffed, dot-terminated message; size without stuffing; failures as values.

import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWireStream, wireSize } from '../../ts/native.js';
import { tempDir } from '../helpers/home.js';

function readAll(path: string, max: number, opts = {}): Buffer {
  const s = openWireStream(path, opts);
  if (s.kind !== 'ok') throw new Error(s.text);
  const parts: Buffer[] = [];
  for (;;) {
    const r = s.value.read(max);
    if (r.kind !== 'ok') throw new Error(r.text);
    if (r.value === null) break;
    if (r.value.length > max) throw new Error(`chunk of ${r.value.length} > ${max}`);
    parts.push(r.value);
  }
  return Buffer.concat(parts);
}

test('bare LF, CR LF and bare CR all leave as one CR LF, dots stuffed, terminator added', (t) => {
  const path = join(tempDir(t), 'msg');
  writeFileSync(path, 'Subject: x\n\n.dot\r\nbare\rcr\nlast');
  const expected = 'Subject: x\r\n\r\n..dot\r\nbare\r\ncr\r\nlast\r\n.\r\n';
  for (const max of [1, 3, 7, 65536]) t.is(readAll(path, max).toString(), expected, `max ${max}`);
  t.deepEqual(wireSize(path), { kind: 'ok', value: expected.length - 1 - 3 });
});

test('TOP and prefix options', (t) => {
  const path = join(tempDir(t), 'msg');
  writeFileSync(path, 'A: 1\n\nl1\nl2\n');
  t.is(readAll(path, 100, { bodyLines: 1, prefix: Buffer.from('P: 0\n') }).toString(), 'P: 0\r\nA: 1\r\n\r\nl1\r\n.\r\n');
});

test('a missing file is a temporary failure value', (t) => {
  const r = openWireStream(join(tempDir(t), 'nope'));
  t.is(r.kind, 'temp');
  if (r.kind === 'temp') t.regex(r.text, /^opening message: /);
  t.is(wireSize(join(tempDir(t), 'nope')).kind, 'temp');
});

/** The wire encoding computed line by line in JS, independently of crates/wire. */
function model(input: Buffer, bodyLines?: number): Buffer {
  const lines: string[] = [];
  let cur = '';
  const s = input.toString('latin1');
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\r' || c === '\n') {
      lines.push(cur);
      cur = '';
      if (c === '\r' && s[i + 1] === '\n') i++;
    } else cur += c;
  }
  if (cur !== '') lines.push(cur);
  if (bodyLines !== undefined) {
    const blank = lines.indexOf('');
    lines.length = Math.min(lines.length, (blank < 0 ? lines.length : blank + 1) + bodyLines);
  }
  return Buffer.from(`${lines.map((l) => `${l.startsWith('.') ? '.' : ''}${l}\r\n`).join('')}.\r\n`, 'latin1');
}

test('property: any bytes, any chunk size, with or without TOP, match the JS model', async (t) => {
  const fc = await import('fast-check');
  const dir = tempDir(t);
  let n = 0;
  fc.assert(fc.property(
    fc.array(fc.constantFrom(...'.\r\na\u00ff'.split('')), { maxLength: 60 }),
    fc.integer({ min: 1, max: 9 }),
    fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    (chars, max, bodyLines) => {
      const body = Buffer.from(chars.join(''), 'latin1');
      const path = join(dir, `m${n++}`);
      writeFileSync(path, body);
      const got = readAll(path, max, bodyLines === undefined ? {} : { bodyLines });
      return got.equals(model(body, bodyLines));
    },
  ), { numRuns: 300 });
  t.pass();
});
