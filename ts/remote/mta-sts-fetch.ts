// Fetching an MTA-STS policy file (RFC 8461 §3.3): GET https://mta-sts.DOMAIN/.well-known/
// mta-sts.txt, the certificate verified against mta-sts.DOMAIN (Web PKI, or the CA bundle
// remote delivery is given), redirects not followed, only 200 accepted.
//
// Interface: fetchPolicyText(domain, opts) -> Promise<Outcome<string>> (the file's text).
// The policy host's address comes from the DNS remote delivery uses (control/dnsservers).
// Bounds: at most opts.maxBytes (64 KiB, the RFC's suggestion) and opts.timeoutMs in all
// (connect, TLS, headers and body); a larger or slower answer is a failure.
// Failures (all temporary; the caller falls back to its cached policy or to none, and
// records them for TLS-RPT as sts-policy-fetch-error): no address, connection or TLS failure,
// status other than 200, too large, too slow.

import { request } from 'node:https';
import { temp, ok, type Outcome } from '../outcome.js';

export interface FetchOptions {
  readonly resolve4: (name: string) => Promise<string[]>;
  /** CA bundle; undefined = Node's built-in roots. */
  readonly ca?: string | Buffer;
  /** 443; tests point it elsewhere. */
  readonly port: number;
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

/** The text of DOMAIN's policy file. */
export async function fetchPolicyText(domain: string, o: FetchOptions): Promise<Outcome<string>> {
  const host = `mta-sts.${domain}`;
  let ip: string | undefined;
  try {
    [ip] = await o.resolve4(host);
  } catch (err) {
    return temp('4.4.3', `MTA-STS policy host ${host}: ${(err as { code?: string }).code ?? String(err)}`);
  }
  if (!ip) return temp('4.4.3', `MTA-STS policy host ${host} has no address`);
  return get(ip, host, o);
}

function get(ip: string, host: string, o: FetchOptions): Promise<Outcome<string>> {
  return new Promise((resolve) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      req.destroy();
      resolve(temp('4.7.5', `MTA-STS policy from ${host}: ${why}`));
    };
    const req = request({
      host: ip, port: o.port, servername: host, path: '/.well-known/mta-sts.txt', method: 'GET',
      headers: { host }, agent: false, rejectUnauthorized: true, ...(o.ca !== undefined ? { ca: o.ca } : {}),
    }, (res) => {
      if (res.statusCode !== 200) return fail(`HTTP status ${res.statusCode}`);
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > o.maxBytes) return fail(`larger than ${o.maxBytes} bytes`);
        parts.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve(ok(Buffer.concat(parts).toString('utf8')));
      });
      res.on('error', (err) => fail(err.message));
    });
    const timer = setTimeout(() => fail(`no complete answer within ${o.timeoutMs} ms`), o.timeoutMs);
    req.on('error', (err) => fail((err as { code?: string }).code ?? err.message));
    req.end();
  });
}
