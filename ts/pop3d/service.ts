// The POP3 service as `qmta start` runs it: settings from control/, users from users/,
// the TLS certificate shared with the SMTP service (ts/smtpd/tls.ts: control/tlscert.pem
// and control/tlskey.pem, a self-signed pair generated when both are missing).
//
// Interface: pop3Service (a ServiceStarter for ts/daemon/services.ts); pop3Settings(config).
// Control files: pop3listen (default 127.0.0.1:2110), pop3slisten (default none),
// pop3plaintext (default 0), checkpassword (default none: users/passwd and users/apop),
// me (the APOP banner's host), tlscert, tlskey.
// Failures: a certificate that cannot be read or made, or a listener that cannot bind
// -> temp 4.3.0 naming the cause (the daemon refuses to start: broken configuration).
// Reload: users/ files are read at every login, so `qmta user passwd` takes effect at
// once; SIGHUP reads the certificate pair again (a renewed one serves the next
// handshakes; a bad one is logged and the old one kept), then pop3listen and pop3slisten
// (listeners added are opened, those dropped closed; sessions on them go on).

import type { Config } from '../config/index.js';
import type { ServiceStarter } from '../daemon/services.js';
import { ok, temp } from '../outcome.js';
import { loadTls } from '../smtpd/tls.js';
import { pop3DepsFromHome } from './home-deps.js';
import { startPop3d } from './index.js';
import type { Pop3Settings } from './settings.js';

interface HostPort {
  readonly host: string;
  readonly port: number;
}

function spec(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The POP3 settings that control/ gives, without the certificate. */
export function pop3Settings(c: Config): Partial<Pop3Settings> {
  return {
    listen: c.pop3listen.map(spec),
    listenTls: c.pop3slisten.map(spec),
    plaintext: c.pop3plaintext,
    hostname: c.me,
    ...(c.checkpassword ? { checkpassword: c.checkpassword.split(/\s+/).filter(Boolean) } : {}),
  };
}

/** Starts the POP3 listeners of a home. */
export const pop3Service: ServiceStarter = async (ctx) => {
  const c = ctx.config.current();
  try {
    const tls = loadTls({ certFile: c.tlscert, keyFile: c.tlskey }, c.me, ctx.log);
    const server = await startPop3d({ ...pop3Settings(c), tls }, { ...pop3DepsFromHome(ctx.home, ctx.log), ...(ctx.pop3RunAs ? { runAs: ctx.pop3RunAs } : {}) });
    // SIGHUP: a renewed certificate pair serves the next handshakes; a bad one keeps the old.
    const reload = (): void => {
      const now = ctx.config.current();
      try {
        server.setTls(loadTls({ certFile: now.tlscert, keyFile: now.tlskey }, now.me, ctx.log));
      } catch (err) {
        ctx.log.error({ event: 'pop3', err: (err as Error).message }, 'pop3: certificate reload refused, previous one kept');
      }
      const listen = pop3Settings(now);
      server.relisten(listen.listen ?? [], listen.listenTls ?? []).catch((err: unknown) => {
        ctx.log.error({ event: 'pop3', err: (err as Error).message }, `pop3: reload incomplete: ${(err as Error).message}`);
      });
    };
    return ok({ name: 'pop3', stop: () => server.close(), reload });
  } catch (err) {
    return temp('4.3.0', `pop3: ${(err as Error).message}`);
  }
};
