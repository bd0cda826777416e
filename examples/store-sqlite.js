// A custom store: every message for the application's domain goes into an SQLite table
// (node:sqlite) instead of a maildir, one row per recipient. qmta's guarantees carry over:
// a recipient counts as delivered once deliver() resolves, so the row's key (queue id,
// recipient) makes a repeated delivery after a crash harmless.
//
//   QMTA_HOME=./qmta-home SMTP=127.0.0.1:2525 DB=./mail.db DOMAIN=app.example node examples/store-sqlite.js
//   swaks --server 127.0.0.1:2525 --to joe@app.example
//   sqlite3 mail.db 'select id, recipient, sender, length(message) from mail'
// @ts-check
import { DatabaseSync } from 'node:sqlite';
import { buffer } from 'node:stream/consumers';
import { createMta } from 'qmta';

const { QMTA_HOME = './qmta-home', SMTP = '127.0.0.1:2525', DB = './mail.db', DOMAIN = 'app.example' } = process.env;

const db = new DatabaseSync(DB);
db.exec(`CREATE TABLE IF NOT EXISTS mail (
  id TEXT NOT NULL, recipient TEXT NOT NULL, sender TEXT NOT NULL, stored_at INTEGER NOT NULL,
  message BLOB NOT NULL, PRIMARY KEY (id, recipient))`);
// A second delivery of a copy already stored changes nothing.
const insert = db.prepare('INSERT OR IGNORE INTO mail VALUES (?, ?, ?, ?, ?)');

const mta = await createMta({
  home: QMTA_HOME,
  listen: true,
  control: { me: `mx.${DOMAIN}`, locals: [DOMAIN], rcpthosts: [DOMAIN], smtplisten: [SMTP], submissionlisten: [], pop3listen: [] },
  store: {
    recipients: (address) => address.toLowerCase().endsWith(`@${DOMAIN}`),
    async deliver({ id, sender, recipient, message, size }) {
      if (size > 25 * 1024 * 1024) return { action: 'refuse', status: '5.3.4', text: 'Message too big for the archive.' };
      insert.run(id, recipient, sender, Date.now(), await buffer(message));
      return `stored in ${DB}`;
    },
  },
});
for (const event of /** @type {const} */ (['delivered', 'deferred', 'failed'])) {
  mta.on(event, (e) => console.log(`${event} ${e.id} ${e.recipient}: ${e.report}`));
}
process.once('SIGTERM', () => void mta.stop().then(() => db.close()));
await mta.start();
console.error(`ready: SMTP on ${SMTP}, mail for @${DOMAIN} goes into ${DB}`);
