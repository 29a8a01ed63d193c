import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toJsonLine } from '../../src/events/json-line.js';
import { emptyLog, foldEvent, standingHalt, type HistoryLog } from '../../src/history/log.js';
import { buildHistory, type ModelInput } from '../../src/history/model.js';
import { advanceHistory, bootstrapHistory, type HistoryState } from '../../src/history/scan.js';
import type { ServeState } from '../../src/loop/serve-state.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A deterministic history in the writer's own format: rounds of every kind of outcome, waits, halts, spend. */
function* history(rounds: number, seed = 7): Generator<[string, Record<string, unknown>]> {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  // Rounds are an hour apart, so the history crosses many UTC days.
  let t = Date.UTC(2026, 9, 25);
  for (let n = 1; n <= rounds; n++) {
    t += 3_600_000;
    if (rnd() < 0.05) yield [iso(t), { event: 'smoke_check_failed', reason: 'prompt_smoke_passes: short', check: 'prompt_smoke_passes' }];
    yield [iso(t), { event: 'round_start', round_num: n, phase: n % 2 ? 'a' : 'b' }];
    yield [iso(t + 5), { event: 'agent_spawn', round_num: n, timeout_s: 30, pid: 100 + n, pgid: 100 + n, log_path: `/l/R${n}.log` }];
    if (rnd() < 0.5) yield [iso(t + 20), { event: 'round_progress', round_num: n, tool_calls: Math.floor(rnd() * 9) }];
    const r = rnd();
    const transient = r < 0.1 ? 'auth_failure' : r < 0.2 ? 'network' : r < 0.25 ? 'usage_limit' : null;
    const timed = r > 0.9;
    const cost = rnd() < 0.8 ? Math.round(rnd() * 1e4) / 1e5 : null;
    yield [iso(t + 50), { event: 'agent_exit', round_num: n, exit_code: transient ? 1 : timed ? -15 : 0, duration_s: 3, timed_out: timed, outcome: transient ? 'error' : timed ? 'timeout' : 'clean', transient, cost_usd: cost, tool_calls: 4 }];
    if (cost !== null) yield [iso(t + 50), { event: 'agent_usage_recorded', round_num: n, input_tokens: 100 * n, output_tokens: 10 * n, cached_tokens: 5, cost_usd: cost }];
    if (transient === 'network') yield [iso(t + 50), { event: 'agent_network_blip', round_num: n, matched: 'ECONNRESET' }];
    if (transient === 'usage_limit') yield [iso(t + 51), { event: 'transient_error_detected', round_num: n, classification: 'usage_limit', agent: 'claude', reset_at_epoch: Math.round(t / 1000) + 3600 }];
    if (rnd() < 0.3) yield [iso(t + 52), { event: 'orphan_stashed', round_num: n, ref: 'abc' }];
    yield [iso(t + 60), { event: 'round_end', round_num: n, outcome: transient ? 'error' : 'clean', duration_s: 3.1, commits: n % 3 }];
    if (rnd() < 0.2) yield [iso(t + 61), { event: 'monitor_alert_emitted', detector: 'x' }];
    if (transient) {
      const until = iso(t + 600_000);
      yield [iso(t + 62), { event: 'serve_waiting', reason: transient === 'usage_limit' ? 'usage_limit' : 'backoff', until, seconds: 600, round_num: n }];
      yield [iso(t + 62 + 60_000), { event: 'serve_waiting', reason: transient === 'usage_limit' ? 'usage_limit' : 'backoff', until, seconds: 540, round_num: n }];
      if (rnd() < 0.7) yield [iso(t + 600_000), { event: 'transient_error_recovered', classification: transient, agent: 'claude', throttled_for_s: 600 }];
    }
    if (transient === 'auth_failure' && rnd() < 0.3) {
      yield [iso(t + 63), { event: 'halt_recorded', reason: 'auth_failure', exit_code: 84, round_num: n, hint: 'log in' }];
      yield [iso(t + 64), { event: 'serve_stopped', reason: 'auth_failure', rounds_completed: 1, exit_code: 84 }];
      yield [iso(t + 1_000_000), { event: 'halt_cleared', reason: 'auth_failure', since: iso(t + 63) }];
      yield [iso(t + 1_000_001), { event: 'serve_started', pid: 4242, mode: 'foreground', max_rounds: null, version: 't' }];
    }
  }
  // A round left open at the end.
  yield [iso(t + 3_500_000), { event: 'round_start', round_num: rounds + 1, phase: 'a' }];
}
const iso = (ms: number) => new Date(ms).toISOString();
const month = (ts: string) => ts.slice(0, 7);

/**
 * What a derivation from the end must reproduce: every field, except the count of lines folded and
 * the older entries of the lists that reach further back than the kept rounds (a derivation reads
 * only as far as the kept rounds; the views use the newest wait and halt).
 */
function comparable(h: HistoryLog) {
  const { folded: _f, waits, halts, blips, resumed_at: _r, ...rest } = h;
  const oldest = h.rounds[0]?.round_num ?? 0;
  return { ...rest, waits: waits.slice(-1), halts: halts.slice(-1), blips: blips.filter((b) => (b.round_num ?? 0) > oldest) };
}

const opts = { keep: 10, authPatterns: [/401/], networkPatterns: [/ECONN/] };

function writer(dir: string, lines: Array<[string, Record<string, unknown>]>) {
  return (from: number, to: number) => {
    for (const [ts, ev] of lines.slice(from, to)) appendFileSync(join(dir, `events-${month(ts)}.jsonl`), toJsonLine({ ts, ...ev }));
  };
}

describe('history log: derived from the end or advanced from a cursor, the same answer', () => {
  it('bootstrap at the end equals a bootstrap half-way plus every append folded poll by poll', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-history-'));
    dirs.push(dir);
    const lines = [...history(3000)];
    const write = writer(dir, lines);
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
    expect(comparable(state.log)).toEqual(comparable(fresh.state.log));
    expect(state.cursor).toEqual(fresh.state.cursor);
    // Sanity: the log holds what the views need, bounded.
    expect(state.log.exits).toHaveLength(10);
    expect(state.log.rounds).toHaveLength(10);
    expect(state.log.rounds.at(-1)).toMatchObject({ round_num: 3001, started_at: expect.any(String), ended_at: null });
    expect(state.log.rounds.at(-2)).toMatchObject({ round_num: 3000, ended_at: expect.any(String), commits: 0, tool_calls: 4 });
    expect(state.log.open).toMatchObject({ round_num: 3001 });
    expect(state.log.last_supervisor?.event).toBe('round_start');
    // The day's spend: every costed exit of the newest day (24 rounds an hour apart), from the end too.
    expect(state.log.cost.day).toBe(lines.at(-1)![0].slice(0, 10));
    expect(state.log.cost.complete).toBe(true);
    const day = state.log.cost.day!;
    const expected = lines.filter(([ts, ev]) => ev['event'] === 'agent_exit' && ts.startsWith(day) && typeof ev['cost_usd'] === 'number');
    expect(state.log.cost.rounds).toBe(expected.length);
    expect(state.log.cost.usd).toBeCloseTo(expected.reduce((a, [, ev]) => a + (ev['cost_usd'] as number), 0), 6);
    // The bootstrap read a bounded amount, not 3000 rounds.
    expect(fresh.linesRead).toBeLessThan(400);
  });

  it('tolerates torn lines, lines that are not events and kinds it does not know', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-history-'));
    dirs.push(dir);
    const f = join(dir, 'events-2026-11.jsonl');
    const ok = (ev: Record<string, unknown>) => appendFileSync(f, toJsonLine({ ts: '2026-11-02T10:00:00.000Z', ...ev }));
    ok({ event: 'round_start', round_num: 1, phase: null });
    appendFileSync(f, '{"ts": "2026-11-02T10:00:01.000Z", "event": "agent_ex\n'); // torn by a crash mid-write
    appendFileSync(f, 'not json at all\n[1, 2]\n');
    ok({ event: 'plugin_said_something', round_num: 1, detail: 'from another writer' });
    ok({ event: 'agent_exit', round_num: 1, exit_code: 0, outcome: 'clean', duration_s: 1, cost_usd: 0.5 });
    ok({ event: 'round_end', round_num: 1, outcome: 'clean', duration_s: 1.2 });
    appendFileSync(f, '{"ts": "2026-11-02T10:00:09.000Z", "event": "round_start", "round_nu'); // a write in progress
    const b = bootstrapHistory(dir, { keep: 10 });
    expect(b.state.log.rounds).toEqual([expect.objectContaining({ round_num: 1, outcome: 'clean', duration_s: 1.2, cost_usd: 0.5 })]);
    expect(b.state.log.open).toBeNull();
    // The unknown kind still shows the supervisor wrote something.
    expect(b.state.log.last_supervisor?.event).toBe('round_end');
    // The line in progress is completed later and read once, whole.
    appendFileSync(f, 'm": 2, "phase": null}\n');
    const a = advanceHistory(dir, b.state, { keep: 10 });
    expect(a.state.log.open).toMatchObject({ round_num: 2 });
    expect(a.state.log.rounds.map((r) => r.round_num)).toEqual([1, 2]);
  });
});

describe('history log: what one sequence of events means', () => {
  const fold = (events: Array<Record<string, unknown>>): HistoryLog => {
    const h = emptyLog();
    let t = Date.UTC(2026, 10, 2, 10);
    for (const e of events) foldEvent(h, { ts: iso((t += 1000)), ...e } as never);
    return h;
  };

  it('a usage-limit wait: open while serve waits, ended by its recovery, the limit with it', () => {
    const limited = [
      { event: 'round_start', round_num: 1 },
      { event: 'agent_exit', round_num: 1, exit_code: 1, outcome: 'error', transient: 'usage_limit' },
      { event: 'transient_error_detected', round_num: 1, classification: 'usage_limit', reset_at_epoch: 1_900_000_000, agent: 'claude' },
      { event: 'round_end', round_num: 1, outcome: 'error' },
      { event: 'serve_waiting', reason: 'usage_limit', until: '2026-11-02T15:00:00.000Z', seconds: 100, round_num: 1 },
      { event: 'serve_waiting', reason: 'usage_limit', until: '2026-11-02T15:00:00.000Z', seconds: 40, round_num: 1 },
    ];
    const waiting = fold(limited);
    expect(waiting.waits).toEqual([expect.objectContaining({ reason: 'usage_limit', round_num: 1, ended_by: null })]);
    expect(waiting.limit).toMatchObject({ reset_at_epoch: 1_900_000_000, round_num: 1 });
    const over = fold([...limited, { event: 'transient_error_recovered', classification: 'usage_limit' }, { event: 'round_start', round_num: 2 }]);
    expect(over.waits).toEqual([expect.objectContaining({ ended_by: 'elapsed' })]);
    expect(over.limit).toBeNull();
    // A stop ends the wait; the limit stands (nothing showed it is over).
    const stopped = fold([...limited, { event: 'serve_stopped', reason: 'signal SIGTERM', exit_code: 0 }]);
    expect(stopped.waits.at(-1)).toMatchObject({ ended_by: 'stopped' });
    expect(stopped.limit).not.toBeNull();
    // A network wait that elapses does not end a usage limit.
    expect(fold([...limited, { event: 'transient_error_recovered', classification: 'network' }]).limit).not.toBeNull();
  });

  it('a halt stands until resume clears it', () => {
    const h = fold([{ event: 'halt_recorded', reason: 'auth_failure', exit_code: 84, round_num: 3, hint: 'log in' }]);
    expect(standingHalt(h)).toMatchObject({ reason: 'auth_failure', exit_code: 84, round_num: 3 });
    const cleared = fold([{ event: 'halt_recorded', reason: 'auth_failure', exit_code: 84, round_num: 3, hint: 'log in' }, { event: 'halt_cleared', reason: 'auth_failure' }]);
    expect(standingHalt(cleared)).toBeNull();
    expect(cleared.resumed_at).not.toBeNull();
  });

  it('the model: a dead serve is not waiting, and its usage limit is the agent\'s reset only', () => {
    const log = fold([
      { event: 'round_start', round_num: 1 },
      { event: 'agent_exit', round_num: 1, exit_code: 1, outcome: 'error', transient: 'usage_limit' },
      { event: 'transient_error_detected', round_num: 1, classification: 'usage_limit', reset_at_epoch: null, agent: 'claude' },
      { event: 'round_end', round_num: 1, outcome: 'error', duration_s: 2 },
    ]);
    const now = Date.UTC(2026, 10, 2, 11);
    const serve: ServeState = { pid: 77, started_at: iso(now - 60_000), state: 'waiting', until: iso(now + 3_600_000), wait_reason: 'usage_limit', rounds_completed: 1, consecutive_failures: 1, cost_usd: 0, updated_at: iso(now), round_num: 1 };
    const input = (alive: boolean): ModelInput => ({
      log, status: null, serve, halt: null, loop: null, now, timeoutFor: () => 60, processes: { state: () => (alive ? 'alive' : 'dead') },
    });
    const live = buildHistory(input(true));
    expect(live.wait).toMatchObject({ reason: 'usage_limit', seconds_left: 3600, round_num: 1 });
    expect(live.usage_limit).toMatchObject({ source: 'serve', throttled_until_epoch: Math.round((now + 3_600_000) / 1000), agent: 'claude', since_round: 1 });
    expect(live.last_round).toMatchObject({ round_num: 1, outcome: 'error', duration_s: 2 });
    const dead = buildHistory(input(false));
    expect(dead.wait).toBeNull();
    expect(dead.usage_limit).toBeNull();
    expect(dead.serve.process).toBe('dead');
  });
});
