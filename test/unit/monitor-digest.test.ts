import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toJsonLine } from '../../src/events/json-line.js';
import { advanceHistory, bootstrapHistory, type HistoryState } from '../../src/monitor/history.js';
import type { Digest } from '../../src/monitor/digest.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A deterministic history in the writer's own format: rounds of every kind of outcome. */
function* history(rounds: number, seed = 7): Generator<[string, Record<string, unknown>]> {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let t = Date.UTC(2026, 9, 25);
  for (let n = 1; n <= rounds; n++) {
    t += 60_000;
    if (rnd() < 0.05) yield [iso(t), { event: 'smoke_check_failed', reason: 'prompt_smoke_passes: short', check: 'prompt_smoke_passes' }];
    yield [iso(t), { event: 'round_start', round_num: n, phase: n % 2 ? 'a' : 'b' }];
    yield [iso(t + 5), { event: 'agent_spawn', round_num: n, timeout_s: 30, pid: 100 + n, pgid: 100 + n, log_path: `/l/R${n}.log` }];
    const r = rnd();
    const transient = r < 0.1 ? 'auth_failure' : r < 0.2 ? 'network' : r < 0.25 ? 'usage_limit' : null;
    const timed = r > 0.9;
    yield [iso(t + 50), { event: 'agent_exit', round_num: n, exit_code: transient ? 1 : timed ? -15 : 0, duration_s: 3, timed_out: timed, outcome: transient ? 'error' : timed ? 'timeout' : 'clean', transient }];
    if (transient === 'usage_limit') yield [iso(t + 51), { event: 'transient_error_detected', round_num: n, classification: 'usage_limit', agent: 'claude', reset_at_epoch: Math.round(t / 1000) + 3600 }];
    if (rnd() < 0.3) yield [iso(t + 52), { event: 'orphan_stashed', round_num: n, ref: 'abc' }];
    yield [iso(t + 60), { event: 'round_end', round_num: n, outcome: 'clean' }];
    if (rnd() < 0.2) yield [iso(t + 61), { event: 'monitor_alert_emitted', detector: 'x' }];
  }
  // A round left open at the end.
  yield [iso(t + 120_000), { event: 'round_start', round_num: rounds + 1, phase: 'a' }];
}
const iso = (ms: number) => new Date(ms).toISOString();
const month = (ts: string) => ts.slice(0, 7);

function comparable(d: Digest) {
  const { folded: _f, ...rest } = d;
  return rest;
}

const opts = { keep: 10, authPatterns: [/401/], networkPatterns: [/ECONN/] };

describe('digest: derived from the end or advanced from a cursor, the same answer', () => {
  it('bootstrap at the end equals a bootstrap half-way plus every append folded poll by poll', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-digest-'));
    dirs.push(dir);
    const lines = [...history(3000)];
    const write = (from: number, to: number) => {
      for (const [ts, ev] of lines.slice(from, to)) appendFileSync(join(dir, `events-${month(ts)}.jsonl`), toJsonLine({ ts, ...ev }));
    };
    const half = Math.floor(lines.length / 2);
    write(0, half);
    let state: HistoryState = bootstrapHistory(dir, opts).state;
    for (let at = half; at < lines.length; at += 97) {
      write(at, Math.min(lines.length, at + 97));
      const adv = advanceHistory(dir, state, opts);
      expect(adv.bootstrap).toBe(false);
      state = adv.state;
    }
    const fresh = bootstrapHistory(dir, opts);
    expect(comparable(state.digest)).toEqual(comparable(fresh.state.digest));
    expect(state.cursor).toEqual(fresh.state.cursor);
    // Sanity: the digest holds what the detectors need, bounded.
    expect(state.digest.exits).toHaveLength(10);
    expect(state.digest.open).toMatchObject({ round_num: 3001 });
    expect(state.digest.last_supervisor?.event).toBe('round_start');
    // The bootstrap read a bounded amount, not 3000 rounds.
    expect(fresh.linesRead).toBeLessThan(200);
  });
});
