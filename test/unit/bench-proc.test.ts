// bench/load-proc.ts (CPU and memory of process trees from /proc) and the pure Postfix
// peer configuration (bench/peer-postfix-config.ts).

import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { machineCpuSeconds, markLoadClient, processTree, treeCpuSeconds, treeMemory, unmarkLoadClient } from '../../bench/load-proc.js';
import { mailboxMap, mainCf, masterCf } from '../../bench/peer-postfix-config.js';

// Burns 300 ms of CPU (not wall time: the machine is shared), says so, then idles.
const BUSY = 'while (process.cpuUsage().user < 300000); console.log(1); setTimeout(() => {}, 60000)';

test('a tree counts the CPU of its descendants, and load clients are left out', async (t) => {
  const parent = spawn('sh', ['-c', `node -e "${BUSY}" & wait`], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => { try { process.kill(-(parent.pid ?? 0)); } catch { /* gone */ } parent.kill('SIGKILL'); });
  const pid = parent.pid ?? 0;
  await once(parent.stdout, 'data');
  const tree = processTree([pid]);
  t.true(tree.length >= 2, 'the shell and its node child');
  t.true(treeCpuSeconds([pid]) >= 0.29, 'the child\'s busy loop is counted');
  t.true(treeMemory([pid]).rss > 1024 * 1024);
  markLoadClient(pid);
  t.deepEqual(processTree([pid]), []);
  t.is(treeCpuSeconds([pid]), 0);
  unmarkLoadClient(pid);
  for (const p of tree.filter((p) => p !== pid)) process.kill(p, 'SIGKILL');
  await once(parent, 'exit');
  t.deepEqual(processTree([pid]), [], 'an exited process has no tree');
});

test('the machine\'s busy CPU time counts what this process burns', (t) => {
  const before = machineCpuSeconds();
  const mine = process.cpuUsage();
  while (process.cpuUsage(mine).user < 300_000);
  const used = process.cpuUsage(mine);
  // /proc/stat samples at each tick and counts time stolen by the hypervisor apart, so
  // only half of the 300 ms is required.
  t.true(machineCpuSeconds() - before >= (used.user + used.system) / 2e6);
});

test('the Postfix peer listens on its loopback port only, without DNS or throttling', (t) => {
  const main = mainCf({ root: '/r', domain: 'peer.test', mailUid: 65534, mailGid: 65534, log: false, processLimit: 150 });
  t.regex(main, /^inet_interfaces = 127\.0\.0\.1$/m);
  t.regex(main, /^smtp_dns_support_level = disabled$/m);
  t.regex(main, /^in_flow_delay = 0s$/m);
  t.regex(main, /^default_process_limit = 150$/m);
  t.regex(main, /^virtual_mailbox_maps = hash:\/r\/etc\/vmailbox$/m);
  const master = masterCf(40025);
  t.regex(master, /^127\.0\.0\.1:40025 inet n - n - - smtpd$/m);
  t.false(/^(smtp|25|0\.0\.0\.0:\d+) +inet/m.test(master), 'no other listener');
  t.false(/ y +\S+ +\S+ +\S+$/m.test(master), 'nothing chrooted');
  t.is(mailboxMap(['a', 'b'], 'd.test'), 'a@d.test\ta/Maildir/\nb@d.test\tb/Maildir/\n');
});
