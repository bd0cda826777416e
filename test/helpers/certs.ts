// Certificates for TLS tests, made by openssl: a CA and a certificate it signed for a name.

import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './home.js';

/** A CA and a certificate for `name` that it signed; `chain` is what a server sends (leaf, CA). */
export function caSigned(t: ExecutionContext, name: string): { key: Buffer; leaf: Buffer; chain: Buffer; ca: Buffer } {
  const dir = tempDir(t);
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-days', '1', '-subj', '/CN=qmta test CA', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  run(['req', ...ec, '-subj', `/CN=${name}`, '-keyout', 'leaf.key', '-out', 'leaf.csr']);
  execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:${name}\\n' > ext && openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out leaf.pem`], { cwd: dir, stdio: 'ignore' });
  const ca = readFileSync(join(dir, 'ca.pem'));
  const leaf = readFileSync(join(dir, 'leaf.pem'));
  return { key: readFileSync(join(dir, 'leaf.key')), leaf, chain: Buffer.concat([leaf, ca]), ca };
}

/** A certificate for `names` signed by itself (its own CA for the test). */
export function multiNameCert(t: ExecutionContext, names: readonly string[]): { key: Buffer; cert: Buffer } {
  const dir = tempDir(t);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
}
