import test from 'ava';
import { ok, temp } from '../../ts/outcome.js';
import { Maildrop, uidOf } from '../../ts/pop3d/maildrop.js';
import type { MaildropStore, WireChunks } from '../../ts/pop3d/store.js';
import { transact, type Output } from '../../ts/pop3d/transaction.js';

function output(): Output & { text: string; destroyed: boolean } {
  return {
    text: '',
    destroyed: false,
    closed: false,
    async write(d) {
      this.text += typeof d === 'string' ? d : d.toString('latin1');
    },
    destroy() {
      this.destroyed = true;
    },
  };
}

function store(chunks: Array<ReturnType<WireChunks['next']>>, opened: ReturnType<MaildropStore['open']> | undefined = undefined): MaildropStore & { closed: number } {
  const s = {
    closed: 0,
    scan: async () => ok([]),
    open: () => opened ?? ok({ next: () => chunks.shift() ?? ok(null), close: () => void s.closed++ }),
  };
  return s;
}

const drop = () => new Maildrop('/md', [{ file: '1.a.h:2,', uid: '1.a.h', size: 10, deleted: false }]);

test('a read failure after +OK drops the connection instead of ending the reply', async (t) => {
  const out = output();
  const s = store([ok(Buffer.from('Subject: x\r\n')), temp('4.3.0', 'reading message: EIO')]);
  await transact(drop(), s, out, 'RETR', ['1']);
  t.is(out.text, '+OK 10 octets\r\nSubject: x\r\n');
  t.true(out.destroyed);
  t.is(s.closed, 1);
});

test('a message that vanished or cannot be opened gets -ERR, nothing sent', async (t) => {
  const gone = output();
  await transact(drop(), store([], ok(undefined)), gone, 'RETR', ['1']);
  t.is(gone.text, '-ERR [SYS/PERM] message 1 vanished\r\n');
  const broken = output();
  await transact(drop(), store([], temp('4.3.0', 'opening message: EACCES')), broken, 'TOP', ['1', '0']);
  t.is(broken.text, '-ERR [SYS/TEMP] cannot read message 1: opening message: EACCES\r\n');
});

test('argument checks: numbers, counts, unknown verbs', async (t) => {
  const out = output();
  const s = store([]);
  for (const [verb, args] of [['DELE', []], ['DELE', ['1', '2']], ['LIST', ['1', '2']], ['TOP', ['1', '-1']], ['STAT', ['x']], ['RETR', ['99999999999']]] as const) {
    await transact(drop(), s, out, verb, [...args]);
  }
  t.is(out.text, '-ERR syntax error\r\n'.repeat(6));
  t.false(await transact(drop(), s, out, 'XTND', []));
});

test('UIDs: the unique name, or its MD5 when RFC 1939 does not allow it', (t) => {
  t.is(uidOf('1700000000.M1P2.host:2,S'), '1700000000.M1P2.host');
  const long = `1700000000.M1P2.${'h'.repeat(80)}`;
  t.is(uidOf(`${long}:2,`), uidOf(`${long}:2,S`)); // stable across flag changes
  t.regex(uidOf(`1700000000.M1P2.${'h'.repeat(80)}:2,`), /^[0-9a-f]{32}$/);
  t.regex(uidOf('1700000000.M1P2.h\u00e9st'), /^[0-9a-f]{32}$/);
});
