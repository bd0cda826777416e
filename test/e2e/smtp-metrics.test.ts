// The SMTP service's metrics and session records, from the core's counters: a known SMTP
// load against a running `qmta start` (python smtplib: messages delivered at accept time,
// one over databytes, a failed and a successful AUTH, a STARTTLS session; a client from a
// denied address), then /metrics parsed by Python's prometheus_client with exact counts,
// and `qmta stats --json` reading the reply codes from the session lines.

import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { QMTA_MAIN, runQmta } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { freePorts } from '../helpers/net.js';
import { parsePrometheus, type Sample } from '../helpers/prom.js';
import { until } from '../helpers/wait.js';

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter(([n, l]) => n === name && Object.entries(labels).every(([k, v]) => l[k] === v));
  return hits.reduce((a, [, , v]) => a + v, 0);
}

const LOAD = `
import smtplib, ssl, sys
port, sub = int(sys.argv[1]), int(sys.argv[2])
for i in range(3):
    with smtplib.SMTP('127.0.0.1', port) as s:
        s.sendmail('a@far.example', ['joe@localhost'], 'Subject: m%d\\n\\nhello\\n' % i)
with smtplib.SMTP('127.0.0.1', port) as s:
    # MAIL without SIZE=, so the limit is met in DATA (sendmail() would declare the size).
    s.ehlo()
    s.mail('a@far.example')
    s.rcpt('joe@localhost')
    code, _ = s.data('Subject: big\\n\\n' + 'x' * 3000 + '\\n')
    assert code == 552, code
with smtplib.SMTP('127.0.0.1', sub) as s:
    s.starttls(context=ssl._create_unverified_context())
    try:
        s.login('joe', 'wrong')
        sys.exit('a wrong password logged in')
    except smtplib.SMTPAuthenticationError:
        pass
    s.login('joe', 'secret')
`;

test('SMTP metrics count connections, messages by reply, AUTH, STARTTLS and sessions; stats reads the reply codes', async (t) => {
  t.timeout(180_000);
  const home = join(tempDir(t), 'h');
  const [smtp, sub, metrics] = await freePorts(3);
  mkdirSync(join(home, 'control'), { recursive: true });
  const control: Record<string, string> = {
    smtplisten: `127.0.0.1:${smtp}`, submissionlisten: `127.0.0.1:${sub}`, pop3listen: '127.0.0.1:0',
    metricslisten: `127.0.0.1:${metrics}`, databytes: '2000', denyclients: '127.0.0.2',
  };
  for (const [f, v] of Object.entries(control)) writeFileSync(join(home, 'control', f), `${v}\n`);
  t.is((await runQmta(['--home', home, 'user', 'add', 'joe'])).code, 0);
  t.is((await runQmta(['--home', home, 'user', 'passwd', 'joe'], { input: 'secret\n' })).code, 0);
  const child = spawn(process.execPath, [QMTA_MAIN, '--home', home, 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const base = `http://127.0.0.1:${metrics}`;
  await until('listening', async () => {
    if (child.exitCode !== null) throw new Error(`qmta start exited ${child.exitCode}: ${stderr}`);
    return existsSync(join(home, 'qmta.pid')) && fetch(`${base}/metrics`).then((r) => r.ok, () => false);
  }, 60_000);

  const load = spawnSync('python3', ['-c', LOAD, String(smtp), String(sub)], { encoding: 'utf8', timeout: 60_000 });
  t.is(load.status, 0, load.stderr);
  const denied = await new Promise<string>((resolve, reject) => {
    const s = connect({ port: smtp!, host: '127.0.0.1', localAddress: '127.0.0.2' });
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
  t.regex(denied, /^554 5\.7\.1 /);
  t.is(readdirSync(join(home, 'mail', 'joe', 'Maildir', 'new')).length, 3);

  const scrape = async () => parsePrometheus(await (await fetch(`${base}/metrics`)).text());
  // Session ends are counted as the core sees the client go: wait for all of them.
  await until('sessions closed', async () => value(await scrape(), 'qmta_smtp_session_seconds_count') === 5, 30_000);
  const s = await scrape();
  t.is(value(s, 'qmta_smtp_connections_total', { listener: 'smtp', result: 'accepted' }), 4);
  t.is(value(s, 'qmta_smtp_connections_total', { listener: 'smtp', result: 'refused_deny' }), 1);
  t.is(value(s, 'qmta_smtp_connections_total', { listener: 'submission', result: 'accepted' }), 1);
  t.is(value(s, 'qmta_smtp_messages_total', { result: 'accepted', code: '250' }), 3);
  t.is(value(s, 'qmta_smtp_messages_total', { result: 'refused', code: '552' }), 1);
  // smtplib's login() tries PLAIN, then LOGIN, before it gives up on a wrong password.
  t.is(value(s, 'qmta_smtp_auth_total', { mechanism: 'PLAIN', result: 'success' }), 1);
  t.is(value(s, 'qmta_smtp_auth_total', { mechanism: 'PLAIN', result: 'failure' }), 1);
  t.is(value(s, 'qmta_smtp_auth_total', { mechanism: 'LOGIN', result: 'failure' }), 1);
  t.is(value(s, 'qmta_smtp_starttls_total', { listener: 'submission' }), 1);
  t.is(value(s, 'qmta_smtp_sessions_total', { listener: 'smtp' }), 4);
  t.is(value(s, 'qmta_smtp_open_sessions'), 0);
  t.true(value(s, 'qmta_smtp_received_bytes_total') >= 3 * 20 + 3000);
  // The direct deliveries are counted as deliveries, as queued ones are.
  t.is(value(s, 'qmta_deliveries_total', { channel: 'local', result: 'success' }), 3);

  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const stats = await runQmta(['--home', home, 'stats', '--json']);
  t.is(stats.code, 0, stats.stderr);
  const smtpStats = JSON.parse(stats.stdout).smtp;
  t.is(smtpStats.accepted, 3);
  t.is(smtpStats.replies['250'] >= 3 + 3, true, JSON.stringify(smtpStats.replies));
  t.is(smtpStats.replies['552'], 1);
  t.is(smtpStats.replies['535'], 2);
});
