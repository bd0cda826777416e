// An inbound mail app: each message for the application's domain is POSTed to an HTTP
// webhook as it arrives (message/rfc822, the envelope in headers). A 2xx answer delivers
// the recipient; 429 or 5xx (or no answer) defers it, and qmta retries on qmail's schedule;
// any other answer refuses it, and the sender gets a bounce quoting the status.
//
//   WEBHOOK_URL=https://app.example/inbound SMTP=0.0.0.0:25 DOMAIN=app.example node examples/webhook.js
// @ts-check
import { createMta } from 'qmta';
import { Readable } from 'node:stream';

const { QMTA_HOME = './qmta-home', SMTP = '127.0.0.1:2525', DOMAIN = 'app.example', WEBHOOK_URL } = process.env;
if (!WEBHOOK_URL) throw new Error('set WEBHOOK_URL');

const mta = await createMta({
  home: QMTA_HOME,
  listen: true,
  control: { me: `mx.${DOMAIN}`, locals: [DOMAIN], rcpthosts: [DOMAIN], smtplisten: [SMTP], submissionlisten: [], pop3listen: [] },
  store: {
    recipients: (address) => address.toLowerCase().endsWith(`@${DOMAIN}`),
    timeoutMs: 30_000,
    async deliver({ id, sender, recipient, message, size, signal }) {
      const res = await fetch(WEBHOOK_URL, {
        method: 'POST',
        headers: {
          'content-type': 'message/rfc822', 'content-length': String(size),
          'x-qmta-id': id, 'x-envelope-from': sender, 'x-envelope-to': recipient,
        },
        body: /** @type {ReadableStream} */ (Readable.toWeb(message)),
        duplex: 'half',
        signal,
      });
      await res.body?.cancel();
      if (res.ok) return `webhook answered ${res.status}`;
      const text = `webhook answered ${res.status}`;
      return res.status === 429 || res.status >= 500 ? { action: 'defer', status: '4.3.0', text } : { action: 'refuse', status: '5.3.0', text };
    },
  },
});
for (const event of /** @type {const} */ (['delivered', 'deferred', 'failed'])) {
  mta.on(event, (e) => console.log(`${event} ${e.id} ${e.recipient}: ${e.report}`));
}
process.once('SIGTERM', () => void mta.stop());
await mta.start();
console.error(`ready: SMTP on ${SMTP}, mail for @${DOMAIN} goes to ${WEBHOOK_URL}`);
