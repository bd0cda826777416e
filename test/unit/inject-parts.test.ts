// The pieces under qmail-inject's fixup: RFC 822 tokens, address completion, the header/body
// splitter with its bounds, getopt, and the environment identity.

import test from 'ava';
import { Readable } from 'node:stream';
import { rewriteAddressList } from '../../ts/inject/addrlist.js';
import { completeAddress, parseCompletion } from '../../ts/inject/complete.js';
import { fieldName, isValidField } from '../../ts/inject/fields.js';
import { getopt } from '../../ts/inject/getopt.js';
import { controlsFromEnv, identityFromEnv } from '../../ts/inject/identity.js';
import { quoteAddress } from '../../ts/inject/quote.js';
import { bodyChunks, normalizeBody, readHeaderSection } from '../../ts/inject/split.js';
import { tokenize, unparse, unquote } from '../../ts/inject/token822.js';

const SILVERTON = { defaulthost: 'silverton', defaultdomain: 'berkeley.edu', plusdomain: 'berkeley.edu',
  locals: ['silverton.berkeley.edu'] };

function complete(addr: string, settings = SILVERTON): string {
  const c = parseCompletion(settings);
  if (c.kind !== 'ok') throw new Error('completion');
  const tokens = tokenize(addr);
  if (!tokens) throw new Error(`no tokens: ${addr}`);
  return unquote(completeAddress(tokens, c.value));
}

async function collect(g: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of g) parts.push(c);
  return Buffer.concat(parts).toString('latin1');
}

function source(...chunks: string[]): AsyncIterator<Uint8Array> {
  return Readable.from(chunks.map((c) => Buffer.from(c, 'latin1')))[Symbol.asyncIterator]();
}

test('tokenize: comments drop nested parentheses, quotes unescape, bad input fails', (t) => {
  t.deepEqual(tokenize('(a (b) c) "x\\"y" [1.2]'), [
    { type: 'comment', text: 'a b c' }, { type: 'quote', text: 'x"y' }, { type: 'literal', text: '1.2' },
  ]);
  t.is(tokenize(') a'), undefined);
  t.deepEqual(tokenize('a)'), [{ type: 'quote', text: 'a)' }]);
  t.is(tokenize('"open'), undefined);
  t.is(tokenize('[1.2'), undefined);
  t.is(tokenize('(x\\'), undefined);
  t.deepEqual(tokenize('J\xf6rg')?.[0], { type: 'quote', text: 'J\xf6rg' });
});

test('unparse: spaces, quoting and folding after commas at 80 columns', (t) => {
  const tokens = tokenize('To: "A B" <a@b>, c@d (x)');
  t.truthy(tokens);
  t.is(unparse(tokens ?? [], 80), 'To: "A B" <a@b>, c@d (x)\n');
  const many = tokenize('To: ' + Array.from({ length: 30 }, (_, i) => `u${i}@example.com`).join(','));
  const text = unparse(many ?? [], 80);
  for (const line of text.split('\n')) t.true(line.length <= 80, line);
  t.true(text.includes(',\n  u'));
  t.is(unparse(many ?? [], 0).split('\n').length, 2);
});

test('address lists: groups, angle addresses, old-style lists, failures', (t) => {
  const seen: string[] = [];
  const r = rewriteAddressList(tokenize('To: g: a, b;, "N" <c@d> e@f g@h') ?? [], (a) => {
    seen.push(unquote(a));
    return a;
  });
  t.truthy(r);
  t.deepEqual([...seen].reverse(), ['a', 'b', 'c@d', 'e@f', 'g@h']);
  t.is(unparse(r ?? [], 80), 'To: g: a, b;, "N" <c@d>, e@f, g@h\n');
  t.is(rewriteAddressList(tokenize('To: a:b') ?? [], (a) => a), undefined);
  t.is(rewriteAddressList(tokenize('To: a;b;') ?? [], (a) => a), undefined);
  t.is(rewriteAddressList(tokenize('To: c@d>') ?? [], (a) => a), undefined);
});

test('address completion follows qmail-inject', (t) => {
  t.is(complete('djb'), 'djb@silverton.berkeley.edu');
  t.is(complete('djb@silverton'), 'djb@silverton.berkeley.edu');
  t.is(complete('eric@mammoth.cs+'), 'eric@mammoth.cs.berkeley.edu');
  t.is(complete('x@[192.0.2.1]'), 'x@[192.0.2.1]');
  t.is(complete('x@[]'), 'x@[]');
  t.is(complete('@a,@b:u@h.example'), 'u@h.example');
  t.is(complete('@a'), '');
  t.is(complete('u@h.example.'), 'u@h.example');
  t.is(complete('u@'), 'u@silverton.berkeley.edu');
  t.is(complete('"a b"@h.example'), 'a b@h.example');
});

test('address completion never qualifies localhost or a dotless locals name', (t) => {
  t.is(complete('joe@localhost'), 'joe@localhost');
  t.is(complete('joe@LocalHost'), 'joe@LocalHost');
  t.is(complete('joe@localhost+'), 'joe@localhost.berkeley.edu', 'a trailing + is still plusdomain');
  const box = { defaulthost: 'box', defaultdomain: 'localdomain', plusdomain: 'box', locals: ['localhost', 'box'] };
  t.is(complete('joe', box), 'joe@box');
  t.is(complete('joe@BOX', box), 'joe@BOX');
  t.is(complete('joe@localhost', box), 'joe@localhost');
  t.is(complete('joe@other', box), 'joe@other.localdomain', 'a real host name is qualified as qmail does');
  t.is(complete('joe@box.', box), 'joe@box');
});

test('quoteAddress quotes only the local part, only when needed', (t) => {
  t.is(quoteAddress('a.b@c'), 'a.b@c');
  t.is(quoteAddress('a b@c@d'), '"a b@c"@d');
  t.is(quoteAddress('.a@c'), '".a"@c');
  t.is(quoteAddress('a..b'), '"a..b"');
  t.is(quoteAddress(''), '');
  t.is(quoteAddress('a..b@c'), '"a..b"@c');
  t.is(quoteAddress('jürgen.müller@bücher.example'), 'jürgen.müller@bücher.example', 'RFC 6532: UTF-8 is atext');
  t.is(quoteAddress('j\xc3\xbcrgen@x'), 'j\xc3\xbcrgen@x', 'binary text of UTF-8 likewise');
  t.is(quoteAddress('jürgen müller@x'), '"jürgen müller"@x');
  t.is(quoteAddress('a"b\\c@x'), '"a\\"b\\\\c"@x');
});

test('field names: case-insensitive, blanks before the colon, 8-bit names invalid', (t) => {
  t.is(fieldName('tO : x\n'), 'to');
  t.is(fieldName('To-X: y\n'), undefined);
  t.true(isValidField('X-A-B: c\n'));
  t.false(isValidField('Subj\xe9ct: c\n'));
  t.false(isValidField(': c\n'));
  t.false(isValidField('no colon\n'));
  t.false(isValidField('a b: c\n'));
});

test('header split: a 1 MB field queues; a header past the bound is refused perm 5.3.4', async (t) => {
  const big = 'X-Big: ' + 'a'.repeat(1024 * 1024) + '\n';
  const chunks = big.match(/[\s\S]{1,65536}/g) ?? [];
  const r = await readHeaderSection(source(...chunks, '\nbody\n'), 8 * 1024 * 1024);
  if (r.kind !== 'ok') return t.fail(r.text);
  t.is(r.value.fields.length, 1);
  t.is(r.value.fields[0]?.length, big.length);
  t.is(await collect(bodyChunks(r.value)), '\nbody\n');
  const tooBig = await readHeaderSection(source(...chunks, '\nbody\n'), 512 * 1024);
  t.like(tooBig, { kind: 'perm', status: '5.3.4' });
});

test('header split: continuation across chunks, blank line, CR LF', async (t) => {
  const r = await readHeaderSection(source('To: a,\r', '\n b\r\nSubj', 'ect: x\r\n\r\nbo', 'dy\r', '\n'), 1000);
  if (r.kind !== 'ok') return t.fail(r.text);
  t.deepEqual(r.value.fields, ['To: a,\n b\n', 'Subject: x\n']);
  t.is(r.value.end, 'blank');
  t.is(await collect(bodyChunks(r.value)), '\nbody\n');
});

test('header split: empty input has no header and no body', async (t) => {
  const r = await readHeaderSection(source(), 1000);
  if (r.kind !== 'ok') return t.fail(r.text);
  t.deepEqual(r.value.fields, []);
  t.is(r.value.end, 'eof');
  t.is(await collect(bodyChunks(r.value)), '');
});

test('body normalization: CR LF split across chunks, lone CR kept, last line completed', async (t) => {
  const src = async function* (): AsyncGenerator<Buffer> {
    for (const s of ['a\r', '\nb\rc\r', '\r\n', 'end']) yield Buffer.from(s);
  };
  t.is(await collect(normalizeBody(src())), 'a\nb\rc\r\nend\n');
});

test('body streams through: a 64 MB body is never held whole', async (t) => {
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  chunk[chunk.length - 1] = 0x0a;
  async function* input(): AsyncGenerator<Buffer> {
    yield Buffer.from('To: a@b\n\n');
    for (let i = 0; i < 64; i++) yield chunk;
  }
  const r = await readHeaderSection(input()[Symbol.asyncIterator](), 1000);
  if (r.kind !== 'ok') return t.fail(r.text);
  const before = process.memoryUsage().arrayBuffers;
  let total = 0;
  let peak = 0;
  for await (const c of bodyChunks(r.value)) {
    total += c.length;
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
  }
  t.is(total, 64 * 1024 * 1024 + 1);
  t.true(peak < 32 * 1024 * 1024, `peak ${peak}`);
});

test('getopt: clusters, attached and separate arguments, --, unknown letters', (t) => {
  const spec = { t: 'flag', i: 'flag', f: 'arg', E: 'attached' } as const;
  t.deepEqual(getopt(['-ti', '-fme', '-f', 'you', '-Ex', 'r1', '-t'], spec), {
    options: [['t', ''], ['i', ''], ['f', 'me'], ['f', 'you'], ['E', 'x']], rest: ['r1', '-t'],
  });
  t.deepEqual(getopt(['-t', '--', '-i'], spec), { options: [['t', '']], rest: ['-i'] });
  t.deepEqual(getopt(['-z'], spec), { bad: 'z' });
  t.deepEqual(getopt(['-f'], spec), { bad: 'f' });
});

test('identity: qmail precedence of the masquerading variables', (t) => {
  const id = identityFromEnv({ QMAILUSER: 'q', MAILUSER: 'm', USER: 'u', MAILHOST: 'mh', NAME: 'n', QMAILINJECT: 'crxz' });
  t.like(id, { user: 'q', host: 'mh', name: 'n', senderUser: 'q', senderHost: 'mh' });
  t.like(id.flags, { nameComment: true, verpRecipient: true, deleteFrom: false });
  t.like(identityFromEnv({ LOGNAME: 'l', QMAILSHOST: 'sh' }), { user: 'l', host: undefined, senderHost: 'sh' });
  const base = { defaulthost: 'a', defaultdomain: 'b', plusdomain: 'c', idhost: 'd', locals: ['e'] };
  t.deepEqual(controlsFromEnv(base, { QMAILIDHOST: 'x', QMAILPLUSDOMAIN: 'y' }), { ...base, idhost: 'x', plusdomain: 'y' });
});
