// CI's runtime check: the built package starts and delivers one message on whatever Node
// runs this script (CI runs it on Node 22 after the suite ran on Node 24). Plain JS, no
// test framework: `qmta user add joe`, `qmta start` on a fresh home with its SMTP
// listener on a free loopback port, one message over SMTP, then joe's Maildir/new/ must
// hold it. Exit 0 when it arrived, 1 otherwise (with the reason and the daemon's log).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../dist/ts/cli/main.js', import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), 'qmta-smoke-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** One SMTP dialogue, a command per reply (no pipelining); resolves with the last reply. */
function sendMail(port) {
  const lines = ['EHLO smoke', 'MAIL FROM:<smoke@localhost>', 'RCPT TO:<joe@localhost>', 'DATA',
    `Subject: smoke on Node ${process.version}\r\n\r\nhello\r\n.`, 'QUIT'];
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    const replies = [];
    sock.setTimeout(20_000, () => sock.destroy(new Error('SMTP timeout')));
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (line[3] === '-') continue;
        replies.push(line);
        if (!/^[23]/.test(line)) return reject(new Error(`SMTP refused: ${line}`));
        const next = lines.shift();
        if (next === undefined) return resolve(replies);
        sock.write(`${next}\r\n`);
      }
    });
    sock.on('close', () => resolve(replies));
  });
}

async function waitFor(check, ms) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (check()) return true;
  return check();
}

async function main() {
  const add = spawnSync(process.execPath, [cli, '--home', home, 'user', 'add', 'joe'], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`user add: ${add.stderr}`);
  const port = await freePort();
  const daemon = spawn(process.execPath, [cli, '--home', home, 'start', '--smtp', `127.0.0.1:${port}`,
    '--submission', '127.0.0.1:0', '--pop3', '127.0.0.1:0'], { stdio: 'ignore' });
  try {
    const log = join(home, 'log', 'qmta.log');
    const listening = () => { try { return readFileSync(log, 'utf8').includes(`"port":${port}`); } catch { return false; } };
    if (!(await waitFor(listening, 30_000))) throw new Error('the daemon did not start listening within 30 s');
    const replies = await sendMail(port);
    const maildir = join(home, 'mail', 'joe', 'Maildir', 'new');
    if (!(await waitFor(() => readdirSync(maildir).length === 1, 20_000))) throw new Error(`not delivered; SMTP said ${replies.join(' | ')}`);
    console.log(`smoke: Node ${process.version}: qmta started and delivered a message (${replies.at(-2)})`);
  } finally {
    daemon.kill('SIGTERM');
  }
}

main().then(() => rmSync(home, { recursive: true, force: true }), (err) => {
  console.error(`smoke: Node ${process.version}: FAILED: ${err.message}`);
  try { console.error(readFileSync(join(home, 'log', 'qmta.log'), 'utf8').slice(-4000)); } catch { /* no log */ }
  process.exitCode = 1;
});
