// `qmta dkim keygen|show`: DKIM signing keys (ts/dkim).
//
// Interface: register(program, ctx).
//   dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519]   new key, added to
//       control/dkimkeys; prints the TXT record to publish; a running qmta reloads
//   dkim show                                                     every configured key and its record
// Exit codes: 0; 100 bad domain, selector or algorithm, selector taken; 111 I/O trouble or a
// configured key that cannot be loaded (show lists the others and says which).

import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { dnsRecord, keygen } from '../dkim/keygen.js';
import { loadKey, type DkimAlgorithm } from '../dkim/keyring.js';
import type { CliContext } from './main.js';

function parseAlgorithm(v: string): DkimAlgorithm {
  if (v === 'rsa' || v === 'ed25519') return v;
  throw new InvalidArgumentError('use rsa or ed25519');
}

async function runKeygen(ctx: CliContext, domain: string, o: { selector?: string; algorithm: DkimAlgorithm }): Promise<number> {
  const home = await ctx.ensureHome();
  if (home.kind !== 'ok') return ctx.fail(home);
  const config = await loadConfig(home.value);
  if (config.kind !== 'ok') return ctx.fail(config);
  const r = await keygen({ home: home.value, domain, selector: o.selector, algorithm: o.algorithm, existing: config.value.dkimkeys });
  if (r.kind !== 'ok') return ctx.fail(r);
  process.stdout.write(`key ${r.value.entry.path} signs ${r.value.entry.domain} as selector ${r.value.entry.selector}\n` +
    `publish this record (until it is published, receivers fail this signature and use the others):\n${r.value.record}\n`);
  if (await ctx.reload()) process.stdout.write('running qmta reloaded\n');
  return 0;
}

async function runShow(ctx: CliContext): Promise<number> {
  const config = await loadConfig(ctx.home());
  if (config.kind !== 'ok') return ctx.fail(config);
  let code = 0;
  for (const e of config.value.dkimkeys) {
    const k = await loadKey(e);
    if (k.kind !== 'ok') {
      code = ctx.fail(k);
      continue;
    }
    process.stdout.write(`${e.domain} ${e.selector} ${k.value.algorithm} ${k.value.bits} ${e.path}\n  ${dnsRecord(k.value)}\n`);
  }
  if (config.value.dkimkeys.length === 0) process.stdout.write('no DKIM keys (qmta dkim keygen DOMAIN adds one)\n');
  return code;
}

/** Registers `qmta dkim`. */
export function register(program: Command, ctx: CliContext): void {
  const dkim = program.command('dkim').description('DKIM signing keys: keygen, show');
  dkim.command('keygen <domain>').description('create a signing key for DOMAIN, add it to control/dkimkeys, print its DNS record')
    .option('--selector <s>', 'selector (default rsaYYYYMM or edYYYYMM)')
    .option('--algorithm <a>', 'rsa (2048 bits) or ed25519', parseAlgorithm, 'rsa' as DkimAlgorithm)
    .action(async (domain: string, o: { selector?: string; algorithm: DkimAlgorithm }) => {
      process.exitCode = await runKeygen(ctx, domain, o);
    });
  dkim.command('show').description('list the configured keys with their DNS records')
    .action(async () => {
      process.exitCode = await runShow(ctx);
    });
}
