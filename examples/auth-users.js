// AUTH and recipients from the application's own user table (SQLite, node:sqlite), with
// no entry in qmta's users/: the `auth` hook checks a login against the table (scrypt
// hashes) and names the session after the user's address, the `rcpt` hook accepts the
// table's addresses and refuses every other address of the domain with 550 5.1.1 at RCPT
// (no bounce later), and a store keeps their mail in the same database. AUTH is offered
// on the submission listener after STARTTLS (qmta makes a self-signed certificate on first
// start; put your own in control/tlscert and control/tlskey).
//
//   DB=./app.db node examples/auth-users.js adduser ann@app.example 'her password'
//   QMTA_HOME=./qmta-home SMTP=127.0.0.1:2525 SUBMISSION=127.0.0.1:2587 DB=./app.db DOMAIN=app.example node examples/auth-users.js
//   swaks --server 127.0.0.1:2587 -tls --auth-user ann@app.example --auth-password 'her password' --to ann@app.example
//   sqlite3 app.db 'select id, recipient, sender, length(message) from mail'
// @ts-check
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { createMta } from 'qmta';

const { QMTA_HOME = './qmta-home', SMTP = '127.0.0.1:2525', SUBMISSION = '127.0.0.1:2587', DB = './app.db', DOMAIN = 'app.example' } = process.env;
const hash = /** @type {(password: string, salt: Buffer, length: number) => Promise<Buffer>} */ (promisify(scrypt));

const db = new DatabaseSync(DB);
db.exec(`CREATE TABLE IF NOT EXISTS users (address TEXT PRIMARY KEY, salt BLOB NOT NULL, hash BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS mail (id TEXT NOT NULL, recipient TEXT NOT NULL, sender TEXT NOT NULL,
    message BLOB NOT NULL, PRIMARY KEY (id, recipient))`);
const findUser = db.prepare('SELECT salt, hash FROM users WHERE address = ?');
const keep = db.prepare('INSERT OR IGNORE INTO mail VALUES (?, ?, ?, ?)');

if (process.argv[2] === 'adduser') {
  const [address, password] = process.argv.slice(3);
  if (!address || !password) throw new Error('usage: adduser ADDRESS PASSWORD');
  const salt = randomBytes(16);
  db.prepare('INSERT OR REPLACE INTO users VALUES (?, ?, ?)').run(address.toLowerCase(), salt, await hash(password, salt, 32));
  process.exit(0);
}

/**
 * Whether `password` is the user's; an unknown user costs the same time.
 * @param {string} address
 * @param {string} password
 */
async function login(address, password) {
  const row = /** @type {{ salt: Uint8Array, hash: Uint8Array } | undefined} */ (findUser.get(address.toLowerCase()));
  const key = await hash(password, Buffer.from(row?.salt ?? randomBytes(16)), 32);
  return row !== undefined && timingSafeEqual(key, row.hash);
}

const mta = await createMta({
  home: QMTA_HOME,
  listen: true,
  control: { me: `mx.${DOMAIN}`, locals: [DOMAIN], rcpthosts: [DOMAIN], smtplisten: [SMTP], submissionlisten: [SUBMISSION], pop3listen: [] },
  hooks: {
    auth: async ({ username, password }) => ((await login(username, password))
      ? { action: 'accept', user: username.toLowerCase() }
      : { action: 'refuse' }),
    rcpt: ({ address }) => {
      if (!address.toLowerCase().endsWith(`@${DOMAIN}`)) return undefined; // qmta's relay rules decide
      return findUser.get(address.toLowerCase()) ? { action: 'accept' } : { action: 'refuse', code: 550, status: '5.1.1', text: 'no such user here' };
    },
  },
  store: {
    recipients: (address) => address.toLowerCase().endsWith(`@${DOMAIN}`),
    async deliver({ id, sender, recipient, message }) {
      keep.run(id, recipient.toLowerCase(), sender, await buffer(message));
    },
  },
});
for (const event of /** @type {const} */ (['delivered', 'deferred', 'failed'])) {
  mta.on(event, (e) => console.log(`${event} ${e.id} ${e.recipient}: ${e.report}`));
}
process.once('SIGTERM', () => void mta.stop().then(() => db.close()));
await mta.start();
console.error(`ready: SMTP on ${SMTP}, submission on ${SUBMISSION}, users and mail of @${DOMAIN} in ${DB}`);
