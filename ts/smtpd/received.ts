// The Received: header qmta's SMTP server puts on top of every accepted message, in
// qmail-smtpd's form (reference/qmail.md §4.6) plus what qmail never had: the TLS
// protocol and cipher, and the authenticated user (RFC 3848 protocol words ESMTP,
// ESMTPS, ESMTPA, ESMTPSA). LF line ends: the queue stores LF.
//
//   Received: from unknown (HELO client.example) (127.0.0.1)
//     (authenticated user bob)
//     by mx.example.org (qmta) with ESMTPSA (TLSv1.3 TLS_AES_256_GCM_SHA384); 24 Nov 2026 23:00:00 -0000
//
// Guarantee (qmail's): every inserted value has each byte that is not a letter, digit or
// one of . @ % + / = : - [ ] _ replaced by '?', so a peer cannot inject header lines.

export interface ReceivedFacts {
  readonly helo?: string;
  readonly ip: string;
  readonly hostname: string;
  readonly tls?: { readonly protocol: string; readonly cipher: string };
  readonly user?: string;
  readonly date: Date;
}

/** Replaces unsafe bytes (anything outside qmail's safe set) with '?'. */
export function safe(value: string): string {
  return value.replace(/[^A-Za-z0-9.@%+/=:\-[\]_]/g, '?').slice(0, 255);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** qmail's date form: "24 Nov 2026 23:00:00 -0000" (UTC). */
export function receivedDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} -0000`;
}

export function receivedHeader(f: ReceivedFacts): Buffer {
  const helo = f.helo ? ` (HELO ${safe(f.helo)})` : '';
  const proto = `ESMTP${f.tls ? 'S' : ''}${f.user !== undefined ? 'A' : ''}`;
  const tls = f.tls ? ` (${safe(f.tls.protocol)} ${safe(f.tls.cipher)})` : '';
  const auth = f.user !== undefined ? `\n  (authenticated user ${safe(f.user)})` : '';
  const text =
    `Received: from unknown${helo} (${safe(f.ip)})${auth}\n` +
    `  by ${safe(f.hostname)} (qmta) with ${proto}${tls}; ${receivedDate(f.date)}\n`;
  return Buffer.from(text, 'latin1');
}
