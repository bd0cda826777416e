// The SMTP listener's contract: settings (ts/config maps control/ files onto them) and
// dependencies (queue, recipient validation, password check, logger, clock).

import type { SubmissionSigner } from '../dkim/submission.js';
import type { HookRunner } from '../hooks/index.js';
import type { DataCheck } from '../inbound/data.js';
import type { MailFromCheck } from '../inbound/mail-from.js';
import type { DirectPlan } from '../local/direct.js';
import type { SmtpCounters } from '../native.js';
import type { Outcome } from '../outcome.js';
import type { Queue } from '../queue/types.js';
import type { EtrnDeps } from './etrn.js';
import type { ListenAddress } from '../net/listeners.js';
export type { ListenAddress } from '../net/listeners.js';

export interface SmtpdTls {
  /** PEM files; when both are missing, a self-signed pair is generated there (logged). */
  readonly certFile: string;
  readonly keyFile: string;
}

/** A passive domain ETRN may start (control/etrnroutes) and where its mail goes. */
export interface EtrnRoute {
  readonly domain: string;
  /** Absent: the client that said ETRN (RFC 1985). */
  readonly host?: string;
  readonly port: number;
}

export interface SmtpdSettings {
  /** control/me: greeting, EHLO reply, Received "by". */
  readonly hostname: string;
  /** Port 25-style listeners (qmta default 127.0.0.1:2525). */
  readonly smtp?: readonly ListenAddress[];
  /** Submission listeners: MAIL needs AUTH (530 5.7.0). */
  readonly submission?: readonly ListenAddress[];
  /** Implicit-TLS submission listeners (RFC 8314); need `tls`. */
  readonly smtps?: readonly ListenAddress[];
  /** control/rcpthosts + morercpthosts: domains accepted from anyone (".example.com" = subdomains). */
  readonly rcpthosts: readonly string[];
  /** control/relayclients: IPs or CIDR networks that may relay. Default 127.0.0.1 and ::1. */
  readonly relayClients?: readonly string[];
  /** control/badmailfrom: addresses or "@domain". */
  readonly badmailfrom?: readonly string[];
  /** Networks answered 554 at connect (tcprules deny). */
  readonly deny?: readonly string[];
  /** control/databytes; 0 = unlimited. */
  readonly databytes?: number;
  /** Recipients per message (default 100). */
  readonly maxRcpts?: number;
  /** Error replies before 421 (default 20). */
  readonly maxErrors?: number;
  /** Longest DATA line with CR LF (default 1000; 0 = unlimited). */
  readonly maxTextLine?: number;
  /** Connections at once (default 200) and per client IP (default 20). */
  readonly maxConnections?: number;
  readonly maxPerIp?: number;
  /** control/timeoutsmtpd in ms (default 1,200,000) and the whole-session limit (default 3,600,000). */
  readonly timeoutMs?: number;
  readonly sessionLimitMs?: number;
  /** STARTTLS / implicit TLS certificate. */
  readonly tls?: SmtpdTls;
  /** Offer AUTH over plaintext too (loopback testing only). */
  readonly authWithoutTls?: boolean;
  /** Delay before a 535 (failed AUTH) reply, slowing password guessing (default 1,000 ms). */
  readonly authFailDelayMs?: number;
  /** Offer CHUNKING (default true). */
  readonly chunking?: boolean;
  /** Time given to sessions in the middle of a message at shutdown (default 10,000 ms). */
  readonly shutdownGraceMs?: number;
  /** control/etrnroutes: ETRN is offered when this is non-empty and deps.etrn is given. */
  readonly etrn?: readonly EtrnRoute[];
  /** control/directsync fsync: a message delivered at accept time is made durable by fsyncs
   *  of each file and its new/ folder rather than by syncs of the filesystem. */
  readonly syncEachFile?: boolean;
}

export interface SmtpdLog {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

export interface SmtpdDeps {
  /** Where accepted messages go (only its root is used: bodies are written in the core). */
  readonly queue: Pick<Queue, 'root'>;
  /** RCPT-time check for recipients in rcpthosts; false or a perm Outcome -> 550 5.1.1. Absent: accept all (qmail). */
  readonly validateRecipient?: (address: string) => Promise<boolean | Outcome<boolean>>;
  /** users/passwd check; absent: AUTH not offered. */
  readonly checkPassword?: (user: string, password: string) => Promise<boolean>;
  /** Called with each committed message id (wakes the scheduler). */
  readonly onQueued?: (id: string) => void;
  /** Delivery at accept time: where an accepted recipient is written before the 250
   *  (ts/local/direct.ts); undefined, or absent, queues it. */
  readonly planDirect?: (address: string, sender: string) => DirectPlan | undefined;
  /** Called after a 250 with the recipients written at accept time (logs, events, notices). */
  readonly onDelivered?: (d: DirectDelivered) => void;
  /** The passive queues ETRN starts (ts/flush); absent: ETRN not offered. */
  readonly etrn?: EtrnDeps;
  readonly log?: SmtpdLog;
  /** The application's hooks (embedding): asked after qmta's own checks at each point. */
  readonly hooks?: HookRunner;
  /** The SPF check of a stranger's MAIL FROM (ts/inbound/mail-from.ts). */
  readonly checkMail?: MailFromCheck;
  /** The checks of a stranger's message at its end (ts/inbound/data.ts). */
  readonly checkData?: DataCheck;
  /** DKIM signing of relay and authenticated mail (ts/dkim/submission.ts), when keys exist. */
  readonly sign?: { readonly enabled: () => boolean; readonly signer: SubmissionSigner };
  /** Bind now, accept only at handle.start() (a daemon dropping its privileges in between). */
  readonly deferAccept?: boolean;
}

/** Recipients of one message that were delivered at accept time. */
export interface DirectDelivered {
  /** The id the logs give these deliveries. */
  readonly id: string;
  readonly bytes: number;
  readonly sender: string;
  readonly delivered: readonly { readonly plan: DirectPlan; readonly files: readonly string[] }[];
}

export interface SmtpdHandle {
  /** Bound addresses now, in the order listened (port 0 resolved). */
  readonly addresses: readonly { readonly kind: ListenerKind; readonly host: string; readonly port: number }[];
  /** Starts accepting, when deps.deferAccept held it back. */
  start(): void;
  /** What the sessions did so far (cumulative counts, for the metrics exporter). */
  counters(): SmtpCounters;
  /** New rules (rcpthosts, relay clients, deny list, badmailfrom, limits, certificate) for new
   *  connections, then the listeners of `settings` (new ones opened, dropped ones closed;
   *  their sessions go on). Rejects on a malformed network list or certificate (nothing
   *  changed) or on an address that cannot be bound (everything else applied). */
  update(settings: SmtpdSettings): Promise<void>;
  /** Stops accepting, lets messages in progress finish (bounded), then closes everything. */
  close(): Promise<void>;
}

export type ListenerKind = 'smtp' | 'submission' | 'smtps';
