// The main.cf and master.cf of the private Postfix instance that bench/peer-postfix.ts runs
// as the performance peer. Pure text, no I/O.
//
// Interface: `mainCf(settings)`, `masterCf(port)`, `mailboxMap(users, domain)`.
// Guarantees: the instance listens on 127.0.0.1:<port> only (never port 25), does no DNS
// (smtp_dns_support_level = disabled, native host lookups, no smtpd peer-name lookup),
// delivers every recipient of the test domain through virtual(8) into a maildir (trailing
// slash in the map) that virtual fsyncs before it reports success, and is not throttled
// artificially: no per-client connection or rate limits, no in_flow_delay, and process
// limits well above the load's concurrency. Every service runs unchrooted (the temp
// directory is not a chroot jail); daemons run as the Debian postfix user, mailboxes are
// owned by `mailUid`.

export interface PostfixSettings {
  readonly root: string;
  readonly domain: string;
  readonly mailUid: number;
  readonly mailGid: number;
  /** Log through postlogd into <root>/maillog, as a production Postfix logs every message. */
  readonly log: boolean;
  readonly processLimit: number;
}

/** main.cf for the peer instance rooted at `s.root`. */
export function mainCf(s: PostfixSettings): string {
  const lines = [
    'compatibility_level = 3.6',
    `queue_directory = ${s.root}/queue`,
    `data_directory = ${s.root}/data`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'myhostname = peer.bench.test',
    'mydomain = bench.test',
    'myorigin = $myhostname',
    'mydestination =',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    'relay_domains =',
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
    'alias_maps =',
    'alias_database =',
    'biff = no',
    'append_dot_mydomain = no',
    'readme_directory = no',
    'html_directory = no',
    // No DNS anywhere: the machine has none, and a lookup timeout would be measured.
    'smtp_dns_support_level = disabled',
    'smtp_host_lookup = native',
    'lmtp_host_lookup = native',
    'smtpd_peername_lookup = no',
    'smtpd_tls_security_level = none',
    'smtp_tls_security_level = none',
    `virtual_mailbox_domains = ${s.domain}`,
    `virtual_mailbox_base = ${s.root}/mail`,
    `virtual_mailbox_maps = hash:${s.root}/etc/vmailbox`,
    `virtual_uid_maps = static:${s.mailUid}`,
    `virtual_gid_maps = static:${s.mailGid}`,
    'virtual_minimum_uid = 100',
    ...unthrottled(s.processLimit),
    ...logging(s),
  ];
  return lines.join('\n') + '\n';
}

/** Limits that would otherwise cap the peer below what the machine can do. */
function unthrottled(processLimit: number): string[] {
  return [
    `default_process_limit = ${processLimit}`,
    'smtpd_client_connection_count_limit = 0',
    'smtpd_client_connection_rate_limit = 0',
    'smtpd_client_message_rate_limit = 0',
    'smtpd_client_recipient_rate_limit = 0',
    'smtpd_client_new_tls_session_rate_limit = 0',
    // in_flow_delay (1 s) slows smtpd down whenever the queue manager lags behind.
    'in_flow_delay = 0s',
    `virtual_destination_concurrency_limit = ${processLimit}`,
    `default_destination_concurrency_limit = ${processLimit}`,
    'qmgr_message_active_limit = 40000',
    'qmgr_message_recipient_limit = 40000',
  ];
}

function logging(s: PostfixSettings): string[] {
  if (!s.log) return ['maillog_file =', 'syslog_name = postfix-peer'];
  return [`maillog_file = ${s.root}/maillog`, `maillog_file_prefixes = ${s.root}`, 'syslog_name = postfix-peer'];
}

/** master.cf: the services a delivery to virtual maildirs uses, none chrooted. */
export function masterCf(port: number): string {
  // service type private unpriv chroot wakeup maxproc command; smtpd's maxproc "-" is
  // default_process_limit.
  const rows = [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'local unix - n n - - local',
    'virtual unix - n n - - virtual',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  return rows.join('\n') + '\n';
}

/** The virtual_mailbox_maps source: one maildir (trailing slash) per user. */
export function mailboxMap(users: readonly string[], domain: string): string {
  return users.map((u) => `${u}@${domain}\t${u}/Maildir/`).join('\n') + '\n';
}
