// Control files every part reads: the host's name, local domains and the routing tables
// (qmail-send's), and the TLS certificate shared by the SMTP and POP3 listeners.
// See key.ts for the KeySpec contract; index.ts combines this table with the others.

import { hostname } from 'node:os';
import { join } from 'node:path';
import { lineKey, listKey, lowercase, type ItemParser } from '../key.js';
import { homePath, virtualDomain } from '../values.js';

const nonEmpty: ItemParser<string> = (text) => (text === '' ? { reason: 'empty value' } : { value: text });
const inHome: ItemParser<string> = (text, ctx) => homePath(text, ctx.home);

export const coreKeys = {
  // qmail has no default and refuses to run; qmta uses the host name (the home creator
  // writes it into control/me anyway).
  me: lineKey('this host\'s fully qualified name; the default for every "me" entry', 'hostname',
    () => hostname(), nonEmpty),
  locals: listKey('domains whose mail is delivered locally (exact, case-insensitive)', 'me',
    (ctx) => [ctx.me.toLowerCase()], lowercase),
  virtualdomains: listKey('user@dom:prepend, dom:prepend, .suffix:prepend, :prepend; empty prepend = exception',
    'none', () => [], virtualDomain),
  percenthack: listKey('domains where user%host@dom is rewritten to user@host', 'none', () => [], lowercase),
  envnoathost: lineKey('domain appended to envelope recipients without @', 'me', (ctx) => ctx.me),
  tlscert: lineKey('PEM certificate chain for STARTTLS and implicit TLS (path relative to home)',
    'control/tlscert.pem', (ctx) => join(ctx.home, 'control', 'tlscert.pem'), inHome),
  tlskey: lineKey('PEM private key for tlscert (path relative to home)',
    'control/tlskey.pem', (ctx) => join(ctx.home, 'control', 'tlskey.pem'), inHome),
};
