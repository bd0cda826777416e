// qmail-send's activity lines as pino JSON records: fields for statistics, qmail's text in msg.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, sendEvents } from '../../ts/log/index.js';
import { tempDir } from '../helpers/home.js';

test('sendEvents writes one JSON object a line with the event fields and qmail\'s text', async (t) => {
  const file = join(tempDir(t), 'log', 'qmta.log');
  const log = createLogger({ file });
  const ev = sendEvents(log);
  ev.newMsg('42');
  ev.infoMsg('42', 1234, 'a@b.example');
  ev.startDelivery(1, '42', 'local', 'joe@here');
  ev.delivery(1, 'success', 'did 1+0+0');
  ev.startDelivery(2, '42', 'remote', 'x@far');
  ev.delivery(2, 'deferral', 'Connection refused (#4.4.1)');
  ev.bounceMsg('42', '43');
  ev.endMsg('42');
  ev.status(0, 10, 1, 20);
  ev.tripleBounce('44');
  await log.close();
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.deepEqual(lines.map((l) => l.msg), [
    'new msg 42',
    'info msg 42: bytes 1234 from <a@b.example>',
    'starting delivery 1: msg 42 to local joe@here',
    'delivery 1: success: did 1+0+0',
    'starting delivery 2: msg 42 to remote x@far',
    'delivery 2: deferral: Connection refused (#4.4.1)',
    'bounce msg 42 qp 43',
    'end msg 42',
    'status: local 0/10 remote 1/20',
    'triple bounce: discarding bounce/44',
  ]);
  t.like(lines[1], { event: 'info msg', id: '42', bytes: 1234, sender: 'a@b.example' });
  t.like(lines[3], { event: 'delivery', delivery: 1, result: 'success', report: 'did 1+0+0' });
  t.like(lines[8], { event: 'status', local: 0, localMax: 10, remote: 1, remoteMax: 20 });
  t.true(lines.every((l) => typeof l.time === 'number' && typeof l.level === 'number'));
});
