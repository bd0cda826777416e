import test from 'ava';
import { LineSplitter, TOO_LONG } from '../../ts/pop3d/lines.js';

test('lines end at CR LF or bare LF and survive chunk boundaries', (t) => {
  const s = new LineSplitter();
  t.deepEqual(s.push(Buffer.from('USER a\r\nPA')), ['USER a']);
  t.deepEqual(s.push(Buffer.from('SS b c\r')), []);
  t.deepEqual(s.push(Buffer.from('\nNOOP\nSTAT\r\n')), ['PASS b c', 'NOOP', 'STAT']);
});

test('bytes are kept as latin1 so 8-bit passwords survive', (t) => {
  const s = new LineSplitter();
  const [line] = s.push(Buffer.from([0x50, 0x41, 0x53, 0x53, 0x20, 0xe9, 0xff, 0x0d, 0x0a]));
  t.is(Buffer.from(line as string, 'latin1').toString('hex'), '50415353 20e9ff'.replace(' ', ''));
});

test('a 255-octet line with CR LF passes, 256 is refused (RFC 2449)', (t) => {
  const s = new LineSplitter();
  const ok = 'X'.repeat(253);
  t.deepEqual(s.push(Buffer.from(`${ok}\r\n`)), [ok]);
  t.deepEqual(s.push(Buffer.from(`${ok}Y\r\nNOOP\r\n`)), [TOO_LONG, 'NOOP']);
});

test('an endless line costs bounded memory and yields one TOO_LONG', (t) => {
  const s = new LineSplitter();
  for (let i = 0; i < 1000; i++) t.deepEqual(s.push(Buffer.alloc(4096, 0x41)), []);
  t.deepEqual(s.push(Buffer.from('tail\r\nQUIT\r\n')), [TOO_LONG, 'QUIT']);
});

test('reset drops a partial line (STLS injection rule)', (t) => {
  const s = new LineSplitter();
  s.push(Buffer.from('USER evil'));
  s.reset();
  t.deepEqual(s.push(Buffer.from('CAPA\r\n')), ['CAPA']);
});
