// Envelope addresses as they go into MAIL FROM / RCPT TO (RFC 5321 §4.1.2).
//
// Interface: pathOf(address) -> '<...>' | undefined.
// The local part is sent as a dot-atom when it is one, else quoted with \" and \\
// escaped (qmail-remote quotes the same way); the domain goes as is. '' (bounce) and
// qmail's double-bounce sender '#@[]' both go as '<>': '#@[]' is qmail's internal marker,
// not an address another server would accept.
// Failure: undefined for an address no server should see: control characters (CR, LF
// would inject commands), or longer than MAX_PATH (RFC 5321 §4.5.3.1.3: 256 octets).

export const MAX_PATH = 256;

const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\u0080-\\uffff-]+";
const DOT_ATOM = new RegExp(`^${ATOM}(\\.${ATOM})*$`);

/** The SMTP path for `address`, or undefined when it cannot be sent. */
export function pathOf(address: string): string | undefined {
  if (address === '' || address === '#@[]') return '<>';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(address) || Buffer.byteLength(address) > MAX_PATH) return undefined;
  const at = address.lastIndexOf('@');
  const local = at < 0 ? address : address.slice(0, at);
  const domain = at < 0 ? '' : address.slice(at);
  const quoted = DOT_ATOM.test(local) ? local : `"${local.replace(/(["\\])/g, '\\$1')}"`;
  return `<${quoted}${domain}>`;
}
