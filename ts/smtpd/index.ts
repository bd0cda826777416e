// ts/smtpd: qmta's SMTP server (qmail-smtpd's role). See server.ts for the listener,
// connection.ts for one session, policy.ts for the acceptance rules.

export { startSmtpd } from './server.js';
export { receivedHeader } from './received.js';
export type { EtrnDeps, EtrnFlushReport, EtrnTarget } from './etrn.js';
export type { EtrnRoute, ListenAddress, ListenerKind, SmtpdDeps, SmtpdHandle, SmtpdLog, SmtpdSettings, SmtpdTls } from './types.js';
