// Shared set-up of the local delivery e2e tests: a home with users, an Mta whose remote
// deliveries are recorded (bounces to remote senders land there), and file helpers.

import type { ExecutionContext } from 'ava';
import { readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createMta, type Mta, type DeliveryEvent } from '../../ts/index.js';
import { ok } from '../../ts/outcome.js';
import type { ControlOverrides } from '../../ts/config/index.js';
import type { Log } from '../../ts/log/index.js';
import { addUser } from '../../ts/users/index.js';
import { tempDir } from '../helpers/home.js';

export interface RemoteCopy {
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly body: string;
}

export interface LocalSetup {
  readonly home: string;
  readonly mta: Mta;
  readonly remote: RemoteCopy[];
  readonly events: { kind: string; e: DeliveryEvent }[];
  /** Injects and waits until the whole queue is idle (forwards and bounces included). */
  send(from: string, to: string[], message: string): Promise<string>;
  userHome(name: string): string;
  dotQmail(user: string, name: string, text: string, mode?: number): void;
  /** Every message text in a maildir's new/. */
  maildir(path: string): string[];
}

export async function setupLocal(t: ExecutionContext, users: string[], control: ControlOverrides = {}, log: Log | false = false): Promise<LocalSetup> {
  const home = join(tempDir(t), 'home');
  const remote: RemoteCopy[] = [];
  const mta = await createMta({
    home, log, programTimeoutMs: 5000,
    control: { me: 'mx.example', locals: ['mx.example'], ...control },
    remote: {
      async deliver(req) {
        remote.push({ sender: req.sender, recipients: req.recipients, body: readFileSync(req.bodyPath, 'utf8') });
        return req.recipients.map((address) => ({ address, outcome: ok('accepted') }));
      },
    },
  });
  for (const u of users) {
    const r = await addUser(home, u);
    if (r.kind !== 'ok') throw new Error(r.text);
  }
  await mta.reload();
  t.teardown(() => mta.stop(2000));
  await mta.start();
  const events: { kind: string; e: DeliveryEvent }[] = [];
  for (const kind of ['delivered', 'deferred', 'failed'] as const) mta.on(kind, (e) => events.push({ kind, e }));
  const userHome = (name: string) => join(home, 'mail', name);
  return {
    home, mta, remote, events, userHome,
    async send(from, to, message) {
      const id = await mta.inject({ from, to, message: Buffer.from(message) });
      await mta.idle(); // the commit reached the scheduler before inject() resolved
      return id;
    },
    dotQmail(user, name, text, mode = 0o644) {
      const path = join(userHome(user), name);
      writeFileSync(path, text);
      chmodSync(path, mode);
    },
    maildir(path) {
      const dir = join(path, 'new');
      return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), 'utf8'));
    },
  };
}
