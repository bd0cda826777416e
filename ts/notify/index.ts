// New-mail notification (qbiff's role, for programs rather than terminals): every
// successful maildir or mbox delivery becomes a NewMailEvent given to a listener (the
// embedding API's `newmail` event) and to control/newmailhook when one is set.
//
// Interface: createNotifier({ hook, emit?, log, timeoutMs?, maxRunning? }) -> NewMailSink
// for ts/local's deps. hook() is read per delivery, so a reload (SIGHUP) takes effect at
// once. control/newmailhook: an http:// or https:// URL is POSTed the event as JSON; any
// other line is a program run by /bin/sh -c in the user's home with the delivery's
// environment plus NEWMAIL_USER, NEWMAIL_RECIPIENT, NEWMAIL_SENDER, NEWMAIL_MAILDIR,
// NEWMAIL_FILE (maildir) or NEWMAIL_MBOX (mbox).
// Failures: a listener that throws, a hook that fails or exceeds timeoutMs (default 10 s),
// more than maxRunning hooks at once (default 32: the extra notices are dropped): logged
// (warn), never reported to the delivery.
// A write reported by a system account's delivery (notice.owner) that does not check out
// (claims.ts) gets no notice at all, and a warning.
// Guarantees: the sink returns at once and never throws; the delivery is already
// complete and reported ok whatever happens here.

import { checkClaim } from './claims.js';
import { runHook } from './hook.js';
import type { DeliveryNotice, MailboxWrite, NewMailEvent, NewMailSink } from './types.js';

export type { DeliveryNotice, MailboxWrite, NewMailEvent, NewMailSink } from './types.js';

export interface NotifyLog {
  warn(o: object, msg?: string): void;
}

export interface NotifierOptions {
  /** control/newmailhook as now configured; undefined = no hook. */
  readonly hook: () => string | undefined;
  readonly emit?: (e: NewMailEvent) => void;
  readonly log: NotifyLog;
  readonly timeoutMs?: number;
  readonly maxRunning?: number;
}

export const HOOK_TIMEOUT_MS = 10_000;

export function eventOf(notice: DeliveryNotice, w: MailboxWrite): NewMailEvent {
  const base = { user: notice.user, recipient: notice.recipient, sender: notice.sender };
  return w.kind === 'maildir' ? { ...base, maildir: w.maildir, file: w.file } : { ...base, mbox: w.mbox };
}

export function createNotifier(opts: NotifierOptions): NewMailSink {
  const timeoutMs = opts.timeoutMs ?? HOOK_TIMEOUT_MS;
  const maxRunning = opts.maxRunning ?? 32;
  let running = 0;
  const fire = (hook: string, event: NewMailEvent, notice: DeliveryNotice): void => {
    if (running >= maxRunning) {
      opts.log.warn({ hook, recipient: event.recipient }, `newmailhook: ${running} hooks still running; notice dropped`);
      return;
    }
    running++;
    void runHook(hook, event, notice, timeoutMs).then((r) => {
      running--;
      if (!r.ok) opts.log.warn({ hook, recipient: event.recipient, reason: r.reason }, 'newmailhook failed');
    });
  };
  return (notice) => {
    const hook = opts.hook();
    for (const w of notice.writes) {
      const why = notice.owner === undefined ? undefined : checkClaim(w, notice.owner);
      if (why !== undefined) {
        opts.log.warn({ user: notice.user, recipient: notice.recipient, uid: notice.owner }, `newmail: no notice: ${why}`);
        continue;
      }
      const event = eventOf(notice, w);
      tell(opts, event);
      if (hook !== undefined && hook !== '') fire(hook, event, notice);
    }
  };
}

function tell(opts: NotifierOptions, event: NewMailEvent): void {
  try {
    opts.emit?.(event);
  } catch (err) {
    opts.log.warn({ recipient: event.recipient, err: String(err) }, 'newmail listener threw');
  }
}
