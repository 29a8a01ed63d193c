import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { EventSink } from '../events/writer.js';
import { findRoundProcesses, isAlive, readStat } from '../proc/procfs.js';
import { createFileExclusive, writeJsonAtomic } from '../util/atomic-write.js';
import { isoNow } from '../util/time.js';
import { foldNotifications, planRate, retryDelayMs } from './backoff.js';
import type { AttemptProcess, ChannelSender, SendOutcome } from './channels/types.js';
import { wants, type ChannelFilter, type Notification } from './kinds.js';

/**
 * The durable outbox: a notification is a file before anyone tries to send it, so nothing is lost
 * to a crash, a restart or a receiver that is down for hours.
 *
 *   outbox/pending/<channel>~<id>.json   queued or being retried (attempts, next try, last error)
 *   outbox/sent/<channel>~<id>.json      delivered: kept a week, so the same key is never queued again
 *   outbox/dead/<channel>~<id>.json      given up after retry_for_s (or a permanent refusal)
 *   outbox/locks/<channel>.json          the one process delivering to that channel now
 *   outbox/rate/<channel>.json           when the channel's recent messages went out
 *
 * The id is a hash of the channel and the notification's idempotency key. A file is created with
 * link(2), which fails when the name exists, and moved with link + unlink, so at every instant the
 * id exists in at least one of the three folders: the same key is queued at most once per channel.
 * A delivery is at least once: a crash between a receiver's "200" and the move to sent/ sends it
 * again. Receivers that care deduplicate on the key (Idempotency-Key header, AGENT_RUNNER_NOTIFY_KEY).
 */
export interface OutboxEntry {
  v: 1;
  id: string;
  channel: string;
  notification: Notification;
  created_ms: number;
  attempts: number;
  /** Epoch ms before which no attempt is made. */
  next_ms: number;
  last_error: string | null;
}

export interface OutboxChannel extends ChannelFilter {
  name: string;
  sender: ChannelSender;
  rateLimit: number;
  rateWindowMs: number;
  /** After this long since queueing, a failing notification is given up. */
  retryForMs: number;
}

export interface OutboxOptions {
  dir: string;
  channels: readonly OutboxChannel[];
  events: EventSink;
  /** Masks secrets in the error text of events. */
  redact?: (s: string) => string;
  now?: () => number;
  random?: () => number;
}

export interface DeliveryReport {
  sent: number;
  failed: number;
  /** Earliest time a pending notification may be tried again; undefined when none is pending. */
  nextDueMs: number | undefined;
  /** Channels skipped because another live process is delivering to them. */
  busy: string[];
  /** nextDueMs without the busy channels: what this process itself still has to do. */
  ownNextDueMs: number | undefined;
}

/** Sent records are kept this long to refuse a key queued again (a restarted producer). */
const SENT_KEEP_MS = 7 * 24 * 3600_000;

interface LockHolder {
  pid: number;
  starttime: number;
  child?: AttemptProcess;
}

export const outboxDir = (logDir: string) => join(logDir, 'outbox');

export class Outbox {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly redact: (s: string) => string;
  private readonly channels: Map<string, OutboxChannel>;
  /** Channels this process is delivering to right now (the lock file is per process). */
  private readonly active = new Set<string>();
  private pruned = false;

  constructor(private readonly o: OutboxOptions) {
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.redact = o.redact ?? ((s) => s);
    this.channels = new Map(o.channels.map((c) => [c.name, c]));
  }

  private path(folder: 'pending' | 'sent' | 'dead' | 'locks' | 'rate', name = ''): string {
    return join(this.o.dir, folder, name);
  }

  /** Queue `n` for every channel that wants it, once per key. Returns the channels it was newly queued for. */
  enqueue(n: Notification, only?: string): string[] {
    const queued: string[] = [];
    for (const ch of this.channels.values()) {
      if (only !== undefined && ch.name !== only) continue;
      if (!wants(ch, n)) continue;
      if (this.enqueueFor(ch.name, n)) queued.push(ch.name);
    }
    return queued;
  }

  private enqueueFor(channel: string, n: Notification): boolean {
    const id = createHash('sha256').update(`${channel}\0${n.key}`).digest('hex').slice(0, 32);
    const file = `${channel}~${id}.json`;
    const settled = () => exists(this.path('sent', file)) || exists(this.path('dead', file));
    if (settled()) return false;
    const now = this.now();
    const entry: OutboxEntry = { v: 1, id, channel, notification: n, created_ms: now, attempts: 0, next_ms: now, last_error: null };
    for (const f of ['pending', 'sent', 'dead'] as const) mkdirSync(this.path(f), { recursive: true, mode: 0o700 });
    // Written whole under a temporary name, then linked: link(2) refuses an existing name.
    if (!createFileExclusive(this.path('pending', file), JSON.stringify(entry) + '\n')) return false;
    // Delivered between the check above and the link: ours is the duplicate.
    if (settled()) {
      rmSync(this.path('pending', file), { force: true });
      return false;
    }
    return true;
  }

  /** Every queued notification, oldest first. */
  pending(channel?: string): OutboxEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.path('pending'));
    } catch {
      return [];
    }
    const out: OutboxEntry[] = [];
    for (const name of names) {
      if (name.startsWith('.') || !name.endsWith('.json')) continue;
      if (channel !== undefined && !name.startsWith(`${channel}~`)) continue;
      try {
        out.push(JSON.parse(readFileSync(this.path('pending', name), 'utf8')) as OutboxEntry);
      } catch {
        /* moved away by another deliverer meanwhile, or torn: the next pass sees it again */
      }
    }
    return out.sort((a, b) => a.created_ms - b.created_ms || a.notification.ts.localeCompare(b.notification.ts) || a.notification.key.localeCompare(b.notification.key));
  }

  /** One pass: every channel with due notifications, in parallel; each channel in order. */
  async deliverDue(): Promise<DeliveryReport> {
    this.pruneSent();
    const report: DeliveryReport = { sent: 0, failed: 0, nextDueMs: undefined, busy: [], ownNextDueMs: undefined };
    const byChannel = new Map<string, OutboxEntry[]>();
    for (const e of this.pending()) {
      const list = byChannel.get(e.channel) ?? [];
      list.push(e);
      byChannel.set(e.channel, list);
    }
    const later = (t: number) => (report.nextDueMs = report.nextDueMs === undefined ? t : Math.min(report.nextDueMs, t));
    await Promise.all(
      [...byChannel].map(async ([name, entries]) => {
        const ch = this.channels.get(name);
        // A channel removed from the config: its queue waits until it comes back (or is deleted by hand).
        if (!ch || this.active.has(name)) return;
        if (!this.lock(name)) {
          report.busy.push(name);
          later(this.now() + 1000);
          return;
        }
        this.active.add(name);
        try {
          const r = await this.deliverChannel(ch, entries);
          report.sent += r.sent;
          report.failed += r.failed;
          if (r.nextDueMs !== undefined) {
            later(r.nextDueMs);
            report.ownNextDueMs = Math.min(report.ownNextDueMs ?? Infinity, r.nextDueMs);
          }
        } finally {
          this.active.delete(name);
          this.unlock(name);
        }
      }),
    );
    return report;
  }

  /**
   * Deliver until nothing is pending or the deadline comes; waits for back-offs that end before it.
   * A channel another live process is delivering to is left to it. Returns how many notifications
   * are still pending.
   */
  async flush(deadlineMs: number, signal?: AbortSignal): Promise<number> {
    for (;;) {
      const r = await this.deliverDue();
      if (r.ownNextDueMs === undefined) return this.pending().filter((e) => !r.busy.includes(e.channel)).length;
      const wait = Math.max(r.ownNextDueMs - this.now(), 20);
      if (this.now() + wait > deadlineMs || signal?.aborted) return this.pending().length;
      await new Promise((res) => setTimeout(res, wait));
    }
  }

  private async deliverChannel(ch: OutboxChannel, entries: OutboxEntry[]): Promise<{ sent: number; failed: number; nextDueMs: number | undefined }> {
    let sent = 0;
    let failed = 0;
    const now = this.now();
    // Re-read under the lock: another process may have delivered some before we took it.
    const fresh = entries.filter((e) => exists(this.path('pending', fileOf(e))));
    const due = fresh.filter((e) => e.next_ms <= now);
    let nextDueMs = minOf(fresh.filter((e) => e.next_ms > now).map((e) => e.next_ms));
    if (due.length === 0) return { sent, failed, nextDueMs };
    const rate = this.readRate(ch.name);
    // Counted over everything queued, not only what is due: once a message must go out anyway,
    // a fold carries the notifications still waiting out a back-off too.
    const plan = planRate(fresh.length, rate, ch.rateLimit, ch.rateWindowMs, now);
    if (plan.kind === 'wait') return { sent, failed, nextDueMs: minOf([plan.untilMs, nextDueMs]) };
    if (plan.kind === 'fold') nextDueMs = undefined;
    const batches: OutboxEntry[][] = plan.kind === 'each' ? due.map((e) => [e]) : [fresh];
    for (const batch of batches) {
      const message =
        batch.length === 1
          ? batch[0]!.notification
          : foldNotifications(
              batch.map((e) => e.notification),
              `folded:${createHash('sha256').update(batch.map((e) => e.id).join(',')).digest('hex').slice(0, 16)}`,
              isoNow(this.now()),
            );
      const outcome = await this.attempt(ch, message);
      if (outcome.ok) {
        for (const e of batch) this.settle(e, 'sent');
        rate.push(this.now());
        this.writeRate(ch.name, rate, ch.rateWindowMs);
        sent += batch.length;
        for (const e of batch) {
          this.o.events.emit('notify_sent', { channel: ch.name, key: e.notification.key, kind: e.notification.kind, attempts: e.attempts + 1, folded: batch.length > 1 ? batch.length : null, detail: outcome.detail ?? null });
        }
        continue;
      }
      failed += batch.length;
      for (const e of batch) {
        const next = this.afterFailure(ch, e, outcome);
        if (next !== undefined) nextDueMs = minOf([nextDueMs, next]);
      }
    }
    return { sent, failed, nextDueMs };
  }

  /** Record a failed attempt: the next try, or the end of trying. Returns the next try's time. */
  private afterFailure(ch: OutboxChannel, e: OutboxEntry, outcome: Extract<SendOutcome, { ok: false }>): number | undefined {
    const now = this.now();
    const attempts = e.attempts + 1;
    const error = this.redact(outcome.error);
    const delay = retryDelayMs(attempts, this.random, outcome.retryAfterS);
    const ageS = Math.round((now - e.created_ms) / 1000);
    if (outcome.permanent || now + delay > e.created_ms + ch.retryForMs) {
      this.settle({ ...e, attempts, last_error: error }, 'dead');
      this.o.events.emit('notify_gave_up', { channel: ch.name, key: e.notification.key, kind: e.notification.kind, attempts, error, age_s: ageS, permanent: Boolean(outcome.permanent) });
      return undefined;
    }
    const updated: OutboxEntry = { ...e, attempts, next_ms: now + delay, last_error: error };
    try {
      writeJsonAtomic(this.path('pending', fileOf(e)), updated);
    } catch {
      /* disk trouble: the entry stays as it was and is retried at once next pass */
    }
    this.o.events.emit('notify_retry', { channel: ch.name, key: e.notification.key, kind: e.notification.kind, attempt: attempts, error, next_attempt_s: Math.round(delay / 100) / 10 });
    return now + delay;
  }

  private async attempt(ch: OutboxChannel, n: Notification): Promise<SendOutcome> {
    try {
      return await ch.sender.send(n, { onSpawn: (p) => this.recordChild(ch.name, p) });
    } catch (err) {
      return { ok: false, error: `internal error: ${(err as Error).message}` };
    } finally {
      this.recordChild(ch.name, undefined);
    }
  }

  /** Move an entry out of pending/: link first, so the id never disappears from every folder. */
  private settle(e: OutboxEntry, to: 'sent' | 'dead'): void {
    const file = fileOf(e);
    const target = this.path(to, file);
    try {
      writeJsonAtomic(target, { ...e, settled_ms: this.now() });
    } catch {
      try {
        linkSync(this.path('pending', file), target);
      } catch {
        /* already there */
      }
    }
    rmSync(this.path('pending', file), { force: true });
  }

  // ---- the per-channel lock: one deliverer per channel across processes (serve and monitor) ----

  private lock(channel: string): boolean {
    mkdirSync(this.path('locks'), { recursive: true, mode: 0o700 });
    const file = this.path('locks', `${channel}.json`);
    const me: LockHolder = { pid: process.pid, starttime: readStat(process.pid)?.starttime ?? 0 };
    for (let i = 0; i < 2; i++) {
      if (createFileExclusive(file, JSON.stringify(me))) return true;
      let holder: LockHolder | undefined;
      try {
        holder = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
      } catch {
        holder = undefined; // torn by a crash mid-write: nobody holds it
      }
      // Alive (another process, or this one): busy. A recycled pid has another start time.
      if (holder && isAlive(holder.pid, holder.starttime || undefined)) return false;
      // Stale: its deliverer died. Only one taker wins the rename; it ends the dead one's attempt.
      const taken = `${file}.stale-${process.pid}`;
      try {
        renameSync(file, taken);
      } catch {
        continue;
      }
      try {
        const stale = JSON.parse(readFileSync(taken, 'utf8')) as LockHolder;
        if (stale.child) killStaleAttempt(stale.child);
      } catch {
        /* nothing recorded */
      }
      rmSync(taken, { force: true });
    }
    return false;
  }

  private recordChild(channel: string, child: AttemptProcess | undefined): void {
    const me: LockHolder = { pid: process.pid, starttime: readStat(process.pid)?.starttime ?? 0, ...(child ? { child } : {}) };
    try {
      writeJsonAtomic(this.path('locks', `${channel}.json`), me);
    } catch {
      /* the attempt goes on; only its crash recovery is weaker */
    }
  }

  private unlock(channel: string): void {
    rmSync(this.path('locks', `${channel}.json`), { force: true });
  }

  // ---- rate state ----

  private readRate(channel: string): number[] {
    try {
      const r = JSON.parse(readFileSync(this.path('rate', `${channel}.json`), 'utf8')) as { sent_ms?: unknown };
      return Array.isArray(r.sent_ms) ? r.sent_ms.filter((x): x is number => typeof x === 'number') : [];
    } catch {
      return [];
    }
  }

  private writeRate(channel: string, sentMs: number[], windowMs: number): void {
    const now = this.now();
    try {
      mkdirSync(this.path('rate'), { recursive: true, mode: 0o700 });
      writeJsonAtomic(this.path('rate', `${channel}.json`), { sent_ms: sentMs.filter((t) => t > now - windowMs) });
    } catch {
      /* a lost rate record only allows a few more messages */
    }
  }

  private pruneSent(): void {
    if (this.pruned) return;
    this.pruned = true;
    const cutoff = this.now() - SENT_KEEP_MS;
    for (const folder of ['sent', 'dead'] as const) {
      let names: string[];
      try {
        names = readdirSync(this.path(folder));
      } catch {
        continue;
      }
      for (const name of names) {
        try {
          if (statSync(this.path(folder, name)).mtimeMs < cutoff) unlinkSync(this.path(folder, name));
        } catch {
          /* gone */
        }
      }
    }
  }
}

const fileOf = (e: Pick<OutboxEntry, 'channel' | 'id'>) => `${e.channel}~${e.id}.json`;

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function minOf(xs: ReadonlyArray<number | undefined>): number | undefined {
  const ys = xs.filter((x): x is number => x !== undefined);
  return ys.length ? Math.min(...ys) : undefined;
}

/**
 * An attempt of a deliverer that died (SIGKILL, power loss): its command may still run and would
 * deliver beside the retry. It is killed first, so the retry is the one delivery.
 */
function killStaleAttempt(child: AttemptProcess): void {
  const leaderAlive = isAlive(child.pid, child.starttime || undefined);
  const members = findRoundProcesses({ marker: child.marker, ...(leaderAlive ? { pgid: child.pid } : {}) });
  for (const p of members) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
