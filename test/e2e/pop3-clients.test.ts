// Real POP3 clients against the service on loopback: Python's poplib (USER/PASS,
// APOP, STLS, byte-exact RETR), curl's pop3:// and pop3s://.
import test from 'ava';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/home.js';
import { makeMaildir, putMessage, selfSigned, startTestPop3 } from './pop3-harness.js';

const run = promisify(execFile);

/** An 8-bit message with dot lines in every position stuffing must handle (LF ends, as stored). */
const EIGHT_BIT = Buffer.concat([
  Buffer.from('From: a@example.org\nSubject: =?utf-8?q?caf=C3=A9?=\nContent-Type: text/plain; charset=latin1\n\n'),
  Buffer.from('.\n..\n.leading dot\n...three\nmiddle . dot\n', 'latin1'),
  Buffer.from([0xe9, 0xe8, 0xff, 0x80, 0x0a]),
  Buffer.from('caf\u00e9 in utf-8\n\ttab line\n.\n', 'utf8'),
]);

const POPLIB = `
import poplib, ssl, sys, json, hashlib
mode, port, user, secret, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
p = poplib.POP3('127.0.0.1', port, timeout=20)
if mode == 'stls':
    ctx = ssl.create_default_context(cafile=cafile)
    p.stls(context=ctx)
if mode == 'apop':
    p.apop(user, secret)
else:
    p.user(user); p.pass_(secret)
count, size = p.stat()
resp, lines, octets = p.retr(1)
uidl = p.uidl()[1]
p.dele(1)
p.quit()
sys.stdout.write(json.dumps({"count": count, "size": size, "octets": octets, "uidl": [u.decode() for u in uidl],
  "body": b"\\n".join(lines).hex() + "0a", "caps": mode}))
`;

async function poplib(mode: string, port: number, user: string, secret: string, cafile = ''): Promise<{ count: number; size: number; octets: number; uidl: string[]; body: string }> {
  const { stdout } = await run('python3', ['-c', POPLIB, mode, String(port), user, secret, cafile], { timeout: 30_000 });
  return JSON.parse(stdout);
}

function setup(t: Parameters<typeof tempDir>[0]) {
  const home = tempDir(t);
  const maildir = makeMaildir(home);
  // carol's APOP secret is her password: curl computes APOP from the password it is given
  // and prefers APOP whenever the greeting carries a timestamp.
  const carol = { password: 'c-secret', apop: 'c-secret', home };
  return { home, maildir, users: { alice: { password: 'p w!', apop: 'tanstaaf', home }, carol } };
}

test('poplib USER/PASS: byte-exact RETR of an 8-bit message with dot lines, DELE at QUIT', async (t) => {
  const { users, maildir } = setup(t);
  const name = putMessage(maildir, EIGHT_BIT);
  const s = await startTestPop3(t, users);
  const r = await poplib('user', s.port, 'alice', 'p w!');
  const lf = EIGHT_BIT.filter((b) => b === 10).length;
  t.is(r.count, 1);
  t.is(r.size, EIGHT_BIT.length + lf); // CR LF counted, stuffing not
  t.is(r.body, EIGHT_BIT.toString('hex'));
  t.deepEqual(r.uidl, [`1 ${name}`]);
  t.deepEqual(readdirSync(join(maildir, 'cur')), []);
});

test('poplib APOP', async (t) => {
  const { users, maildir } = setup(t);
  putMessage(maildir, 'Subject: x\n\nhello\n');
  const s = await startTestPop3(t, users, { plaintext: false });
  const r = await poplib('apop', s.port, 'alice', 'tanstaaf');
  t.is(r.count, 1);
  t.is(r.body, Buffer.from('Subject: x\n\nhello\n').toString('hex'));
});

test('poplib STLS with a verified certificate, USER/PASS allowed only after it', async (t) => {
  const { users, maildir } = setup(t);
  putMessage(maildir, EIGHT_BIT);
  const { key, cert, certPath } = selfSigned(t);
  const s = await startTestPop3(t, users, { plaintext: false, tls: { key, cert } });
  const r = await poplib('stls', s.port, 'alice', 'p w!', certPath);
  t.is(r.body, EIGHT_BIT.toString('hex'));
  await t.throwsAsync(poplib('user', s.port, 'alice', 'p w!'), { message: /USER\/PASS need TLS/ });
});

test('curl pop3:// (APOP) lists, retrieves and deletes', async (t) => {
  const { users, maildir } = setup(t);
  putMessage(maildir, 'Subject: one\n\nfirst\n');
  putMessage(maildir, Buffer.from('Subject: two\n\n.dotted\n\xe9\n', 'latin1'));
  const s = await startTestPop3(t, users);
  const url = `pop3://127.0.0.1:${s.port}`;
  const auth = ['--user', 'carol:c-secret', '-s', '-S'];
  const list = await run('curl', [...auth, `${url}/`]);
  t.is(list.stdout, '1 23\r\n2 28\r\n');
  const retr = await run('curl', [...auth, `${url}/2`], { encoding: 'buffer' });
  t.is(retr.stdout.toString('latin1'), 'Subject: two\r\n\r\n.dotted\r\n\xe9\r\n');
  await run('curl', [...auth, '-X', 'DELE', '-I', `${url}/1`]);
  t.deepEqual(readdirSync(join(maildir, 'cur')).length, 1);
  const after = await run('curl', [...auth, `${url}/`]);
  t.is(after.stdout, '1 28\r\n');
});

test('curl pop3s:// (implicit TLS) with the certificate', async (t) => {
  const { users, maildir } = setup(t);
  putMessage(maildir, 'Subject: s\n\nsecure\n');
  const { key, cert, certPath } = selfSigned(t);
  const s = await startTestPop3(t, users, { plaintext: false, tls: { key, cert }, listenTls: ['127.0.0.1:0'] });
  const r = await run('curl', ['--cacert', certPath, '--user', 'carol:c-secret', '-s', '-S', `pop3s://localhost:${s.tlsPort}/1`]);
  t.is(r.stdout, 'Subject: s\r\n\r\nsecure\r\n');
});
