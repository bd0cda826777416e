// The `qmta` command table loads only the module of the command being run: the table's
// names match what each module registers, help still lists every command, and a module
// that fails to load breaks only its own command.

import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram, commandName, COMMANDS, type CommandEntry } from '../../ts/cli/main.js';

const MAIN = fileURLToPath(new URL('../../ts/cli/main.js', import.meta.url));

const names = (p: Command) => p.commands.map((c) => c.name()).sort();

test('commandName skips node, the script and the global options', (t) => {
  t.is(commandName(['node', 'qmta', '--home', '/h', 'inject', '-f', 'a@b']), 'inject');
  t.is(commandName(['node', 'qmta', '--home=/h', 'user', 'add', 'x']), 'user');
  t.is(commandName(['node', 'qmta', '--help']), undefined);
  t.is(commandName(['node', 'qmta']), undefined);
});

test('each table entry names exactly the commands its module registers', async (t) => {
  for (const entry of COMMANDS) {
    const p = await buildProgram(['node', 'qmta', entry.names[0]!], [entry]);
    t.deepEqual(names(p), [...entry.names].sort(), entry.names[0]);
  }
});

test('a command loads only its own module; no command or an unknown one loads all', async (t) => {
  t.deepEqual(names(await buildProgram(['node', 'qmta', '--home', '/h', 'inject'])), ['inject']);
  t.deepEqual(names(await buildProgram(['node', 'qmta', 'preline', '-d'])), [...COMMANDS.find((e) => e.names.includes('preline'))!.names].sort());
  const all = COMMANDS.flatMap((e) => e.names).sort();
  t.deepEqual(names(await buildProgram(['node', 'qmta', '--help'])), all);
  t.deepEqual(names(await buildProgram(['node', 'qmta', 'nosuch'])), all);
});

test('a module that fails to load is listed as unavailable, fails with 111 alone, the others still work', async (t) => {
  const broken: CommandEntry = { names: ['broken'], summary: 'a broken command', load: () => Promise.reject(new Error('syntax error somewhere')) };
  const table = [broken, COMMANDS.find((e) => e.names.includes('queue'))!];
  const help = await buildProgram(['node', 'qmta'], table);
  t.deepEqual(names(help), ['broken', 'queue']);
  t.regex(help.commands.find((c) => c.name() === 'broken')!.description(), /^a broken command \(unavailable: syntax error somewhere\)$/);
  const stderr: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => { stderr.push(String(s)); return true; }) as typeof process.stderr.write;
  try {
    const p = await buildProgram(['node', 'qmta', 'broken'], table);
    await p.parseAsync(['node', 'qmta', 'broken', 'x']);
  } finally {
    process.stderr.write = write;
  }
  t.is(process.exitCode, 111);
  process.exitCode = 0;
  t.regex(stderr.join(''), /cannot load the broken command: syntax error somewhere \(#4\.3\.0\)/);
});

test('a spawned qmta runs a command through the lazy table (help per command, exit 100 on a usage error)', async (t) => {
  const run = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    c.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    c.on('close', (code) => resolve({ code, out }));
  });
  const h = await run(['flush', '--help']);
  t.is(h.code, 0);
  t.regex(h.out, /--prefix <prefix>/);
  t.regex(h.out, /maildirsmtp/);
  const f = await run(['flush', 'only-one-arg']);
  t.is(f.code, 100);
  t.regex(f.out, /missing required argument 'target'/);
});
