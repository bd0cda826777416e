// ts/remote: outbound SMTP (qmail-rspawn + qmail-remote's role). The daemon builds one
// service with createRemoteDelivery(settings) and hands it to the scheduler (ts/send);
// ts/config reads the control files, ts/daemon/wiring.ts maps them to RemoteSettings.

export { createRemoteDelivery, createResolver, type RemoteDeps, type RemoteLog, type RemoteService } from './deliver.js';
export { defaultRemoteSettings, type RemoteAuth, type RemoteSettings, type SmtpRoute } from './settings.js';
