// A set of TCP listeners kept equal to a wanted list of addresses: what the SMTP and POP3
// servers start with and what SIGHUP applies when a listen control file changes.
//
// Interface: new Listeners(make, changed?) where make(kind) returns an unbound net.Server
// for a kind of listener (smtp, submission, smtps; pop3, pop3s) and changed(addresses) is
// told the new set whenever an apply() opened or closed one (for the log);
// apply(wanted) -> Promise<void>; addresses (kind, configured host, bound port; in the
// order opened); close().
// apply(): first closes the listeners that are no longer wanted (they stop accepting at
// once; connections they accepted go on), then opens the missing ones, so an address can
// move from one kind to another. A listener is known by its kind and configured address:
// port 0 stays the port the kernel gave it.
// Failures: apply() rejects naming every address it could not bind ("cannot listen on
// KIND HOST:PORT (reason), ..."); the others are open.
// Privileges: an address that `qmta start` bound as root before dropping (prebound.ts)
// is listened on through that descriptor; any other is bound here, as the account (a
// port below 1024 added by SIGHUP then fails with EACCES and is logged).

import type { Server } from 'node:net';
import { takePrebound } from './prebound.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface Wanted<K extends string> {
  readonly kind: K;
  readonly addr: ListenAddress;
}

export interface Bound<K extends string> {
  readonly kind: K;
  readonly host: string;
  /** The bound port (port 0 resolved). */
  readonly port: number;
}

interface Open<K extends string> extends Bound<K> {
  readonly server: Server;
}

export class Listeners<K extends string> {
  readonly #open = new Map<string, Open<K>>();
  #last: Promise<void> = Promise.resolve();

  constructor(
    private readonly make: (kind: K) => Server,
    private readonly changed: (addresses: Bound<K>[]) => void = () => undefined,
  ) {}

  get addresses(): Bound<K>[] {
    return [...this.#open.values()].map(({ kind, host, port }) => ({ kind, host, port }));
  }

  /** Makes the open listeners those of `wanted` (see the header). Calls run one after
   *  another, so two quick SIGHUPs never bind one address twice. */
  apply(wanted: readonly Wanted<K>[]): Promise<void> {
    const run = this.#last.then(() => this.#apply(wanted));
    this.#last = run.catch(() => undefined);
    return run;
  }

  async #apply(wanted: readonly Wanted<K>[]): Promise<void> {
    const want = new Map(wanted.map((w) => [`${w.kind} ${w.addr.host} ${w.addr.port}`, w]));
    let moved = false;
    for (const [key, l] of this.#open) {
      if (want.has(key)) continue;
      this.#open.delete(key);
      moved = true;
      void closeServer(l.server); // stops accepting now; resolves when its connections end
    }
    const failed: string[] = [];
    for (const [key, { kind, addr }] of want) {
      if (this.#open.has(key)) continue;
      const server = this.make(kind);
      try {
        this.#open.set(key, { kind, host: addr.host, port: await listen(server, addr), server });
        moved = true;
      } catch (err) {
        failed.push(`${kind} ${addr.host}:${addr.port} (${(err as Error).message})`);
      }
    }
    if (moved) this.changed(this.addresses);
    if (failed.length > 0) throw new Error(`cannot listen on ${failed.join(', ')}`);
  }

  /** Stops accepting everywhere; resolves once the connections accepted have ended. */
  close(): Promise<void> {
    const servers = [...this.#open.values()].map((l) => l.server);
    this.#open.clear();
    return Promise.all(servers.map(closeServer)).then(() => undefined);
  }
}

function listen(server: Server, addr: ListenAddress): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const fd = takePrebound(addr);
    const done = () => {
      server.off('error', reject);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound ? bound.port : addr.port);
    };
    if (fd === undefined) server.listen(addr.port, addr.host, done);
    else server.listen({ fd }, done);
  });
}

function closeServer(s: Server): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}
