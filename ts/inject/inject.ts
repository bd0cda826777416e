// One message through qmail-inject's steps: read the header section (bounded), fix it up
// (inline or in a worker), then stream the header and the body into the queue (or, for -n,
// to an output stream) and commit with the chosen envelope.
//
// Interface: injectStream(source, request, context, target) -> Outcome<InjectResult>.
// Failures: header section too long -> perm 5.3.4; fixup failures (see fixup.ts) -> perm;
// no recipient when queueing -> perm 5.1.3; read errors -> temp 4.3.0; queue failures keep
// their own class. Nothing is left in the queue after a failure (the writer is aborted).
// Guarantees: only the header section is held in memory; success means the queue's commit
// (fsync'd, linked into todo/) has completed.

import type { Readable, Writable } from 'node:stream';
import { ok, perm, temp, type Failure, type Outcome } from '../outcome.js';
import type { MessageId, MessageWriter, Queue } from '../queue/types.js';
import { fixupHeader, type FixupInput, type FixupRequest, type FixupResult, type FixupSetting } from './fixup.js';
import { bodyChunks, readHeaderSection, type HeaderSection } from './split.js';

/** What the command line asks for (qmail-inject's options and arguments). */
export type InjectRequest = FixupRequest;

/** Who injects, with which settings. */
export interface InjectContext extends FixupSetting {
  /** Bound on the header section held in memory. */
  readonly maxHeaderBytes: number;
  /** Runs the fixup; a worker pool in a long-running process, fixupHeader inline otherwise. */
  readonly fixup?: (input: FixupInput) => Promise<Outcome<FixupResult>>;
}

export type InjectTarget =
  | { readonly kind: 'queue'; readonly queue: Pick<Queue, 'createWriter'> }
  | { readonly kind: 'print'; readonly out: Writable };

/** What {@link Mta.send} queued. */
export interface InjectResult {
  /** The queue id; undefined for -n. */
  readonly id: MessageId | undefined;
  /** The envelope sender used. */
  readonly sender: string;
  /** The envelope recipients used. */
  readonly recipients: readonly string[];
}

/** Default header bound: a 1 MB header field fits with room to spare. */
export const DEFAULT_MAX_HEADER_BYTES = 8 * 1024 * 1024;

type Source = Readable | AsyncIterable<Uint8Array>;

function iterate(source: Source): AsyncIterator<Uint8Array> {
  return (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
}

async function runFixup(section: HeaderSection, req: InjectRequest, ctx: InjectContext, print: boolean): Promise<Outcome<FixupResult>> {
  const input: FixupInput = {
    fields: section.fields, args: req.args, strategy: req.strategy, sender: req.sender,
    identity: ctx.identity, controls: ctx.controls, mft: ctx.mft,
    nowMs: ctx.nowMs, pid: ctx.pid, idTag: ctx.idTag, printReturnPath: print,
  };
  return ctx.fixup ? ctx.fixup(input) : fixupHeader(input);
}

function writeFailure(err: unknown): Failure {
  return temp('4.3.0', `write error: ${err instanceof Error ? err.message : String(err)}`);
}

/** Writes header and body to a stream, honouring back-pressure. */
async function printMessage(out: Writable, header: Buffer, section: HeaderSection): Promise<Outcome<void>> {
  const put = async (b: Buffer): Promise<void> => {
    if (!out.write(b)) await new Promise<void>((resolve) => out.once('drain', resolve));
  };
  try {
    await put(header);
    for await (const chunk of bodyChunks(section)) await put(chunk);
  } catch (err) {
    return writeFailure(err);
  }
  return ok(undefined);
}

/** Writes header and body into a queue writer; aborts it on any failure. */
async function queueMessage(w: MessageWriter, header: Buffer, section: HeaderSection, fix: FixupResult): Promise<Outcome<MessageId>> {
  try {
    let f = w.write(header);
    for await (const chunk of bodyChunks(section)) {
      if (f) break;
      f = w.write(chunk);
    }
    if (f) {
      w.abort();
      return f;
    }
  } catch (err) {
    w.abort();
    return temp('4.3.0', `read error: ${err instanceof Error ? err.message : String(err)}`);
  }
  return w.commit({ sender: fix.sender, recipients: fix.recipients });
}

/** Injects one message read from source. */
export async function injectStream(source: Source, req: InjectRequest, ctx: InjectContext, target: InjectTarget): Promise<Outcome<InjectResult>> {
  const section = await readHeaderSection(iterate(source), ctx.maxHeaderBytes);
  if (section.kind !== 'ok') return section;
  const fix = await runFixup(section.value, req, ctx, target.kind === 'print');
  if (fix.kind !== 'ok') return fix;
  const header = Buffer.from(fix.value.header, 'latin1');
  const { sender, recipients } = fix.value;
  if (target.kind === 'print') {
    const r = await printMessage(target.out, header, section.value);
    return r.kind === 'ok' ? ok({ id: undefined, sender, recipients }) : r;
  }
  if (recipients.length === 0) return perm('5.1.3', 'no recipients');
  const writer = target.queue.createWriter();
  if (writer.kind !== 'ok') return writer;
  const id = await queueMessage(writer.value, header, section.value, fix.value);
  return id.kind === 'ok' ? ok({ id: id.value, sender, recipients }) : id;
}
