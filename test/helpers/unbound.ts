// A validating DNS resolver on loopback for the DANE tests: Debian's unbound serving test zones
// from zone files (auth-zone, for-upstream: its answers go through the validator as if they
// came from the zone's servers), with the DS of each signed zone as its trust anchor. Signed
// zones are signed here with ldns-keygen and ldns-signzone (ldnsutils, ECDSA P-256, NSEC3), so
// the AD bit in the answers is unbound's own verdict: a zone with no trust anchor is insecure
// (no AD), a record changed after signing is bogus (SERVFAIL).
//
// Interface: validatingResolver(t, zones) -> 'ip:port'. Each zone: origin, its records (zone
// file lines relative to the origin), signed or not, and tamper (applied to the signed text).
// Failures: unbound or the signers cannot run, or no answer within 10 s -> throws.
// Guarantees: unbound lives as long as the test (killed at teardown), listens on 127.0.0.1
// only, and never asks anyone else (every name the tests use is in one of its zones).

import type { ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needCommand } from './debian.js';
import { tempDir } from './home.js';
import { freePorts } from './net.js';
import { until } from './wait.js';

export interface Zone {
  /** 'test', 'example': the zone's apex. */
  readonly origin: string;
  /** Zone file lines with names relative to the origin ('mx.dane IN A 127.0.0.2'). */
  readonly records: readonly string[];
  readonly signed: boolean;
  /** Changes the signed zone's text (a record altered after signing makes its RRset bogus). */
  readonly tamper?: (signed: string) => string;
}

/** Writes the zone file; for a signed zone, signs it and returns its DS record (the trust anchor). */
function writeZone(dir: string, z: Zone): { file: string; ds: string | undefined } {
  const file = join(dir, `${z.origin}.zone`);
  writeFileSync(file, [`$ORIGIN ${z.origin}.`, '$TTL 300', `@ IN SOA ns.${z.origin}. admin.${z.origin}. 1 3600 600 86400 300`,
    `@ IN NS ns.${z.origin}.`, 'ns IN A 127.0.0.1', ...z.records, ''].join('\n'));
  if (!z.signed) return { file, ds: undefined };
  const keygen = needCommand('ldns-keygen', 'ldnsutils');
  const signzone = needCommand('ldns-signzone', 'ldnsutils');
  const ksk = execFileSync(keygen, ['-a', 'ECDSAP256SHA256', '-k', `${z.origin}.`], { cwd: dir, encoding: 'utf8' }).trim();
  const zsk = execFileSync(keygen, ['-a', 'ECDSAP256SHA256', `${z.origin}.`], { cwd: dir, encoding: 'utf8' }).trim();
  execFileSync(signzone, ['-n', '-f', `${file}.signed`, file, ksk, zsk], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const signed = readFileSync(`${file}.signed`, 'utf8');
  writeFileSync(`${file}.signed`, z.tamper ? z.tamper(signed) : signed);
  return { file: `${file}.signed`, ds: readFileSync(join(dir, `${ksk}.ds`), 'utf8').trim().replace(/\s+/g, ' ') };
}

function config(dir: string, port: number, zones: readonly Zone[], written: readonly { file: string; ds: string | undefined }[]): string {
  const server = [
    'server:', `  interface: 127.0.0.1@${port}`, `  port: ${port}`, '  do-daemonize: no', '  username: ""', '  chroot: ""',
    `  directory: "${dir}"`, '  pidfile: ""', '  use-syslog: no', '  logfile: ""', '  verbosity: 1', '  do-ip6: no',
    '  module-config: "validator iterator"', '  access-control: 127.0.0.0/8 allow',
    // Never ask anyone: a name outside the zones fails (SERVFAIL) instead of going to the root servers.
    '  do-not-query-address: 0.0.0.0/0', '  do-not-query-address: ::/0',
    ...written.filter((w) => w.ds).map((w) => `  trust-anchor: "${w.ds}"`),
    // RFC 6761 names are served empty by default; these are ours.
    ...zones.map((z) => `  local-zone: "${z.origin}." nodefault`),
  ];
  const auth = zones.flatMap((z, i) => ['auth-zone:', `  name: "${z.origin}."`, `  zonefile: "${written[i]!.file}"`,
    '  for-upstream: yes', '  for-downstream: no', '  fallback-enabled: no']);
  return [...server, ...auth, ''].join('\n');
}

/** Starts unbound over `zones`; resolves with its address once it answers. */
export async function validatingResolver(t: ExecutionContext, zones: readonly Zone[]): Promise<string> {
  const unbound = needCommand('unbound', 'unbound');
  const dir = tempDir(t);
  const written = zones.map((z) => writeZone(dir, z));
  const [port] = await freePorts(1) as [number];
  writeFileSync(join(dir, 'unbound.conf'), config(dir, port, zones, written));
  const child = spawn(unbound, ['-d', '-c', join(dir, 'unbound.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  t.teardown(() => { child.kill(); });
  const dig = needCommand('drill', 'ldnsutils');
  await until(`unbound to answer (${stderr})`, () => {
    if (child.exitCode !== null) throw new Error(`unbound exited ${child.exitCode}: ${stderr}`);
    try {
      return execFileSync(dig, ['-p', String(port), '-Q', `ns.${zones[0]!.origin}`, '@127.0.0.1', 'A'], { encoding: 'utf8', timeout: 2000 }).includes('127.0.0.1');
    } catch {
      return false;
    }
  }, 10_000, 100);
  return `127.0.0.1:${port}`;
}
