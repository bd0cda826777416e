// mailq and `qmta queue` for any local user, with no setuid program: the listing comes
// from the running daemon over HOME/qmta.sock, which learns the caller's uid from
// SO_PEERCRED. As root: root, the qmta account and a user named in control/trustedusers
// see the whole queue; the useradd user sees only the message it sent; with the daemon
// down that user gets exit 111 and root still reads the queue itself. Mail to
// remote.example is routed to a closed loopback port so it stays queued (deferred).

import test from 'ava';
import { connect } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { accountByName } from '../../ts/native.js';
import { until } from '../helpers/wait.js';
import { localUser, MAILQ, MAIN, ROOT, run, SENDMAIL, startDaemon } from '../helpers/submit.js';

/** The raw answer to `bytes` sent on the socket. */
function raw(home: string, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(join(home, 'qmta.sock'));
    let text = '';
    s.on('data', (c: Buffer) => { text += c.toString(); });
    s.on('error', () => undefined);
    s.on('close', () => resolve(text));
    s.end(bytes);
  });
}

test('mailq over the socket shows the whole queue to root, the qmta account and trusted users, and a user only its own', async (t) => {
  t.timeout(120_000);
  const { home, log, child } = await startDaemon(t, { smtproutes: ':127.0.0.1:1' });
  const user = localUser();
  const env = { QMTA_HOME: home, USER: user.name, LOGNAME: user.name };
  const theirs = await run(SENDMAIL, ['-f', 'other@far.example', 'a@remote.example'], 'Subject: other\n\nx\n', env);
  t.is(theirs.code, 0, theirs.stderr);
  const mine = await run(SENDMAIL, ['b@remote.example'], 'Subject: mine\n\nx\n', env, ROOT ? user : undefined);
  t.is(mine.code, 0, mine.stderr);
  const other = /^.* GMT {2}#\d+ {2}\d+ {2}<other@far\.example> \n\tremote\ta@remote\.example$/m;
  const own = new RegExp(`^.* GMT {2}#\\d+ {2}\\d+ {2}<${user.name}@mx\\.example> \\n\\tremote\\tb@remote\\.example$`, 'm');
  // Listed once preprocessed (qmail-qread leaves todo/ out): wait for both.
  const rootList = await until('both messages listed', async () => {
    const r = await run(MAIN, ['--home', home, 'queue'], '', {});
    return r.code === 0 && other.test(r.stdout) && own.test(r.stdout) && r.stdout;
  });
  t.is(rootList.split('\n').filter((l) => l.includes(' GMT  #')).length, 2);
  const byUser = await run(MAILQ, [], '', env, ROOT ? user : undefined);
  t.is(byUser.code, 0, byUser.stderr);
  t.regex(byUser.stdout, own);
  if (!ROOT) {
    t.regex(byUser.stdout, other, 'the daemon\'s own account sees everything');
    return;
  }
  t.notRegex(byUser.stdout, /far\.example|a@remote/, 'another sender\'s message is not shown to the user');
  await until('the listing logged', () => new RegExp(`queue listing for uid ${user.uid}: 1 messages of its own`).test(log()), 10_000);
  const qmta = accountByName('qmta');
  if (qmta.kind !== 'ok' || !qmta.value) return t.fail('no qmta account after start as root');
  const byAccount = await run(MAILQ, [], '', env, { uid: qmta.value.uid, gid: qmta.value.gid });
  t.true(other.test(byAccount.stdout) && own.test(byAccount.stdout), byAccount.stdout + byAccount.stderr);
  t.is(await raw(home, 'QX'), 'Dbad listing request (#5.5.4)\n');
  t.is(await raw(home, 'Q'), `K\n${rootList}.\n`, 'the wire: K, the listing, the end mark');

  writeFileSync(join(home, 'control', 'trustedusers'), `${user.name}\n`);
  child.kill('SIGHUP');
  await until('a trusted user sees the whole queue', async () => other.test((await run(MAILQ, [], '', env, user)).stdout));

  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  const down = await run(MAILQ, [], '', env, user);
  t.is(down.code, 111);
  t.regex(down.stderr, /^mailq: fatal: qmta is not running for .*, and only it may list the queue for uid \d+: try again later \(#4\.3\.0\)\n$/);
  const rootDown = await run(MAIN, ['--home', home, 'queue'], '', {});
  t.is(rootDown.code, 0, rootDown.stderr);
  t.is(rootDown.stdout, rootList, 'root reads the queue itself');
});
