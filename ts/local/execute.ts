// Executes a delivery plan in order (qmail-local's main loop, qmail.md §5.5): maildir and
// mbox lines write at once with Return-Path + Delivered-To prepended, program lines run
// at once, forward lines are collected and returned to be queued as one new message.
//
// Interface: executePlan(task, mailbox) -> ExecuteResult { outcome, forwards, writes }
// (writes: the maildirs/mboxes written, for the new-mail notice, ts/notify). Runs in a
// tinypool worker with MAILBOX's *Sync* writers (no event loop to block there), or, for
// a plan of maildir and forward lines only, on the event loop with the async maildir
// writer (task.inEventLoop; run.ts decides).
// Semantics: the first failing line stops everything (no forwards); program exit 99 stops
// the following lines but keeps forwards collected so far; the success report is what
// the programs printed followed by qmail's `did <files>+<forwards>+<programs>` (bounded).
// Failures: a mailbox writer's Failure or a program's, as is; an mbox the mailbox owner
// could not write himself (qmta running as root) -> temp 4.7.0, never written as root;
// a missing mbox is created owned by the mailbox owner.

import { closeSync, fchownSync, openSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ok, temp, type Failure, type Outcome } from '../outcome.js';
import type { Mailbox } from '../mailbox/types.js';
import type { MailboxWrite } from '../notify/types.js';
import type { Instruction } from './dot-qmail-lines.js';
import { runProgram } from './program.js';
import { truncateReport } from './report.js';

export type { Instruction };

export interface ExecuteTask {
  readonly instructions: readonly Instruction[];
  readonly bodyPath: string;
  readonly sender: string;
  /** "Return-Path: <...>\n" and "Delivered-To: ...\n" (from program-env). */
  readonly rpline: string;
  readonly dtline: string;
  /** The user's home: cwd of programs. */
  readonly home: string;
  readonly env: Readonly<Record<string, string>>;
  /** Set when qmta runs as root: programs run as, and mboxes must be writable by, this user. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  readonly programTimeoutMs: number;
  /** On the event loop: maildir lines use the async writer (and no other kind may come). */
  readonly inEventLoop?: boolean;
}

export interface ExecuteResult {
  readonly outcome: Outcome<string>;
  readonly forwards: string[];
  readonly writes: MailboxWrite[];
}

/** Runs the plan; resolves with the outcome and the forward addresses to queue. */
export async function executePlan(task: ExecuteTask, mailbox: Mailbox): Promise<ExecuteResult> {
  const headers = Buffer.from(task.rpline + task.dtline);
  const forwards: string[] = [];
  const outputs: string[] = [];
  const writes: MailboxWrite[] = [];
  let files = 0;
  let programs = 0;
  for (const ins of task.instructions) {
    const step = await runOne(ins, task, headers, mailbox, outputs, writes);
    if (step === 'forward') { forwards.push((ins as { address: string }).address); continue; }
    if (step !== 'continue' && step !== 'stop') return { outcome: step, forwards: [], writes };
    if (ins.kind === 'program') programs++;
    else files++;
    if (step === 'stop') break;
  }
  // As qmail-local: what successful programs printed precedes the "did" line in the report.
  return { outcome: ok(truncateReport(`${outputs.join('')}did ${files}+${forwards.length}+${programs}`)), forwards, writes };
}

async function runOne(ins: Instruction, task: ExecuteTask, headers: Buffer, mailbox: Mailbox,
  outputs: string[], writes: MailboxWrite[]): Promise<'continue' | 'stop' | 'forward' | Failure> {
  switch (ins.kind) {
    case 'forward':
      return 'forward';
    case 'maildir': {
      const d = { maildir: ins.path, headers, bodyPath: task.bodyPath };
      const r = task.inEventLoop ? await mailbox.deliverMaildir(d) : mailbox.deliverMaildirSync(d);
      if (r.kind === 'ok') writes.push({ kind: 'maildir', maildir: ins.path, file: join(ins.path, 'new', r.value) });
      return r.kind === 'ok' ? 'continue' : r;
    }
    case 'mbox': {
      const denied = task.owner ? ownerCannotWrite(ins.path, task.owner) ?? createOwned(ins.path, task.owner) : undefined;
      if (denied) return denied;
      const r = mailbox.deliverMboxSync({ mbox: ins.path, sender: task.sender, headers, bodyPath: task.bodyPath });
      if (r.kind === 'ok') writes.push({ kind: 'mbox', mbox: ins.path });
      return r.kind === 'ok' ? 'continue' : r;
    }
    case 'program': {
      const r = await runProgram({
        command: ins.command, cwd: task.home, env: task.env, bodyPath: task.bodyPath,
        ...(task.owner ?? {}), timeoutMs: task.programTimeoutMs,
      });
      if (r.kind === 'continue' || r.kind === 'stop') {
        if (r.output !== '') outputs.push(r.output.endsWith('\n') ? r.output : `${r.output}\n`);
        return r.kind;
      }
      const f = r as Failure;
      return { kind: f.kind, status: f.status, text: truncateReport(f.text) };
    }
  }
}

/**
 * qmail-local writes mboxes as the mailbox owner. A thread cannot change its uid, so as
 * root qmta checks the owner's write permission itself (the file, or its folder when the
 * file is missing) and refuses what the owner could not write.
 */
export function ownerCannotWrite(path: string, owner: { uid: number; gid: number }): Failure | undefined {
  const target = exists(path) ? path : dirname(path);
  try {
    const st = statSync(target);
    const bit = st.uid === owner.uid ? 0o200 : st.gid === owner.gid ? 0o020 : 0o002;
    if (owner.uid === 0 || (st.mode & bit) !== 0) return undefined;
  } catch (err) {
    return temp('4.2.1', `Unable to stat ${target}: ${(err as Error).message}`);
  }
  return temp('4.7.0', `Permission denied: ${path} is not writable by uid ${owner.uid}.`);
}

/** A missing mbox is created 0600 and given to its owner, as if the owner had created it. */
function createOwned(path: string, owner: { uid: number; gid: number }): Failure | undefined {
  if (exists(path)) return undefined;
  try {
    const fd = openSync(path, 'a', 0o600);
    try {
      fchownSync(fd, owner.uid, owner.gid);
    } finally {
      closeSync(fd);
    }
    return undefined;
  } catch (err) {
    return temp('4.2.1', `Unable to create ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`);
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
