// Remote delivery settings: a plain typed object (ts/config maps control files to it;
// the embedding API passes the same shape). Nothing here reads files or globals.
//
// Control names (qmail's where qmail had one): smtproutes, helohost, timeoutconnect,
// timeoutremote, concurrencyremote; qmta's own: dnsservers, tlsrequired, remoteauth,
// concurrencyperdomain, mtasts, dane. ts/config/keys/remote.ts parses them; ts/daemon/wiring.ts
// converts its entries into these shapes (a constraint kept at both ends).

/** One control/smtproutes entry: `key:relay[:port]`; relay '' means "use MX as usual";
 * relay may be a name, an address or '[address]' / '[IPv6:address]'. */
export interface SmtpRoute {
  /** 'a.b.c', '.b.c' (suffix), or '' (the default route); lowercase. */
  readonly key: string;
  readonly relay: string;
  readonly port: number;
}

/** One control/remoteauth entry: credentials for a smarthost (matched by relay name). */
export interface RemoteAuth {
  readonly relay: string;
  readonly user: string;
  readonly password: string;
}

export interface RemoteSettings {
  /** control/helohost (qmail: defaults to control/me). */
  readonly helohost: string;
  readonly smtproutes: readonly SmtpRoute[];
  /** control/dnsservers: 'ip' or 'ip:port' / '[ipv6]:port'; empty = the system's resolvers. */
  readonly dnsServers: readonly string[];
  /** Seconds per DNS query try (node:dns Resolver timeout), tried dnsTries times. */
  readonly dnsTimeout: number;
  readonly dnsTries: number;
  /** control/timeoutconnect, seconds per connect() (qmail default 60). */
  readonly timeoutConnect: number;
  /** control/timeoutremote, seconds per read or write (qmail default 1200). */
  readonly timeoutRemote: number;
  /** control/tlsrequired: domains ('a.b' or '.b' suffix keys) that get verified TLS or nothing. */
  readonly tlsRequired: readonly string[];
  /** PEM CA bundle for verified TLS; undefined = Node's built-in roots. */
  readonly tlsCa?: string | Buffer;
  readonly auth: readonly RemoteAuth[];
  /** control/concurrencyremote: SMTP transactions at once, in total (qmail default 20). */
  readonly concurrencyRemote: number;
  /** control/concurrencyperdomain: transactions at once for one destination domain. */
  readonly concurrencyPerDomain: number;
  /** Addresses that are this host; undefined = the interfaces' addresses + 127/8 + ::1. */
  readonly localAddresses?: readonly string[];
  /** Port for MX and A destinations (25; tests point it elsewhere). smtproutes carry their own. */
  readonly port: number;
  /** Seconds a host whose TLS handshake failed is sent plaintext without trying STARTTLS. */
  readonly plaintextMemory: number;
  /** Seconds a host with 2+ recent connect timeouts is skipped (qmail: about an hour). */
  readonly downedHostSkip: number;
  /** Seconds a finished SMTP session stays open for the next delivery to the same server
   * (at most concurrencyremote idle sessions); 0 = one connection per delivery, as qmail. */
  readonly sessionIdle: number;
  /** File that keeps the downed-host memory across restarts (qmail's queue/lock/tcpto); none = memory only. */
  readonly tcptoPath?: string;
  /** control/mtasts: apply recipient domains' MTA-STS policies (RFC 8461; ts/remote/sts-apply.ts). */
  readonly mtaSts: boolean;
  /** control/dane: DANE for MX deliveries (RFC 7672; ts/remote/tls-plan.ts), honoured only
   * when every dnsServers entry is a validating resolver on loopback. */
  readonly dane: boolean;
  /** Port of MTA-STS policy hosts (443; tests point it elsewhere). */
  readonly mtaStsPort: number;
  /** Seconds one policy fetch may take in all: connect, TLS, headers and body (30). */
  readonly mtaStsTimeout: number;
  /** Folder for state kept across restarts (the MTA-STS policy cache); none = memory only. */
  readonly stateDir?: string;
  /** Folder of the daily TLS-RPT reports (RFC 8460); none = no reports. */
  readonly tlsReportDir?: string;
}

export const defaultRemoteSettings: RemoteSettings = {
  helohost: 'localhost',
  smtproutes: [],
  dnsServers: [],
  dnsTimeout: 5,
  dnsTries: 3,
  timeoutConnect: 60,
  timeoutRemote: 1200,
  tlsRequired: [],
  auth: [],
  concurrencyRemote: 20,
  concurrencyPerDomain: 5,
  port: 25,
  plaintextMemory: 86400,
  downedHostSkip: 3600,
  sessionIdle: 5,
  mtaSts: false,
  dane: false,
  mtaStsPort: 443,
  mtaStsTimeout: 30,
};

/** Keys tried for host a.b.c, qmail's order: 'a.b.c', '.b.c', '.c', ''. */
export function lookupKeys(host: string): string[] {
  const h = host.toLowerCase();
  const keys = [h];
  for (let i = h.indexOf('.'); i >= 0; i = h.indexOf('.', i + 1)) keys.push(h.slice(i));
  keys.push('');
  return keys;
}
