// ts/remote: outbound SMTP (qmail-rspawn + qmail-remote's role). The daemon builds one
// service with createRemoteDelivery(settings) and hands it to the scheduler (ts/send);
// ts/config parses the control files with control-syntax.ts into RemoteSettings.

export { createRemoteDelivery, createResolver, type RemoteDeps, type RemoteLog, type RemoteService } from './deliver.js';
export { parseRemoteAuth, parseSmtpRoutes, parseTlsRequired } from './control-syntax.js';
export { defaultRemoteSettings, type RemoteAuth, type RemoteSettings, type SmtpRoute } from './settings.js';
