// DKIM signing and verification cost per 4 KiB message (issue 16): ts/dkim's signMessage
// (mailauth, relaxed/relaxed) with an RSA-2048 key and with an Ed25519 key, and mailauth's
// dkimVerify of each signature with the key record answered from memory (no DNS time), next
// to the floor: node:crypto alone hashing the body and signing (or verifying) once.
//
// Usage: node dist/bench/dkim.js [--runs 3] [--messages 1000] [--size 4096]
// Prints, per case, CPU µs per message (process user + system) and wall µs per message,
// median (min–max) over the runs, one message at a time on the event loop.
// Failures: a signature that does not verify stops the benchmark (exit 1).

import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { dkimVerify } from 'mailauth';
import { keyringOf, type DkimKey } from '../ts/dkim/keyring.js';
import { signMessage } from '../ts/dkim/sign.js';

const { values: o } = parseArgs({ options: { runs: { type: 'string', default: '3' }, messages: { type: 'string', default: '1000' }, size: { type: 'string', default: '4096' } } });
const RUNS = Number(o.runs);
const N = Number(o.messages);

function key(algorithm: 'rsa' | 'ed25519'): { key: DkimKey; txt: string } {
  const { privateKey } = algorithm === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const der = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const p = algorithm === 'rsa' ? der.toString('base64') : der.subarray(der.length - 32).toString('base64');
  const pem = Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { key: { domain: 'bench.test', selector: algorithm, path: '-', algorithm, bits: algorithm === 'rsa' ? 2048 : 256, pem, key: privateKey }, txt: `v=DKIM1; k=${algorithm}; p=${p}` };
}

function message(size: number): Buffer {
  const head = 'From: Alice <alice@bench.test>\nTo: bob@example.org\nSubject: a benchmark message\nDate: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-ID: <1@bench.test>\nMIME-Version: 1.0\nContent-Type: text/plain\n\n';
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again.\n';
  return Buffer.from((head + line.repeat(Math.ceil(size / line.length))).slice(0, size).replace(/[^\n]*$/, '') + '\n');
}

async function measure(fn: () => Promise<void>): Promise<{ cpu: number; wall: number }> {
  const c0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await fn();
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / N, wall: Number(process.hrtime.bigint() - w0) / 1000 / N };
}

function median(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)]!.toFixed(0)} (${s[0]!.toFixed(0)}–${s[s.length - 1]!.toFixed(0)})`;
}

async function row(name: string, fn: () => Promise<void>): Promise<void> {
  await fn();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const m = await measure(fn);
    cpu.push(m.cpu);
    wall.push(m.wall);
  }
  process.stdout.write(`| ${name} | ${median(cpu)} | ${median(wall)} |\n`);
}

async function main(): Promise<void> {
  const msg = message(Number(o.size));
  process.stdout.write(`DKIM, ${msg.length}-byte message, ${N} messages x ${RUNS} runs, one at a time\n\n| case | CPU µs/msg median (min–max) | wall µs/msg |\n|---|---|---|\n`);
  for (const alg of ['rsa', 'ed25519'] as const) {
    const k = key(alg);
    const ring = keyringOf([k.key]);
    const signed = await signMessage(ring, Readable.from([msg]));
    if (signed.kind !== 'ok') throw new Error(signed.text);
    const full = Buffer.concat([Buffer.from(signed.value), msg]);
    const resolver = async () => [[k.txt]];
    const check = await dkimVerify(full, { resolver });
    if (check.results[0]?.status.result !== 'pass') throw new Error(`${alg}: the signature does not verify`);
    await row(`sign ${alg === 'rsa' ? 'RSA-2048' : 'Ed25519'} (signMessage)`, async () => { await signMessage(ring, Readable.from([msg])); });
    await row(`verify ${alg === 'rsa' ? 'RSA-2048' : 'Ed25519'} (mailauth dkimVerify)`, async () => { await dkimVerify(full, { resolver }); });
    await row(`floor: sha256 + sign ${alg}`, async () => { floorSign(k.key.key, msg); });
    const sig = floorSign(k.key.key, msg);
    const pub = createPublicKey(k.key.key);
    await row(`floor: sha256 + verify ${alg}`, async () => { floorVerify(pub, msg, sig); });
  }
}

function floorSign(key: KeyObject, msg: Buffer): Buffer {
  const digest = createHash('sha256').update(msg).digest();
  return key.asymmetricKeyType === 'rsa' ? sign('sha256', digest, key) : sign(null, digest, key);
}

function floorVerify(pub: KeyObject, msg: Buffer, sig: Buffer): void {
  const digest = createHash('sha256').update(msg).digest();
  const ok = pub.asymmetricKeyType === 'rsa' ? verify('sha256', digest, pub, sig) : verify(null, digest, pub, sig);
  if (!ok) throw new Error('floor verify failed');
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
