// The queue for qmta's programs that run from .qmail files and queue mail (list post, request
// and bounce; the forward and condredirect helpers): DKIM-signing and/or ARC-sealing as
// control/ says, read once per run.
//
// Interface: openOutgoingQueue(home, { sign, seal }) -> Promise<Outcome<Queue>>. sign: DKIM
// with control/dkimkeys (signing-queue.ts); seal: ARC with control/arcseal (arc-seal.ts). The
// ARC set is made over the message as given and the DKIM-Signature over that, so the
// signature ends up on top and the seal's chain check sees the message as it arrived.
// Failures: control/ or a key unreadable or invalid -> its failure (temp 4.3.5 for keys);
// the queue cannot be opened -> its failure.

import { join } from 'node:path';
import { loadConfig } from '../config/index.js';
import { openQueue } from '../queue/index.js';
import type { Queue } from '../queue/types.js';
import type { Outcome } from '../outcome.js';
import { arcSettings, sealingQueue } from './arc-seal.js';
import { loadKeyring } from './keyring.js';
import { signingQueue } from './signing-queue.js';

/** The home's queue, signing and/or sealing what is added to it. */
export async function openOutgoingQueue(home: string, what: { readonly sign: boolean; readonly seal: boolean }): Promise<Outcome<Queue>> {
  if (!what.sign && !what.seal) return openQueue(join(home, 'queue'));
  const config = await loadConfig(home);
  if (config.kind !== 'ok') return config;
  const ring = await loadKeyring(config.value.dkimkeys);
  if (ring.kind !== 'ok') return ring;
  const q = openQueue(join(home, 'queue'));
  if (q.kind !== 'ok') return q;
  const signed = what.sign ? signingQueue(q.value, () => ring.value) : q.value;
  const settings = what.seal ? arcSettings(config.value) : undefined;
  return { kind: 'ok', value: settings ? sealingQueue(signed, () => ({ settings, keyring: ring.value })) : signed };
}
