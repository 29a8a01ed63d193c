import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventPayloads, KnownKind } from '../../src/events/payloads.js';
import type { EventSink } from '../../src/events/writer.js';
import { foldNotifications, planRate, retryDelayMs, RETRY_MAX_MS } from '../../src/notify/backoff.js';
import type { SendOutcome } from '../../src/notify/channels/types.js';
import { wants, type Notification } from '../../src/notify/kinds.js';
import { Outbox, type OutboxChannel } from '../../src/notify/outbox.js';
import { parseEnvFile } from '../../src/notify/secrets.js';

/** Pure parts of the outbox, and its file states driven by a scripted sender (real senders: test/e2e/notify*.test.ts). */

const note = (key: string, over: Partial<Notification> = {}): Notification => ({
  key,
  kind: 'halt',
  severity: 'critical',
  title: `title ${key}`,
  message: 'm',
  hint: null,
  project: 'p',
  host: 'h',
  ts: '2026-01-01T00:00:00.000Z',
  details: {},
  ...over,
});

class Recorder implements EventSink {
  events: Array<{ kind: KnownKind; payload: unknown }> = [];
  emit<K extends KnownKind>(kind: K, payload: EventPayloads[K]): void {
    this.events.push({ kind, payload });
  }
  of(kind: KnownKind) {
    return this.events.filter((e) => e.kind === kind).map((e) => e.payload as Record<string, unknown>);
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(outcomes: SendOutcome[], over: Partial<OutboxChannel> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ar-outbox-'));
  dirs.push(dir);
  let clock = 1_000_000;
  const got: Notification[] = [];
  const events = new Recorder();
  const channel: OutboxChannel = {
    name: 'ch',
    min_severity: 'info',
    sender: { send: async (n) => (got.push(n), outcomes.shift() ?? { ok: true }) },
    rateLimit: 100,
    rateWindowMs: 60_000,
    retryForMs: 86_400_000,
    ...over,
  };
  const outbox = new Outbox({ dir, channels: [channel], events, now: () => clock, random: () => 1 });
  return { dir, outbox, got, events, advance: (ms: number) => (clock += ms), now: () => clock };
}

describe('retry back-off', () => {
  it('doubles from 1–2 s and never exceeds 30 min; Retry-After is a floor', () => {
    expect(retryDelayMs(1, () => 0)).toBe(1000);
    expect(retryDelayMs(1, () => 1)).toBe(2000);
    expect(retryDelayMs(3, () => 1)).toBe(8000);
    expect(retryDelayMs(40, () => 1)).toBe(RETRY_MAX_MS);
    expect(retryDelayMs(40, () => 0)).toBe(RETRY_MAX_MS / 2);
    expect(retryDelayMs(1, () => 0, 120)).toBe(120_000);
  });
});

describe('rate plan', () => {
  it('sends each while the window has room, folds a burst larger than the room, waits when full', () => {
    expect(planRate(3, [], 3, 60_000, 100_000)).toEqual({ kind: 'each' });
    expect(planRate(4, [], 3, 60_000, 100_000)).toEqual({ kind: 'fold' });
    expect(planRate(1, [50_000, 60_000, 70_000], 3, 60_000, 100_000)).toEqual({ kind: 'wait', untilMs: 110_000 });
    // Messages older than the window do not count.
    expect(planRate(1, [10_000, 60_000, 70_000], 3, 60_000, 100_000)).toEqual({ kind: 'each' });
  });

  it('a folded message has the worst severity and lists every item', () => {
    const f = foldNotifications([note('a', { severity: 'info' }), note('b', { severity: 'critical' })], 'folded:x', 'now');
    expect(f).toMatchObject({ kind: 'folded', severity: 'critical', key: 'folded:x', details: { count: 2, keys: ['a', 'b'] } });
    expect(f.items).toHaveLength(2);
  });
});

describe('channel filters', () => {
  it('min_severity and events filter; tests always pass', () => {
    expect(wants({ min_severity: 'warning' }, { kind: 'usage_limit_wait', severity: 'info' })).toBe(false);
    expect(wants({ min_severity: 'warning' }, { kind: 'halt', severity: 'critical' })).toBe(true);
    expect(wants({ min_severity: 'info', events: ['alert_firing'] }, { kind: 'halt', severity: 'critical' })).toBe(false);
    expect(wants({ min_severity: 'critical', events: ['alert_firing'] }, { kind: 'test', severity: 'info' })).toBe(true);
  });
});

describe('outbox', () => {
  it('queues a key once, even after it was sent', async () => {
    const t = setup([]);
    expect(t.outbox.enqueue(note('k1'))).toEqual(['ch']);
    expect(t.outbox.enqueue(note('k1'))).toEqual([]);
    const r = await t.outbox.deliverDue();
    expect(r.sent).toBe(1);
    expect(t.outbox.enqueue(note('k1'))).toEqual([]);
    await t.outbox.deliverDue();
    expect(t.got.map((n) => n.key)).toEqual(['k1']);
    expect(t.events.of('notify_sent')).toEqual([{ channel: 'ch', key: 'k1', kind: 'halt', attempts: 1, folded: null, detail: null }]);
    expect(readdirSync(join(t.dir, 'sent'))).toHaveLength(1);
    expect(readdirSync(join(t.dir, 'pending'))).toEqual([]);
  });

  it('a failure is retried after the back-off, not before', async () => {
    const t = setup([{ ok: false, error: 'HTTP 500' }]);
    t.outbox.enqueue(note('k'));
    const first = await t.outbox.deliverDue();
    expect(first).toMatchObject({ sent: 0, failed: 1, nextDueMs: t.now() + 2000 });
    expect(t.events.of('notify_retry')[0]).toMatchObject({ attempt: 1, error: 'HTTP 500', next_attempt_s: 2 });
    t.advance(1999);
    expect((await t.outbox.deliverDue()).sent).toBe(0);
    expect(t.got).toHaveLength(1);
    t.advance(1);
    expect((await t.outbox.deliverDue()).sent).toBe(1);
    expect(t.events.of('notify_sent')[0]).toMatchObject({ attempts: 2 });
  });

  it('gives up after retry_for_s, and at once on a permanent refusal; both kept in dead/', async () => {
    const t = setup(
      [
        { ok: false, error: 'down' },
        { ok: false, error: 'down' },
        { ok: false, error: 'HTTP 404', permanent: true },
      ],
      { retryForMs: 5000 },
    );
    t.outbox.enqueue(note('slow'));
    await t.outbox.deliverDue(); // attempt 1 fails: retry in 2 s (within 5 s)
    t.advance(2000);
    await t.outbox.deliverDue(); // attempt 2 fails: the next wait (4 s) would pass 5 s → give up
    expect(t.events.of('notify_gave_up')[0]).toMatchObject({ key: 'slow', attempts: 2, permanent: false, error: 'down' });
    t.outbox.enqueue(note('refused'));
    await t.outbox.deliverDue();
    expect(t.events.of('notify_gave_up')[1]).toMatchObject({ key: 'refused', attempts: 1, permanent: true });
    expect(readdirSync(join(t.dir, 'dead'))).toHaveLength(2);
    expect(t.outbox.pending()).toEqual([]);
    // A given-up key is not queued again either.
    expect(t.outbox.enqueue(note('refused'))).toEqual([]);
  });

  it('folds a burst past the rate limit into one message, and waits when the window is full', async () => {
    const t = setup([], { rateLimit: 2, rateWindowMs: 60_000 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) t.outbox.enqueue(note(k));
    const r = await t.outbox.deliverDue();
    expect(r.sent).toBe(5);
    expect(t.got).toHaveLength(1);
    expect(t.got[0]!.kind).toBe('folded');
    expect(t.got[0]!.items!.map((n) => n.key)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(t.events.of('notify_sent').map((e) => e['folded'])).toEqual([5, 5, 5, 5, 5]);
    t.outbox.enqueue(note('f'));
    await t.outbox.deliverDue();
    t.outbox.enqueue(note('g'));
    const full = await t.outbox.deliverDue();
    expect(t.got.map((n) => n.key).slice(1)).toEqual(['f']);
    expect(full.nextDueMs).toBe(t.now() + 60_000);
  });

  it('a lock left by a dead deliverer is taken over', async () => {
    const t = setup([]);
    const { writeFileSync, mkdirSync } = await import('node:fs');
    mkdirSync(join(t.dir, 'locks'), { recursive: true });
    // pid 2^22 - 1 does not exist on a default pid_max.
    writeFileSync(join(t.dir, 'locks', 'ch.json'), JSON.stringify({ pid: 4194303, starttime: 1 }));
    t.outbox.enqueue(note('k'));
    expect((await t.outbox.deliverDue()).sent).toBe(1);
    expect(existsSync(join(t.dir, 'locks', 'ch.json'))).toBe(false);
  });
});

describe('notifier', () => {
  it('masks secrets in what it queues, and never throws at its producer', async () => {
    const { Notifier } = await import('../../src/notify/notifier.js');
    const { Redactor } = await import('../../src/util/redact.js');
    const t = setup([]);
    const logged: string[] = [];
    const n = new Notifier(t.outbox, (l) => logged.push(l), new Redactor(['s3cret-token-value']));
    n.notify(note('k', { message: 'log says s3cret-token-value' }));
    await n.flush(5000);
    expect(t.got[0]!.message).toBe('log says [REDACTED]');
    // An outbox "directory" that is a file: every write fails (ENOTDIR), as on a broken disk.
    const { writeFileSync } = await import('node:fs');
    const notADir = join(t.dir, 'a-file');
    writeFileSync(notADir, '');
    const broken = new Notifier(new Outbox({ dir: notADir, channels: [{ name: 'ch', min_severity: 'info', sender: { send: async () => ({ ok: true }) }, rateLimit: 1, rateWindowMs: 1, retryForMs: 1 }], events: new Recorder() }), (l) => logged.push(l));
    expect(() => broken.notify(note('x'))).not.toThrow();
    expect(logged[0]).toMatch(/could not queue the notification/);
  });
});

describe('env_file', () => {
  it('reads NAME=value lines as systemd does: comments, quotes, export', () => {
    expect(parseEnvFile('# c\n\nA=1\nexport B="two words"\nC=\'x=y\'\n bad line\n')).toEqual({ A: '1', B: 'two words', C: 'x=y' });
  });
});
