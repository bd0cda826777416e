// ts/lspawn/report.ts: a system account's delivery report is input from that account.
// Its new-mail part (writes, env) is shape-checked, and only qmail-local's variables pass,
// with USER, HOME and PATH the daemon's; a malformed one costs the notices, not the mail.

import test from 'ava';
import { parseReport } from '../../ts/lspawn/report.js';

const who = { user: 'sys', home: '/home/sys', baseEnv: { PATH: '/usr/bin:/bin' } };
const md = { kind: 'maildir', maildir: '/home/sys/Maildir/', file: '/home/sys/Maildir/new/1.2.host' };
const ok = (extra: object) => JSON.stringify({ outcome: { kind: 'ok', value: 'did 1+0+0' }, forwards: [], dtline: '', ...extra });

test('good writes and qmail-local\'s variables pass; PATH, USER and HOME are the daemon\'s', (t) => {
  const r = parseReport(ok({ writes: [md, { kind: 'mbox', mbox: '/var/mail/sys' }],
    env: { SENDER: 'a@b.c', EXT: 'x', PATH: '/tmp/evil', LD_PRELOAD: '/tmp/x.so', USER: 'root', HOME: '/root' } }), who);
  t.deepEqual(r.outcome, { kind: 'ok', value: 'did 1+0+0' });
  t.deepEqual(r.writes, [md, { kind: 'mbox', mbox: '/var/mail/sys' }]);
  t.deepEqual(r.env, { PATH: '/usr/bin:/bin', SENDER: 'a@b.c', EXT: 'x', USER: 'sys', HOME: '/home/sys' });
});

test('a malformed new-mail part gives no notice, and the delivery stands', (t) => {
  const bad = [
    [{ ...md, maildir: 'Maildir/' , file: 'Maildir/new/1' }], [{ ...md, file: '/home/sys/Maildir/cur/1' }],
    [{ ...md, file: '/home/sys/Maildir/new/..' }], [{ kind: 'mbox', mbox: '/var/mail/a\nb' }], [{ kind: 'x' }], [null],
    Array.from({ length: 1001 }, () => md), 'no list',
  ];
  for (const writes of bad) {
    const r = parseReport(ok({ writes, env: {} }), who);
    t.deepEqual([r.outcome.kind, r.writes, r.env], ['ok', [], {}], JSON.stringify(writes).slice(0, 80));
  }
  const r = parseReport(ok({ writes: [md], env: { SENDER: 7 } }), who);
  t.deepEqual([r.outcome.kind, r.writes], ['ok', []], 'a variable that is not text');
});

test('a malformed outcome is still a temporary failure', (t) => {
  t.like(parseReport('{"outcome":{"kind":"ok"}}', who).outcome, { kind: 'temp', status: '4.3.0', text: 'the delivery as sys sent a malformed report' });
  t.like(parseReport('not json', who).outcome, { kind: 'temp', status: '4.3.0' });
});
