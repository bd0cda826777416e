import test from 'ava';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { controlTable, loadConfig, networkMatcher, openConfig, type Config } from '../../ts/config/index.js';
import { tempDir } from '../helpers/home.js';

function home(t: Parameters<typeof tempDir>[0], files: Record<string, string> = {}): string {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'control'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'control', name), text);
  return dir;
}

async function load(t: Parameters<typeof tempDir>[0], files: Record<string, string>): Promise<Config> {
  const r = await loadConfig(home(t, files));
  if (r.kind !== 'ok') throw new Error(`${r.status} ${r.text}`);
  return r.value;
}

test('a missing home gives every default, me from the host name', async (t) => {
  const dir = tempDir(t);
  const r = await loadConfig(join(dir, 'nothing-here'));
  if (r.kind !== 'ok') return t.fail(r.text);
  const c = r.value;
  t.is(c.me, hostname());
  t.deepEqual(c.locals, [hostname().toLowerCase()]);
  t.deepEqual(c.rcpthosts, c.locals);
  t.is(c.concurrencylocal, 10);
  t.is(c.concurrencyremote, 20);
  t.is(c.queuelifetime, 604800);
  t.is(c.databytes, 0);
  t.is(c.bouncefrom, 'MAILER-DAEMON');
  t.is(c.bouncemaxbytes, 65536);
  t.is(c.doublebounceto, 'postmaster');
  t.is(c.timeoutsmtpd, 1200);
  t.is(c.timeoutremote, 1200);
  t.is(c.timeoutconnect, 60);
  t.deepEqual(c.smtplisten, [{ host: '127.0.0.1', port: 2525 }]);
  t.deepEqual(c.submissionlisten, [{ host: '127.0.0.1', port: 2587 }]);
  t.deepEqual(c.pop3listen, [{ host: '127.0.0.1', port: 2110 }]);
  t.deepEqual(c.smtpslisten, []);
  t.deepEqual(c.pop3slisten, []);
  t.is(c.maxrcpt, 100);
  t.is(c.smtplinelimit, 1000);
  t.true(c.rcptcheck);
  t.false(c.authplaintext);
  t.false(c.pop3plaintext);
  t.is(c.checkpassword, undefined);
  t.is(c.tlscert, join(dir, 'nothing-here', 'control', 'tlscert.pem'));
  t.is(c.tlskey, join(dir, 'nothing-here', 'control', 'tlskey.pem'));
});

test('me-derived defaults follow control/me', async (t) => {
  const c = await load(t, { me: 'Mail.Example.COM\n' });
  for (const v of [c.bouncehost, c.doublebouncehost, c.envnoathost, c.helohost, c.idhost, c.defaultdomain,
    c.defaulthost, c.plusdomain, c.localiphost, c.smtpgreeting]) t.is(v, 'Mail.Example.COM');
  t.deepEqual(c.locals, ['mail.example.com']);
  t.deepEqual(c.rcpthosts, ['mail.example.com']);
});

test('on a dotless me, defaultdomain is localdomain (qualifying with me would name nothing)', async (t) => {
  const c = await load(t, { me: 'box\n' });
  t.is(c.defaultdomain, 'localdomain');
  t.is(c.defaulthost, 'box');
  t.is((await load(t, { me: 'box\n', defaultdomain: 'example.org\n' })).defaultdomain, 'example.org');
});

test('single-value files: first line only, trailing blanks stripped', async (t) => {
  const c = await load(t, { me: 'a.example \t\nb.example\n', bouncefrom: 'bounces\r\n', helohost: '' });
  t.is(c.me, 'a.example');
  t.is(c.bouncefrom, 'bounces');
  t.is(c.helohost, '');
});

test('an empty me is refused, naming the file', async (t) => {
  const r = await loadConfig(home(t, { me: '\n' }));
  t.is(r.kind, 'temp');
  if (r.kind === 'temp') t.regex(r.text, /control\/me: empty value/);
});

test('integer files: leading digits, no digits keeps the default, qmail caps', async (t) => {
  const c = await load(t, {
    databytes: '1000000 bytes\n', concurrencylocal: 'many\n', concurrencyremote: '500\n', timeoutsmtpd: '0\n',
    maxrcpt: '  7\n', bouncemaxbytes: '2048 bytes\n',
  });
  t.is(c.databytes, 1000000);
  t.is(c.bouncemaxbytes, 2048);
  t.is(c.concurrencylocal, 10);
  t.is(c.concurrencyremote, 120);
  t.is(c.timeoutsmtpd, 1);
  t.is(c.maxrcpt, 100, 'leading blanks are not digits: default kept, as qmail');
});

test('an integer too large to represent is an error naming the file', async (t) => {
  const r = await loadConfig(home(t, { databytes: '99999999999999999999999\n' }));
  t.is(r.kind, 'temp');
  if (r.kind === 'temp') {
    t.is(r.status, '4.3.5');
    t.regex(r.text, /control\/databytes/);
  }
});

test('directsync: syncfs unless the file says fsync', async (t) => {
  t.is((await load(t, {})).directsync, 'syncfs');
  t.is((await load(t, { directsync: 'fsync\n' })).directsync, 'fsync');
});

test('flag files: 0 is false, any other number true, no digits keeps the default', async (t) => {
  const c = await load(t, { rcptcheck: '0\n', authplaintext: '2\n', pop3plaintext: 'yes\n' });
  t.false(c.rcptcheck);
  t.true(c.authplaintext);
  t.false(c.pop3plaintext);
});

test('list files: comments and blank lines ignored, entries lowercased', async (t) => {
  const c = await load(t, {
    locals: '# local domains\nExample.COM  \n\n  \nlocalhost\n#x.example\n',
    percenthack: 'Relay.Example\n',
    badmailfrom: '@Spam.Example\nJoe@X.example\n',
  });
  t.deepEqual(c.locals, ['example.com', 'localhost']);
  t.deepEqual(c.rcpthosts, ['example.com', 'localhost'], 'rcpthosts defaults to locals');
  const v = await load(t, {
    locals: 'example.com\n',
    virtualdomains: 'virt.example:joe\nExample.com:dup\njoe@other.example:x\n.wild.example:w\nno.example:\n:all\n',
  });
  t.deepEqual(v.rcpthosts, ['example.com', 'virt.example', 'other.example', '.wild.example'],
    'and the virtual domains, without exceptions or the catch-all');
  t.deepEqual(c.percenthack, ['relay.example']);
  t.deepEqual(c.badmailfrom, ['@spam.example', 'joe@x.example']);
});

test('an existing empty list file means an empty list, not the default', async (t) => {
  const c = await load(t, { smtplisten: '', relayclients: '# nobody relays\n' });
  t.deepEqual(c.smtplisten, []);
  t.deepEqual(c.relayclients, []);
});

test('a control file that exists but cannot be read is a temporary error', async (t) => {
  const dir = home(t);
  mkdirSync(join(dir, 'control', 'locals'));
  const r = await loadConfig(dir);
  t.is(r.kind, 'temp');
  if (r.kind === 'temp') {
    t.is(r.status, '4.3.0');
    t.regex(r.text, /unable to read controls: control\/locals/);
  }
});

test('a control file larger than the bound is refused without reading it', async (t) => {
  const dir = home(t);
  const path = join(dir, 'control', 'morercpthosts');
  writeFileSync(path, '');
  truncateSync(path, 17 * 1024 * 1024);
  const r = await loadConfig(dir);
  t.is(r.kind, 'temp');
  if (r.kind === 'temp') t.regex(r.text, /control\/morercpthosts is larger/);
});

test('structured files parse into typed values', async (t) => {
  const c = await load(t, {
    smtplisten: '0.0.0.0:25\n[::]:25\nlocalhost:0\n',
    relayclients: '10.0.0.0/8\n192.0.2.7\n2001:db8::/32\n',
    dnsservers: '127.0.0.1\n127.0.0.1:5353\n[::1]:53\n::1\n',
    smtproutes: 'example.com:relay.example.net\n:smarthost:587\n.sub.example:[192.0.2.1]:2525\nlocal.example:\n[v6]:[::1]:25\n',
    virtualdomains: 'Virt.Example:joe\nuser@other.example:jane-x\n.wild.example:w\n:catch\nexcept.example:\n',
    remoteauth: 'smarthost:me@example.com:pa:ss\n',
    tlsrequired: 'Bank.Example\n',
    tlscert: '/etc/ssl/cert.pem\n',
    tlskey: 'keys/k.pem\n',
    checkpassword: '/usr/bin/checkpassword\n',
  });
  t.deepEqual(c.smtplisten, [{ host: '0.0.0.0', port: 25 }, { host: '::', port: 25 }, { host: 'localhost', port: 0 }]);
  t.deepEqual(c.relayclients.map((n) => `${n.address}/${n.prefix}/${n.family}`),
    ['10.0.0.0/8/ipv4', '192.0.2.7/32/ipv4', '2001:db8::/32/ipv6']);
  t.deepEqual(c.dnsservers, ['127.0.0.1', '127.0.0.1:5353', '[::1]:53', '::1']);
  t.deepEqual(c.smtproutes, [
    { domain: 'example.com', relay: 'relay.example.net', port: undefined },
    { domain: '', relay: 'smarthost', port: 587 },
    { domain: '.sub.example', relay: '[192.0.2.1]', port: 2525 },
    { domain: 'local.example', relay: '', port: undefined },
    { domain: '[v6]', relay: '[::1]', port: 25 },
  ]);
  t.deepEqual(c.virtualdomains, [
    { key: 'virt.example', prepend: 'joe' }, { key: 'user@other.example', prepend: 'jane-x' },
    { key: '.wild.example', prepend: 'w' }, { key: '', prepend: 'catch' }, { key: 'except.example', prepend: '' },
  ]);
  t.deepEqual(c.remoteauth, [{ host: 'smarthost', user: 'me@example.com', password: 'pa:ss' }]);
  t.deepEqual(c.tlsrequired, ['bank.example']);
  t.is(c.tlscert, '/etc/ssl/cert.pem');
  t.is(c.tlskey, join(c.home, 'keys/k.pem'));
  t.is(c.checkpassword, '/usr/bin/checkpassword');
});

const BAD: Array<[string, string, RegExp]> = [
  ['smtplisten', '127.0.0.1:2525\nnonsense\n', /control\/smtplisten: line 2: "nonsense" is not HOST:PORT/],
  ['pop3listen', '127.0.0.1:99999\n', /control\/pop3listen: line 1: bad port/],
  ['relayclients', '10.0.0.0/33\n', /control\/relayclients: line 1: bad prefix length/],
  ['denyclients', 'example.com\n', /control\/denyclients: line 1: .* not an IP address/],
  ['dnsservers', 'dns.example\n', /control\/dnsservers: line 1/],
  ['smtproutes', '# routes\nexample.com\n', /control\/smtproutes: line 2: .*has no ':'/],
  ['smtproutes', 'example.com:relay:port\n', /control\/smtproutes: line 1: bad relay or port/],
  ['virtualdomains', 'example.com\n', /control\/virtualdomains: line 1/],
  ['remoteauth', 'smarthost:user\n', /control\/remoteauth: line 1: entry is not host:user:password/],
  ['tlscert', '\n', /control\/tlscert: empty path/],
  ['directsync', 'sometimes\n', /control\/directsync: "sometimes" is neither syncfs nor fsync/],
];

for (const [name, text, re] of BAD) {
  test(`bad value in ${name} (${JSON.stringify(text)}) is a clear error`, async (t) => {
    const r = await loadConfig(home(t, { [name]: text }));
    t.is(r.kind, 'temp');
    if (r.kind === 'temp') {
      t.is(r.status, '4.3.5');
      t.regex(r.text, re);
    }
  });
}

test('overrides replace files and are validated the same way', async (t) => {
  const dir = home(t, { databytes: '5\n', locals: 'file.example\n' });
  const r = await loadConfig(dir, {
    databytes: 1000, locals: ['Over.Example', '# skip'], rcptcheck: false, smtpgreeting: 'hello there\nignored',
  });
  if (r.kind !== 'ok') return t.fail(r.text);
  t.is(r.value.databytes, 1000);
  t.deepEqual(r.value.locals, ['over.example']);
  t.false(r.value.rcptcheck);
  t.is(r.value.smtpgreeting, 'hello there');
  const bad = await loadConfig(dir, { smtplisten: ['nowhere'] });
  t.is(bad.kind, 'temp');
  if (bad.kind === 'temp') t.regex(bad.text, /control override smtplisten: line 1/);
  const unknown = await loadConfig(dir, { nosuchfile: 1 } as never);
  t.is(unknown.kind, 'temp');
  if (unknown.kind === 'temp') t.regex(unknown.text, /unknown control override "nosuchfile"/);
});

test('networkMatcher matches CIDRs and IPv4-mapped IPv6 clients', (t) => {
  const m = networkMatcher([
    { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
    { address: '::1', prefix: 128, family: 'ipv6' },
  ]);
  t.true(m('10.1.2.3'));
  t.true(m('::ffff:10.9.9.9'));
  t.true(m('::1'));
  t.false(m('11.0.0.1'));
  t.false(m('::2'));
  t.false(m('not an ip'));
});

test('openConfig reloads in place and keeps the old config when the new one is bad', async (t) => {
  const dir = home(t, { concurrencylocal: '3\n' });
  const s = await openConfig(dir);
  if (s.kind !== 'ok') return t.fail(s.text);
  const seen: number[] = [];
  s.value.onReload((c) => seen.push(c.concurrencylocal));
  t.is(s.value.current().concurrencylocal, 3);
  writeFileSync(join(dir, 'control', 'concurrencylocal'), '4\n');
  t.is((await s.value.reload()).kind, 'ok');
  t.is(s.value.current().concurrencylocal, 4);
  writeFileSync(join(dir, 'control', 'smtplisten'), 'garbage\n');
  t.is((await s.value.reload()).kind, 'temp');
  t.is(s.value.current().concurrencylocal, 4);
  t.deepEqual(seen, [4]);
});

test('the control table lists every qmail control file and each qmta addition with a meaning', (t) => {
  const rows = controlTable();
  const names = new Set(rows.map((r) => r.name));
  const qmail = ['me', 'badmailfrom', 'bouncefrom', 'bouncehost', 'concurrencylocal', 'concurrencyremote', 'databytes',
    'defaultdomain', 'defaulthost', 'doublebouncehost', 'doublebounceto', 'envnoathost', 'helohost', 'idhost',
    'localiphost', 'locals', 'morercpthosts', 'percenthack', 'plusdomain', 'qmqpservers', 'queuelifetime', 'rcpthosts',
    'smtpgreeting', 'smtproutes', 'timeoutconnect', 'timeoutremote', 'timeoutsmtpd', 'virtualdomains'];
  const qmta = ['smtplisten', 'submissionlisten', 'smtpslisten', 'pop3listen', 'pop3slisten', 'tlscert', 'tlskey',
    'relayclients', 'denyclients', 'maxrcpt', 'maxconnections', 'maxconnectionsperip', 'sessiontimeout', 'maxerrors',
    'smtplinelimit', 'rcptcheck', 'authplaintext', 'dnsservers', 'tlsrequired', 'remoteauth', 'concurrencyperdomain',
    'pop3plaintext', 'checkpassword', 'bouncemaxbytes', 'directmaildir', 'directsync'];
  for (const n of [...qmail, ...qmta]) t.true(names.has(n), n);
  t.is(names.size, rows.length, 'no name is defined twice');
  for (const r of rows) t.true(r.meaning.length > 10 && r.default.length > 0, r.name);
});
