// A generated qmta log of known shape, for `qmta stats`: the test checks the report against
// the figures the generator counted as it wrote, the benchmark reads 5 million of its lines.
//
// Interface: generateLog(opts, write) writes lines (each ending in LF) through `write` and
// returns the Expected figures; the lines are what ts/log writes (pino records with
// qmail-send's events, status lines after each start and end of a delivery, SMTP session
// summaries), plus, every `corruptEvery` lines, a truncated record and a line of plain text (corrupt:
// not JSON) and a JSON line that is not a qmta record (foreign).
// Shape, for message i (id "i", arriving STEP_MS after message i-1): 1-3 recipients over
// `domains` domains (d0.example is local, the others remote); recipient j's code
// k = (3i + j) mod 20 decides: 0 fails at once (5.1.1), 1 and 2 are deferred once then
// delivered DEFER_MS later, the rest are delivered at once. A message with a failure
// bounces; every 1000th message (i mod 1000 = 999) has the null sender, so its bounce is a
// double bounce, and every 5000th (i mod 5000 = 4999) has sender #@[], so it ends in a triple
// bounce instead; both always fail their first recipient.

export const STEP_MS = 100;
export const DEFER_MS = 300_000;
export const T0 = Date.parse('2026-12-01T00:00:00Z');
const FAIL = 'Sorry, no mailbox here by that name. (#5.1.1)';
const DEFER = 'Connected to 192.0.2.1 but connection died. (#4.4.2)';

export interface LoadOptions {
  readonly messages: number;
  readonly domains?: number;
  readonly senders?: number;
  readonly corruptEvery?: number;
}

export interface DomainFigures {
  attempts: number; success: number; failure: number; deferral: number; bytes: number;
}

export interface Expected {
  lines: number; corrupt: number; foreign: number;
  messages: number; bytes: number; completed: number; attempts: number;
  success: number; failure: number; deferral: number; successBytes: number;
  bounces: number; doubleBounces: number; tripleBounces: number;
  delaySumMs: number; delayCount: number;
  smtpSessions: number; smtpReplies: Record<string, number>;
  domains: Record<string, DomainFigures>;
  senders: Record<string, { messages: number; bytes: number }>;
}

interface Line { t: number; o: Record<string, unknown>; msg: string }

/** Writes the load's lines and returns what a correct report says about them. */
export function generateLog(opts: LoadOptions, write: (text: string) => void): Expected {
  const domains = opts.domains ?? 20;
  const senders = opts.senders ?? 500;
  const corruptEvery = opts.corruptEvery ?? 100_000;
  const e: Expected = {
    lines: 0, corrupt: 0, foreign: 0, messages: 0, bytes: 0, completed: 0, attempts: 0, success: 0, failure: 0,
    deferral: 0, successBytes: 0, bounces: 0, doubleBounces: 0, tripleBounces: 0, delaySumMs: 0, delayCount: 0,
    smtpSessions: 0, smtpReplies: {}, domains: {}, senders: {},
  };
  let n = 0;
  let buf: string[] = [];
  const emit = (l: Line) => {
    buf.push(JSON.stringify({ level: 30, time: l.t, ...l.o, msg: l.msg }));
    e.lines++;
    if (e.lines % corruptEvery === 0) {
      const whole = JSON.stringify({ level: 30, time: l.t, event: 'delivery', delivery: 0, result: 'success', msg: 'cut' });
      buf.push(whole.slice(0, whole.length - 9), 'plain text, not a qmta record', '{"foreign":true}');
      e.corrupt += 2;
      e.foreign++;
      e.lines += 3;
    }
    if (buf.length >= 4096) flush();
  };
  const flush = () => {
    write(buf.join('\n') + '\n');
    buf = [];
  };
  const status = (t: number) => emit({ t, o: { event: 'status', local: 0, localMax: 10, remote: 1, remoteMax: 20, exiting: false }, msg: 'status: local 0/10 remote 1/20' });
  const attempt = (t: number, id: string, ch: string, rcpt: string, result: string, report: string, dt: number) => {
    const d = ++n;
    emit({ t, o: { event: 'starting delivery', delivery: d, id, channel: ch, recipient: rcpt }, msg: `starting delivery ${d}: msg ${id} to ${ch} ${rcpt}` });
    status(t);
    emit({ t: t + dt, o: { event: 'delivery', delivery: d, result, report }, msg: `delivery ${d}: ${result}: ${report}` });
    status(t + dt);
    e.attempts++;
  };
  for (let i = 0; i < opts.messages; i++) one(i);
  flush();
  return e;

  function one(i: number): void {
    const t = T0 + i * STEP_MS;
    const id = String(i);
    const bytes = 1000 + (i % 97) * 10;
    const sender = i % 5000 === 4999 ? '#@[]' : i % 1000 === 999 ? '' : `s${i % senders}@senders.example`;
    emit({ t, o: { event: 'new msg', id }, msg: `new msg ${id}` });
    emit({ t, o: { event: 'info msg', id, bytes, sender }, msg: `info msg ${id}: bytes ${bytes} from <${sender}>` });
    e.messages++;
    e.bytes += bytes;
    const s = (e.senders[sender] ??= { messages: 0, bytes: 0 });
    s.messages++;
    s.bytes += bytes;
    if (i % 10 === 0) smtp(t);
    let failed = false;
    let end = t;
    for (let j = 0; j < 1 + (i % 3); j++) {
      const dom = `d${(i + j) % domains}.example`;
      const rcpt = `u${(i + j) % 50}@${dom}`;
      const ch = dom === 'd0.example' ? 'local' : 'remote';
      const df = (e.domains[dom] ??= { attempts: 0, success: 0, failure: 0, deferral: 0, bytes: 0 });
      const k = (3 * i + j) % 20;
      const at = t + 10 + j;
      if (k === 0 || (j === 0 && sender !== '' && sender.startsWith('#')) || (j === 0 && sender === '')) {
        attempt(at, id, ch, rcpt, 'failure', FAIL, 50);
        df.attempts++; df.failure++; e.failure++; failed = true;
        e.delaySumMs += at + 50 - t; e.delayCount++;
        end = Math.max(end, at + 50);
        continue;
      }
      let when = at;
      if (k === 1 || k === 2) {
        attempt(at, id, ch, rcpt, 'deferral', DEFER, 20);
        df.attempts++; df.deferral++; e.deferral++;
        when = at + DEFER_MS;
      }
      attempt(when, id, ch, rcpt, 'success', 'did 1+0+0', 30);
      df.attempts++; df.success++; df.bytes += bytes; e.success++; e.successBytes += bytes;
      e.delaySumMs += when + 30 - t; e.delayCount++;
      end = Math.max(end, when + 30);
    }
    if (failed && sender === '#@[]') {
      emit({ t: end + 1, o: { event: 'triple bounce', id }, msg: `triple bounce: discarding bounce/${id}` });
      e.tripleBounces++;
    } else if (failed) {
      emit({ t: end + 1, o: { event: 'bounce msg', id, bounce: `b${id}` }, msg: `bounce msg ${id} qp b${id}` });
      e.bounces++;
      if (sender === '') e.doubleBounces++;
    }
    emit({ t: end + 2, o: { event: 'end msg', id }, msg: `end msg ${id}` });
    e.completed++;
  }

  function smtp(t: number): void {
    emit({ t, o: { event: 'smtp session', kind: 'smtp', tls: false, accepted: 1, ms: 40, replies: { 220: 1, 250: 4, 354: 1, 221: 1 } }, msg: 'smtp session closed' });
    e.smtpSessions++;
    for (const [c, k] of [['220', 1], ['250', 4], ['354', 1], ['221', 1]] as const) e.smtpReplies[c] = (e.smtpReplies[c] ?? 0) + k;
  }
}
