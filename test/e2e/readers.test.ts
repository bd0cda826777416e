// Real mail readers open what qmta's mailbox writers wrote: Python's mailbox module
// (Maildir and mbox) and mutt, driven in batch under `script` (it wants a terminal): it
// tags every message and pipes each one raw into its own file.

import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deliveryHeaders, mailbox } from '../../ts/mailbox/index.js';
import type { Outcome } from '../../ts/outcome.js';
import { needCommand } from '../helpers/debian.js';
import { tempDir } from '../helpers/home.js';

const HEADERS = deliveryHeaders('sender@example.org', 'u@example.net');
const BODIES = [
  Buffer.concat([
    Buffer.from('Subject: tricky\n\nFrom the start\n>From quoted\n>>From twice\n.\n..dots\n'),
    Buffer.from([0xe9, 0x74, 0xe9, 0x0a, 0x80, 0xff]),
    Buffer.from('\nno final newline'),
  ]),
  Buffer.from(''),
  Buffer.from('Subject: plain\n\nhello\n'),
];
/** What each message is, as a reader should see it (headers + body). */
const MESSAGES = BODIES.map((b) => Buffer.concat([HEADERS, b]));

function value<T>(o: Outcome<T>): T {
  if (o.kind !== 'ok') throw new Error(`delivery failed: ${o.status} ${o.text}`);
  return o.value;
}

/** Delivers every body into a maildir and an mbox, alternating async and sync forms. */
async function deliverAll(dir: string): Promise<{ maildir: string; mbox: string; names: string[] }> {
  const maildir = join(dir, 'Maildir');
  const mbox = join(dir, 'mbox');
  const names: string[] = [];
  for (const [i, body] of BODIES.entries()) {
    const bodyPath = join(dir, `body${i}`);
    writeFileSync(bodyPath, body);
    const md = { maildir, headers: HEADERS, bodyPath };
    names.push(value(i % 2 ? mailbox.deliverMaildirSync(md) : await mailbox.deliverMaildir(md)));
    const mb = { mbox, sender: 'sender@example.org', headers: HEADERS, bodyPath };
    value(i % 2 ? await mailbox.deliverMbox(mb) : mailbox.deliverMboxSync(mb));
  }
  return { maildir, mbox, names };
}

/** mboxrd reading: one `>` off every `^>+From ` line. */
function unquote(b: Buffer): Buffer {
  return Buffer.from(b.toString('latin1').replace(/^>(>*From )/gm, '$1'), 'latin1');
}

/** The message as stored in an mbox: ends in LF (one is added when missing). */
function withFinalLf(b: Buffer): Buffer {
  return b.length === 0 || b[b.length - 1] === 0x0a ? b : Buffer.concat([b, Buffer.from('\n')]);
}

/** mutt ends a header block that has no body with the blank line it lacks. */
function asMuttShows(b: Buffer): Buffer {
  return b.includes('\n\n') ? b : Buffer.concat([b, Buffer.from('\n')]);
}

function sorted(bufs: Buffer[]): string[] {
  return bufs.map((b) => b.toString('base64')).sort();
}

const PYTHON = `
import base64, json, mailbox, sys
kind, path = sys.argv[1], sys.argv[2]
box = mailbox.Maildir(path, factory=None, create=False) if kind == 'maildir' else mailbox.mbox(path, create=False)
out = []
for key in box.keys():
    msg = box.get_message(key)
    extra = msg.get_subdir() if kind == 'maildir' else msg.get_from()
    out.append({'key': str(key), 'extra': extra, 'bytes': base64.b64encode(box.get_bytes(key)).decode()})
print(json.dumps(out))
`;

interface PyMessage {
  key: string;
  extra: string;
  bytes: string;
}

function readWithPython(kind: 'maildir' | 'mbox', path: string): PyMessage[] {
  const python = needCommand('python3', 'python3');
  const r = spawnSync(python, ['-c', PYTHON, kind, path], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PyMessage[];
}

const MUTTRC = `set wait_key=no pipe_split=yes pipe_decode=no
push '<tag-pattern>~A<enter><tag-prefix><pipe-message>cat > "$(mktemp -p "$OUTDIR")"<enter><exit>'
`;

/** Opens `box` read-only in mutt and returns every message it piped out, raw. */
function readWithMutt(t: ExecutionContext, box: string): Buffer[] {
  needCommand('mutt', 'mutt');
  const script = needCommand('script', 'bsdutils');
  const dir = tempDir(t, 'qmta-mutt-');
  const outDir = join(dir, 'out');
  mkdirSync(outDir);
  const muttrc = join(dir, 'muttrc');
  // mutt asks to create its folder (~/Mail) when it is missing, as on a fresh machine, and
  // that question would eat the pushed keys: point it at a directory that exists.
  writeFileSync(muttrc, `${MUTTRC}set folder="${dir}"\n`);
  const cmd = 'stty cols 100 rows 30; exec mutt -n -F "$MUTTRC" -R -f "$BOX"';
  const env = { ...process.env, TERM: 'xterm', OUTDIR: outDir, BOX: box, MUTTRC: muttrc };
  const r = spawnSync(script, ['-qec', cmd, '/dev/null'], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  if (r.status !== 0) throw new Error(`mutt under script failed: ${r.status} ${r.error?.message ?? ''} ${r.stderr}`);
  return readdirSync(outDir).map((f) => readFileSync(join(outDir, f)));
}

test("Python's mailbox.Maildir reads every message back byte-exact, under qmta's names", async (t) => {
  const { maildir, names } = await deliverAll(tempDir(t));
  const msgs = readWithPython('maildir', maildir);
  t.is(msgs.length, 3);
  t.deepEqual(msgs.map((m) => m.key).sort(), [...names].sort());
  t.true(msgs.every((m) => m.extra === 'new'));
  t.deepEqual(sorted(msgs.map((m) => Buffer.from(m.bytes, 'base64'))), sorted(MESSAGES));
});

test("Python's mailbox.mbox finds every message; mboxrd unquoting gives it back", async (t) => {
  const { mbox } = await deliverAll(tempDir(t));
  const msgs = readWithPython('mbox', mbox);
  t.is(msgs.length, 3);
  for (const m of msgs) t.regex(m.extra, /^sender@example\.org [A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \d{4}$/);
  const stored = msgs.map((m) => Buffer.from(m.bytes, 'base64'));
  t.true(stored[0]!.includes('\n>From the start\n>>From quoted\n>>>From twice\n'), 'stored quoted');
  t.deepEqual(sorted(stored.map(unquote)), sorted(MESSAGES.map(withFinalLf)));
});

test('mutt opens the maildir and pipes out every message byte-exact', async (t) => {
  const { maildir } = await deliverAll(tempDir(t));
  const piped = readWithMutt(t, maildir);
  // mutt ends each piped message with pipe_sep, a newline.
  t.deepEqual(sorted(piped), sorted(MESSAGES.map((m) => Buffer.concat([asMuttShows(m), Buffer.from('\n')]))));
});

test('mutt opens the mbox with the right message count and its From_ lines', async (t) => {
  const { mbox } = await deliverAll(tempDir(t));
  const piped = readWithMutt(t, mbox);
  t.is(piped.length, 3);
  const messages = piped.map((p) => {
    const firstLf = p.indexOf(0x0a);
    t.regex(p.subarray(0, firstLf).toString(), /^From sender@example\.org [A-Z][a-z]{2} [A-Z][a-z]{2} \d\d /);
    // mutt pipes the stored (quoted) message, then pipe_sep; mboxrd unquoting gives it back.
    return unquote(p.subarray(firstLf + 1, p.length - 1));
  });
  t.deepEqual(sorted(messages), sorted(MESSAGES.map((m) => asMuttShows(withFinalLf(m)))));
});
