// An MTA-STS policy server for the remote-delivery tests (node:https with a test certificate):
// one policy file per mta-sts.DOMAIN host, chosen by the Host header.

import type { ExecutionContext } from 'ava';
import { createServer } from 'node:https';

/** A policy file's text. */
export const policy = (mode: string, mx: string) => `version: STSv1\nmode: ${mode}\nmx: ${mx}\nmax_age: 86400\n`;

/** Serves `files` (domain -> policy text; others 404); slow.test's requests are counted and
 * never answered. Resolves with the port on 127.0.0.1. */
export async function policyServer(t: ExecutionContext, tls: { key: Buffer; cert: Buffer }, files: Map<string, string>, held = { count: 0 }): Promise<number> {
  const server = createServer(tls, (req, res) => {
    const domain = (req.headers.host ?? '').replace(/^mta-sts\./, '').replace(/:\d+$/, '');
    if (domain === 'slow.test') return void held.count++;
    const body = files.get(domain);
    if (req.url !== '/.well-known/mta-sts.txt' || body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  return (server.address() as { port: number }).port;
}
