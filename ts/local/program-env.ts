// What qmail-local computes from the envelope before it delivers (qmail.md §5.7, §5.8):
// the Delivered-To, Return-Path and From_ lines, the environment of |program deliveries,
// and the Delivered-To loop check.
//
// Interface:
//   programEnv(input) -> Record<string, string>  SENDER NEWSENDER RECIPIENT USER HOME HOST HOST2-4
//                        LOCAL EXT EXT2-4 [DEFAULT] DTLINE RPLINE UFLINE (merge over the inherited env)
//   deliveredToLine(local, domain), returnPathLine(sender), fromLine(sender, now)
//   isLooping(header, dtline) -> boolean
// No failures: pure string functions. Values are not sanitised (as qmail): a program must
// treat them as attacker-controlled text.

import { quoteAddress } from '../inject/quote.js';

/** Everything qmail-local knows about one delivery that the environment shows. */
export interface EnvInput {
  readonly sender: string;
  readonly newSender: string;
  readonly local: string;
  readonly domain: string;
  readonly user: string;
  readonly home: string;
  readonly ext: string;
  /** Set only when the .qmail file used ends in "default" (§5.3). */
  readonly defaultPart: string | undefined;
  readonly now: Date;
}

/** `Delivered-To: local@domain` + LF; an LF inside becomes `_` so it stays one line. */
export function deliveredToLine(local: string, domain: string): string {
  return `Delivered-To: ${local}@${domain}`.replaceAll('\n', '_') + '\n';
}

/** `Return-Path: <sender>` + LF, the local part quoted only where RFC 5322/6532 need it. */
export function returnPathLine(sender: string): string {
  return `Return-Path: <${quoteAddress(sender)}>`.replaceAll('\n', '_') + '\n';
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** qmail's myctime: `Www Mmm DD HH:MM:SS YYYY` + LF in UTC, day zero-padded. */
export function ctime(now: Date): string {
  const time = `${two(now.getUTCHours())}:${two(now.getUTCMinutes())}:${two(now.getUTCSeconds())}`;
  return `${DAYS[now.getUTCDay()]} ${MONTHS[now.getUTCMonth()]} ${two(now.getUTCDate())} ${time} ${now.getUTCFullYear()}\n`;
}

/** The mbox From_ line: sender with blanks turned into '-', MAILER-DAEMON when empty. */
export function fromLine(sender: string, now: Date): string {
  const who = sender === '' ? 'MAILER-DAEMON' : sender.replace(/[ \t\n]/g, '-');
  return `From ${who} ${ctime(now)}`;
}

/** HOST with the last n dot-components removed; stops shrinking when no dot is left. */
function hostMinus(host: string, n: number): string {
  let end = host.length;
  for (let i = 0; i < n; i++) {
    const dot = host.lastIndexOf('.', end - 1);
    if (dot >= 0) end = dot;
  }
  return host.slice(0, end);
}

/** EXT after its n-th '-' (empty when there are fewer dashes). */
function extAfter(ext: string, n: number): string {
  let rest = ext;
  for (let i = 0; i < n; i++) {
    const dash = rest.indexOf('-');
    rest = dash < 0 ? '' : rest.slice(dash + 1);
  }
  return rest;
}

/** The variables qmail-local puts into the environment of |program lines. */
export function programEnv(i: EnvInput): Record<string, string> {
  const env: Record<string, string> = {
    SENDER: i.sender, NEWSENDER: i.newSender, RECIPIENT: `${i.local}@${i.domain}`,
    USER: i.user, HOME: i.home, LOCAL: i.local,
    HOST: i.domain, HOST2: hostMinus(i.domain, 1), HOST3: hostMinus(i.domain, 2), HOST4: hostMinus(i.domain, 3),
    EXT: i.ext, EXT2: extAfter(i.ext, 1), EXT3: extAfter(i.ext, 2), EXT4: extAfter(i.ext, 3),
    DTLINE: deliveredToLine(i.local, i.domain), RPLINE: returnPathLine(i.sender), UFLINE: fromLine(i.sender, i.now),
  };
  if (i.defaultPart !== undefined) env.DEFAULT = i.defaultPart;
  return env;
}

/**
 * qmail-local's loop check: true when a header line (up to the first empty line) is
 * byte-identical to our Delivered-To line. `header` may be just the message's first bytes;
 * a last line without its LF is not compared, as qmail does at end of input.
 */
export function isLooping(header: Buffer, dtline: string): boolean {
  const want = Buffer.from(dtline);
  for (let pos = 0; pos < header.length;) {
    const nl = header.indexOf(10, pos);
    if (nl < 0) return false;
    const line = header.subarray(pos, nl + 1);
    if (line.length <= 1) return false;
    if (line.equals(want)) return true;
    pos = nl + 1;
  }
  return false;
}
