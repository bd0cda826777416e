// Control files of qmta's trust partitioning (qmail's conf-users and qmail-queue's
// setuid rules, as files): the account the daemon runs as, and who may inject mail with
// any envelope sender. See key.ts for the KeySpec contract; SECURITY.md for the model.

import { lineKey, listKey, type ItemParser } from '../key.js';

/** qmail-getpw's account name rule: lowercase letters, digits, . _ -, at most 31. */
const accountName: ItemParser<string> = (text) =>
  /^[a-z_][a-z0-9._-]{0,30}$/.test(text) ? { value: text } : { reason: `not an account name: "${text}"` };

const trusted: ItemParser<string> = (text, ctx) => (text === '*' ? { value: text } : accountName(text, ctx));

export const privilegeKeys = {
  qmtauser: lineKey('the account (and its group) `qmta start` as root runs as; created when missing', 'qmta',
    () => 'qmta', accountName),
  trustedusers: listKey('local accounts that may inject with any envelope sender (* = everyone, qmail\'s rule); root and qmtauser always may',
    'none', () => [], trusted),
};
