// The new-mail notice (qbiff's role): what a successful mailbox write tells the embedding
// API's `newmail` event and the control/newmailhook program or URL.
//
// Constraint shared by ts/local (which collects the writes in the delivery worker and
// reports them from the main thread) and ts/notify (which fans them out).

/** One mailbox a local delivery wrote into (collected in the worker, plain data). */
export type MailboxWrite =
  | { readonly kind: 'maildir'; readonly maildir: string; readonly file: string }
  | { readonly kind: 'mbox'; readonly mbox: string };

/** One successful maildir or mbox delivery. */
export interface NewMailEvent {
  /** The users/assign user (or 'alias') the recipient was delivered to. */
  readonly user: string;
  /** The routed recipient (local@domain, after virtualdomains). */
  readonly recipient: string;
  /** The envelope sender ('' for a bounce). */
  readonly sender: string;
  /** The maildir folder, for a maildir delivery. */
  readonly maildir?: string;
  /** The new message's path (maildir/new/<unique>), for a maildir delivery. */
  readonly file?: string;
  /** The mbox file, for an mbox delivery. */
  readonly mbox?: string;
}

/** What ts/local hands the notifier after a delivery whose outcome was ok. */
export interface DeliveryNotice {
  readonly user: string;
  readonly recipient: string;
  readonly sender: string;
  /** The user's home: cwd of a program hook. */
  readonly home: string;
  /** The delivery's environment (as |program lines got it: HOME, USER, LOCAL, HOST, SENDER, RECIPIENT...). */
  readonly env: Readonly<Record<string, string>>;
  readonly writes: readonly MailboxWrite[];
  /** Set when the delivery ran as this uid through the helper: its writes are that
   *  account's claims (claims.ts checks each). */
  readonly owner?: number;
}

/** Given by ts/local's deps; must not throw and must not wait (fire-and-forget). */
export type NewMailSink = (notice: DeliveryNotice) => void;
