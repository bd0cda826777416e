// Control files of the POP3 service (qmail-popup/qmail-pop3d ran under tcpserver; the
// listeners and password options are qmta's). See key.ts for the KeySpec contract.

import { flagKey, listKey, optionalLineKey } from '../key.js';
import { listenAddress } from '../values.js';

export const pop3Keys = {
  pop3listen: listKey('POP3 listeners, HOST:PORT per line', '127.0.0.1:2110',
    () => [{ host: '127.0.0.1', port: 2110 }], listenAddress),
  pop3slisten: listKey('implicit-TLS POP3 listeners, HOST:PORT per line', 'none', () => [], listenAddress),
  pop3plaintext: flagKey('1 = allow USER/PASS without TLS (loopback tests); 0 = only after STLS', false),
  checkpassword: optionalLineKey('checkpassword-compatible program (qmail fd 3 protocol) used instead of users/passwd'),
};
