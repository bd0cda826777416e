// A content check over HTTP: at the end of DATA a `data` hook streams each message to a
// spam scanner speaking rspamd's HTTP protocol (POST /checkv2, the envelope in headers, a
// JSON verdict) and answers the client before anything is queued: "reject" refuses the
// message (554 5.7.1, with the scanner's SMTP message when it gives one), "soft reject" and
// "greylist" defer it (451 4.7.1), anything else accepts it, and qmail's usual delivery
// takes it (postmaster@DOMAIN is HOME/alias/Maildir; add users with `qmta user add`). A
// scanner that cannot be reached, answers an error or is slower than hooks.timeoutMs
// defers the message too, so no mail is lost or let through unchecked.
//
//   SCANNER_URL=http://127.0.0.1:11333 QMTA_HOME=./qmta-home SMTP=127.0.0.1:2525 DOMAIN=app.example node examples/content-check.js
//   swaks --server 127.0.0.1:2525 --to postmaster@app.example --body "$(printf 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X')"
// @ts-check
import { request } from 'node:http';
import { json } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { createMta } from 'qmta';

const { QMTA_HOME = './qmta-home', SMTP = '127.0.0.1:2525', DOMAIN = 'app.example', SCANNER_URL = 'http://127.0.0.1:11333' } = process.env;
const unavailable = /** @type {const} */ ({ action: 'defer', code: 451, status: '4.7.1', text: 'content scanner unavailable, try again later' });

/**
 * The scanner's verdict on one message (rspamd's /checkv2).
 * @param {import('qmta').DataInput} message
 * @param {import('qmta').HookSession} session
 * @param {AbortSignal} signal
 * @returns {Promise<{ action?: string, messages?: { smtp_message?: string } } | undefined>} undefined: no usable answer
 */
async function scan({ stream, size }, session, signal) {
  const req = request(new URL('/checkv2', SCANNER_URL), {
    method: 'POST', signal,
    headers: {
      'content-length': size, 'queue-id': session.id, ip: session.remoteAddress, helo: session.helo ?? '',
      from: session.envelope.mailFrom ?? '', rcpt: [...session.envelope.rcptTo], ...(session.user ? { user: session.user } : {}),
    },
  });
  const answered = new Promise((resolve, reject) => req.once('response', resolve).once('error', reject));
  await pipeline(stream, req);
  const res = /** @type {import('node:http').IncomingMessage} */ (await answered);
  if (res.statusCode !== 200) return void res.resume();
  return /** @type {{ action?: string }} */ (await json(res));
}

/** The scanner's text as one line of printable ASCII (what an SMTP reply may carry). */
const replyText = (text = '') => text.replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 200) || 'message refused as spam';

const mta = await createMta({
  home: QMTA_HOME,
  listen: true,
  control: { me: `mx.${DOMAIN}`, locals: [DOMAIN], rcpthosts: [DOMAIN], smtplisten: [SMTP], submissionlisten: [], pop3listen: [] },
  hooks: {
    timeoutMs: 20_000,
    data: async (message, session, { signal }) => {
      const verdict = await scan(message, session, signal).catch(() => undefined);
      switch (verdict?.action) {
        case undefined:
          return unavailable;
        case 'reject':
          return { action: 'refuse', code: 554, status: '5.7.1', text: replyText(verdict.messages?.smtp_message) };
        case 'soft reject':
        case 'greylist':
          return { action: 'defer', code: 451, status: '4.7.1', text: 'message deferred by the content scanner, try again later' };
        default:
          return undefined; // accepted: qmta delivers it
      }
    },
  },
});
for (const event of /** @type {const} */ (['delivered', 'deferred', 'failed'])) {
  mta.on(event, (e) => console.log(`${event} ${e.id} ${e.recipient}: ${e.report}`));
}
process.once('SIGTERM', () => void mta.stop());
await mta.start();
console.error(`ready: SMTP on ${SMTP}, each message checked by ${SCANNER_URL}/checkv2`);
