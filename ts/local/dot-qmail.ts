// qmail-lspawn + qmail-local's decisions for one local recipient, as a pure plan over an
// injected filesystem view (qmail.md §5.1-5.8, 5.10). The ENGINE executes the plan.
//
// Interface: planDelivery(request, fs) -> Outcome<DeliveryPlan>
//   request: recipient (local@domain after routing), sender, users/assign table, alias user,
//            now, defaultDelivery (qmail's aliasempty; default "./Maildir/\n")
//   plan: assignment, local, domain, dotQmail (file used, or undefined), instructions in
//         file order, forwardOnly, newSender (§5.8; SRS-rewritten for a sender not ours when
//         request.srs is set: ts/srs/forward.ts), env (§5.7), dtline, rpline, ufline, trash
// Order of work (qmail-local's): home checks, .qmail search, -owner check, read and parse.
// Failures: no @ -> perm 5.1.3; home missing -> temp 4.3.0; home world-writable -> temp
// 4.7.0; home sticky -> temp 4.2.1; .qmail world-writable -> temp 4.7.0; no .qmail for an
// extension -> perm 5.1.1; unreadable candidate (EACCES, EIO) -> temp 4.3.0; line errors in
// dot-qmail-lines.ts. The Delivered-To loop check needs the message: isLooping() in
// program-env.ts, run by the executor before delivering (perm 5.4.6).
// Guarantee: the plan names no file or program that did not come from a .qmail file or the
// configured default delivery (addresses are not files or programs).

import { ok, perm, temp, type Outcome } from '../outcome.js';
import { forwardingSender, type SrsForwarding } from '../srs/forward.js';
import { lookupUser, type AliasUser, type AssignTable, type Assignment } from '../users/assign.js';
import type { DotQmailFs, FileInfo } from './dot-qmail-fs.js';
import { parseDotQmail, type Instruction } from './dot-qmail-lines.js';
import { deliveredToLine, fromLine, programEnv, returnPathLine } from './program-env.js';

export type { Instruction } from './dot-qmail-lines.js';
export { guardedDotQmailFs, nodeDotQmailFs, type DotQmailFs, type FileInfo } from './dot-qmail-fs.js';
export { isLooping } from './program-env.js';

export interface DeliveryRequest {
  readonly recipient: string;
  readonly sender: string;
  readonly users: AssignTable;
  readonly alias: AliasUser;
  readonly now: Date;
  /** qmail's defaultdelivery (aliasempty), in .qmail syntax. */
  readonly defaultDelivery?: string;
  /** SRS for forwarded copies (control/srssecrets); undefined: the sender is kept (qmail). */
  readonly srs?: SrsForwarding;
}

export interface DeliveryPlan {
  readonly assignment: Assignment;
  readonly local: string;
  readonly domain: string;
  /** The .qmail file used; undefined when the default delivery applies. */
  readonly dotQmail: string | undefined;
  readonly instructions: readonly Instruction[];
  readonly forwardOnly: boolean;
  /** Envelope sender for forwarded copies (§5.8), SRS-rewritten when req.srs applies. */
  readonly newSender: string;
  readonly env: Readonly<Record<string, string>>;
  readonly dtline: string;
  readonly rpline: string;
  readonly ufline: string;
  /** Empty local part: accepted and thrown away, as qmail-lspawn does. */
  readonly trash: boolean;
}

export const DEFAULT_DELIVERY = './Maildir/\n';

/** Decides how `recipient` is delivered. */
export function planDelivery(req: DeliveryRequest, fs: DotQmailFs): Outcome<DeliveryPlan> {
  const at = req.recipient.lastIndexOf('@');
  if (at < 0) return perm('5.1.3', 'Recipient has no @ (internal error in routing).');
  const local = req.recipient.slice(0, at);
  const domain = req.recipient.slice(at + 1);
  const a = local === '' ? trashAssignment(req.alias) : lookupUser(req.users, local, req.alias);
  if (local === '') return ok(planOf(req, a, local, domain, { trash: true }));
  const home = checkHome(a.home, fs);
  if (home.kind !== 'ok') return home;
  const safeext = a.ext.toLowerCase().replaceAll('.', ':');
  const found = searchDotQmail(a, fs);
  if (found.kind !== 'ok') return found;
  if (found.value === undefined && a.dash !== '') return perm('5.1.1', 'Sorry, no mailbox here by that name.');
  const newSender = ownerSender(req.sender, a, safeext, local, domain, fs);
  if (newSender.kind !== 'ok') return newSender;
  const text = found.value ? fs.readFile(found.value.path) : ok('');
  if (text.kind !== 'ok') return text;
  const useDefault = text.value === '';
  const parsed = parseDotQmail(useDefault ? req.defaultDelivery ?? DEFAULT_DELIVERY : text.value, a.home,
    !useDefault && (found.value?.executable ?? false));
  if (parsed.kind !== 'ok') return parsed;
  return ok(planOf(req, a, local, domain, {
    dotQmail: useDefault ? undefined : found.value?.path, defaultPart: found.value?.defaultPart,
    newSender: forwardingSender(newSender.value, req.srs, req.now.getTime()), instructions: parsed.value.instructions, forwardOnly: parsed.value.forwardOnly,
  }));
}

interface PlanParts {
  readonly trash?: boolean;
  readonly dotQmail?: string;
  readonly defaultPart?: string;
  readonly newSender?: string;
  readonly instructions?: readonly Instruction[];
  readonly forwardOnly?: boolean;
}

function planOf(req: DeliveryRequest, a: Assignment, local: string, domain: string, p: PlanParts): DeliveryPlan {
  const newSender = p.newSender ?? req.sender;
  const env = programEnv({
    sender: req.sender, newSender, local, domain, user: a.user, home: a.home, ext: a.ext,
    defaultPart: p.defaultPart, now: req.now,
  });
  return {
    assignment: a, local, domain, dotQmail: p.dotQmail, instructions: p.instructions ?? [],
    forwardOnly: p.forwardOnly ?? false, newSender, env, trash: p.trash ?? false,
    dtline: deliveredToLine(local, domain), rpline: returnPathLine(req.sender), ufline: fromLine(req.sender, req.now),
  };
}

function trashAssignment(alias: AliasUser): Assignment {
  return { user: 'alias', uid: alias.uid, gid: alias.gid, home: alias.home, dash: '-', ext: '' };
}

/** qmail-local's checkhome: exists, not world-writable, not sticky. */
function checkHome(home: string, fs: DotQmailFs): Outcome<void> {
  const st = fs.stat(home);
  if (st.kind !== 'ok') return st;
  if (st.value?.type !== 'dir') return temp('4.3.0', `Unable to switch to ${home}: not a directory.`);
  if (st.value.mode & 0o002) return temp('4.7.0', 'Uh-oh: home directory is writable.');
  if (st.value.mode & 0o1000) return temp('4.2.1', 'Home directory is sticky: user is editing his .qmail file.');
  return ok(undefined);
}

export interface Found {
  readonly path: string;
  readonly executable: boolean;
  /** The original-case part of ext that "default" stood for, when the name ends in default. */
  readonly defaultPart: string | undefined;
}

/** Candidate names in qmail-local's order (qmesearch), each with the DEFAULT it implies. */
export function dotQmailCandidates(dash: string, ext: string): Array<{ name: string; defaultPart: string | undefined }> {
  const safeext = ext.toLowerCase().replaceAll('.', ':');
  const exactDefault = safeext.endsWith('default') ? ext.slice(safeext.length - 7) : undefined;
  const out = [{ name: `.qmail${dash}${safeext}`, defaultPart: exactDefault }];
  for (let i = safeext.length; i >= 0; i--) {
    if (i === 0 || safeext[i - 1] === '-') out.push({ name: `.qmail${dash}${safeext.slice(0, i)}default`, defaultPart: ext.slice(i) });
  }
  return out;
}

/** The .qmail file qmail-local would use for `a`, or undefined when none exists. */
export function searchDotQmail(a: Assignment, fs: DotQmailFs): Outcome<Found | undefined> {
  for (const c of dotQmailCandidates(a.dash, a.ext)) {
    const path = `${a.home}/${c.name}`;
    const st = fs.stat(path);
    if (st.kind !== 'ok') return st;
    if (st.value?.type === 'file') return foundFile(path, st.value, c.defaultPart);
  }
  return ok(undefined);
}

function foundFile(path: string, st: FileInfo, defaultPart: string | undefined): Outcome<Found> {
  if (st.mode & 0o002) return temp('4.7.0', 'Uh-oh: .qmail file is writable.');
  return ok({ path, executable: (st.mode & 0o100) !== 0, defaultPart });
}

/** §5.8: -owner gives local-owner@domain; with -owner-default, the VERP form local-owner-@domain-@[]. */
function ownerSender(sender: string, a: Assignment, safeext: string, local: string, domain: string,
  fs: DotQmailFs): Outcome<string> {
  if (sender === '' || sender === '#@[]') return ok(sender);
  const base = `${a.home}/.qmail${a.dash}${safeext}`;
  const owner = fs.stat(`${base}-owner`);
  if (owner.kind !== 'ok') return owner;
  if (owner.value === undefined) return ok(sender);
  const verp = fs.stat(`${base}-owner-default`);
  if (verp.kind !== 'ok') return verp;
  return ok(verp.value === undefined ? `${local}-owner@${domain}` : `${local}-owner-@${domain}-@[]`);
}
