import { describe, expect, it } from 'vitest';
import { EVENT_KINDS } from '../../src/events/kinds.js';
import type { KnownKind } from '../../src/events/payloads.js';
import { EXIT, EXIT_CODES } from '../../src/exit-codes.js';
import type { Outcome } from '../../src/round/classify.js';
import type { TransientClass } from '../../src/round/stream-json.js';
import {
  decideBeforeRound, decideNext, decideOnRoundFailure, HALTS,
  type BudgetConfig, type Continue, type Decision, type HaltDecision, type HaltReason, type HaltSpec, type LoopCounters, type PolicyConfig, type PreRoundFacts, type RoundFailure, type RoundSummary,
} from '../../src/loop/policy.js';

// Every branch of the loop's pure policy, as rows of plain objects. random() = 0.5 makes the ±10 %
// jitter a factor of exactly 1, so the expected delays are the formulas' own numbers.
const NOW = Date.parse('2026-12-01T12:00:00Z');
const HALF = () => 0.5;

const CFG: PolicyConfig = {
  restart_delay_s: 3,
  crash_loop_threshold: 3,
  crash_loop_fast_s: 60,
  auth_failure_halt_after: 2,
  auth_contention_halt_after: 3,
  backoff_max_s: 600,
  transient_error_action: 'back_off',
  usage_limit_buffer_s: 60,
  usage_limit_jitter_s: 30,
  usage_limit_max_wait_s: 3600,
};
const ZERO: LoopCounters = { consecutive_failures: 0, consecutive_auth: 0, consecutive_contention: 0, consecutive_idle: 0, backoff: {} };
const round = (r: Partial<RoundSummary>): RoundSummary => ({ roundNum: 7, outcome: 'error', durationS: 5, exitCode: 1, logPath: '/logs/rounds/R7.log', agent: 'claude', ...r });

interface Row {
  name: string;
  round: Partial<RoundSummary>;
  counters?: Partial<LoopCounters>;
  cfg?: Partial<PolicyConfig>;
  /** The decision, matched with toMatchObject (so the event's payload may be a subset too). */
  decision: { kind: Decision['kind']; event?: { kind: KnownKind; payload: Record<string, unknown> } } & Record<string, unknown>;
  /** The counters after the round, exactly (consecutive_contention and consecutive_idle 0 unless given). */
  next: Omit<LoopCounters, 'consecutive_contention' | 'consecutive_idle'> & { consecutive_contention?: number; consecutive_idle?: number };
}

const ROWS: Row[] = [
  // Success resets everything.
  { name: 'clean: restart delay, every counter reset', round: { outcome: 'clean', exitCode: 0 }, counters: { consecutive_failures: 2, consecutive_auth: 1, backoff: { network: 3 } },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: ZERO },
  { name: 'grace_kill (done, then hung) counts as success', round: { outcome: 'grace_kill', exitCode: null }, counters: { consecutive_failures: 2 },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: ZERO },
  { name: 'interrupted: no wait, counters untouched', round: { outcome: 'interrupted', exitCode: null }, counters: { consecutive_failures: 2, backoff: { network: 1 } },
    decision: { kind: 'continue', delayMs: 0, reason: 'restart_delay' }, next: { consecutive_failures: 2, consecutive_auth: 0, backoff: { network: 1 } } },
  // Auth failures.
  { name: 'auth failure below the threshold: back-off from 60 s', round: { transient: 'auth_failure' },
    decision: { kind: 'continue', delayMs: 60_000, reason: 'backoff' }, next: { consecutive_failures: 0, consecutive_auth: 1, backoff: { auth_failure: 1 } } },
  { name: 'auth failure at the threshold: halt', round: { transient: 'auth_failure' }, counters: { consecutive_auth: 1, backoff: { auth_failure: 1 } },
    decision: { kind: 'halt', reason: 'auth_failure', hint: HALTS.auth_failure.hint, event: { kind: 'auth_failure_halt', payload: { consecutive: 2, round_num: 7, hint: HALTS.auth_failure.hint } } },
    next: { consecutive_failures: 0, consecutive_auth: 2, backoff: { auth_failure: 1 } } },
  { name: 'auth halt uses monitor.auth_fail_hint when set', round: { transient: 'auth_failure' }, counters: { consecutive_auth: 1 }, cfg: { auth_fail_hint: 'run claude /login' },
    decision: { kind: 'halt', reason: 'auth_failure', hint: 'run claude /login', event: { kind: 'auth_failure_halt', payload: { hint: 'run claude /login' } } },
    next: { consecutive_failures: 0, consecutive_auth: 2, backoff: {} } },
  // Usage limits and network errors: waits, never crashes.
  { name: 'usage limit with a reset time: wait until reset + buffer + jitter', round: { transient: 'usage_limit', resetAtEpoch: NOW / 1000 + 600 }, counters: { consecutive_failures: 2, consecutive_auth: 1 },
    decision: { kind: 'continue', delayMs: (600 + 60 + 15) * 1000, reason: 'usage_limit' }, next: ZERO },
  { name: 'usage limit with a reset in the past: buffer + jitter only', round: { transient: 'usage_limit', resetAtEpoch: NOW / 1000 - 600 },
    decision: { kind: 'continue', delayMs: 75_000, reason: 'usage_limit' }, next: ZERO },
  { name: 'usage limit with a far reset: clamped to usage_limit_max_wait_s, and says so', round: { transient: 'usage_limit', resetAtEpoch: NOW / 1000 + 86_400 },
    decision: { kind: 'continue', delayMs: 3_600_000, reason: 'usage_limit', capped: { requestedS: 86_400 + 75, appliedS: 3600 } }, next: ZERO },
  { name: 'usage limit without a reset time: back-off from 300 s', round: { transient: 'usage_limit' },
    decision: { kind: 'continue', delayMs: 300_000, reason: 'backoff' }, next: { ...ZERO, backoff: { usage_limit: 1 } } },
  { name: 'usage limit back-off doubles, then is capped by backoff_max_s', round: { transient: 'usage_limit' }, counters: { backoff: { usage_limit: 1 } },
    decision: { kind: 'continue', delayMs: 600_000, reason: 'backoff' }, next: { ...ZERO, backoff: { usage_limit: 2 } } },
  { name: 'usage limit back-off past backoff_max_s says it was capped', round: { transient: 'usage_limit' }, counters: { backoff: { usage_limit: 2 } },
    decision: { kind: 'continue', delayMs: 600_000, reason: 'backoff', capped: { requestedS: 1200, appliedS: 600 } }, next: { ...ZERO, backoff: { usage_limit: 3 } } },
  { name: 'network error: back-off from 60 s, reason network', round: { transient: 'network' }, counters: { consecutive_failures: 2 },
    decision: { kind: 'continue', delayMs: 60_000, reason: 'network' }, next: { ...ZERO, backoff: { network: 1 } } },
  { name: 'network back-off growth stops at 2^5', round: { transient: 'network' }, counters: { backoff: { network: 9 } }, cfg: { backoff_max_s: 100_000 },
    decision: { kind: 'continue', delayMs: 60 * 32 * 1000, reason: 'network' }, next: { ...ZERO, backoff: { network: 10 } } },
  { name: 'skip: a usage limit only waits restart_delay_s', round: { transient: 'usage_limit', resetAtEpoch: NOW / 1000 + 600 }, cfg: { transient_error_action: 'skip' },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: ZERO },
  { name: 'skip: a network error only waits restart_delay_s', round: { transient: 'network' }, cfg: { transient_error_action: 'skip' },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: ZERO },
  { name: 'stop: a network error halts as transient_stop, not as done', round: { transient: 'network' }, cfg: { transient_error_action: 'stop' },
    decision: { kind: 'halt', reason: 'transient_stop', hint: 'check the network and the agent\'s API status',
      event: { kind: 'transient_error_halt', payload: { round_num: 7, classification: 'network', agent: 'claude', reset_at_epoch: null } } },
    next: ZERO },
  { name: 'stop: a usage limit halts as transient_stop, naming the reset time', round: { transient: 'usage_limit', resetAtEpoch: NOW / 1000 + 600 }, cfg: { transient_error_action: 'stop' },
    decision: { kind: 'halt', reason: 'transient_stop', hint: 'wait until the usage limit resets at 2026-12-01T12:10:00.000Z',
      event: { kind: 'transient_error_halt', payload: { classification: 'usage_limit', reset_at_epoch: NOW / 1000 + 600 } } },
    next: ZERO },
  { name: 'stop: a usage limit without a reset time', round: { transient: 'usage_limit' }, cfg: { transient_error_action: 'stop' },
    decision: { kind: 'halt', reason: 'transient_stop', hint: 'wait until the usage limit resets' }, next: ZERO },
  // Unexplained failures: the crash-loop breaker.
  { name: 'a fast error: back-off max(restart_delay_s,1) × 2^n', round: { outcome: 'error', durationS: 5 }, counters: { consecutive_auth: 1, backoff: { network: 2 } },
    decision: { kind: 'continue', delayMs: 3 * 2 * 1000, reason: 'backoff' }, next: { consecutive_failures: 1, consecutive_auth: 0, backoff: {} } },
  { name: 'a fast error with restart_delay_s = 0 backs off from 1 s', round: { outcome: 'error', durationS: 5 }, counters: { consecutive_failures: 1 }, cfg: { restart_delay_s: 0 },
    decision: { kind: 'continue', delayMs: 4000, reason: 'backoff' }, next: { ...ZERO, consecutive_failures: 2 } },
  { name: 'the crash back-off is capped by backoff_max_s', round: { outcome: 'signal', durationS: 1 }, counters: { consecutive_failures: 1 }, cfg: { crash_loop_threshold: 100, backoff_max_s: 10 },
    decision: { kind: 'continue', delayMs: 10_000, reason: 'backoff' }, next: { ...ZERO, consecutive_failures: 2 } },
  { name: 'the threshold-th fast failure halts as crash_loop', round: { outcome: 'oom', durationS: 2, exitCode: null }, counters: { consecutive_failures: 2 },
    decision: { kind: 'halt', reason: 'crash_loop', hint: 'see the last round log (/logs/rounds/R7.log)',
      event: { kind: 'crash_loop', payload: { consecutive: 3, exit_code: null, outcome: 'oom' } } },
    next: { ...ZERO, consecutive_failures: 3 } },
  { name: 'a slow failure did real work: restart delay, breaker reset', round: { outcome: 'error', durationS: 61 }, counters: { consecutive_failures: 2 },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: ZERO },
  { name: 'a fast timeout is not a crash', round: { outcome: 'timeout', durationS: 1, exitCode: null }, counters: { consecutive_failures: 2 },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: ZERO },
  { name: 'auth contention (a shared login refreshed elsewhere): back off, not an auth failure', round: { transient: 'auth_contention' }, counters: { consecutive_failures: 2, consecutive_auth: 0 },
    decision: { kind: 'continue', delayMs: 120_000, reason: 'backoff' }, next: { consecutive_failures: 0, consecutive_auth: 0, consecutive_contention: 1, backoff: { auth_contention: 1 } } },
  { name: 'auth contention backs off exponentially', round: { transient: 'auth_contention' }, counters: { consecutive_contention: 1, backoff: { auth_contention: 1 } },
    decision: { kind: 'continue', delayMs: 240_000, reason: 'backoff' }, next: { consecutive_failures: 0, consecutive_auth: 0, consecutive_contention: 2, backoff: { auth_contention: 2 } } },
  { name: 'auth contention halts only after auth_contention_halt_after in a row', round: { transient: 'auth_contention' }, counters: { consecutive_contention: 2 },
    decision: { kind: 'halt', reason: 'auth_failure', event: { kind: 'auth_failure_halt', payload: { consecutive: 3, round_num: 7 } } },
    next: { consecutive_failures: 0, consecutive_auth: 0, consecutive_contention: 3, backoff: {} } },
  { name: 'a clean round that changed nothing (no_op) counts toward max_idle_rounds', round: { outcome: 'clean', verdict: 'no_op', exitCode: 0 }, counters: { consecutive_idle: 1 }, cfg: { max_idle_rounds: 3 },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: { ...ZERO, consecutive_idle: 2 } },
  { name: 'the max_idle_rounds-th no_op round halts as idle', round: { outcome: 'clean', verdict: 'no_op', exitCode: 0 }, counters: { consecutive_idle: 2 }, cfg: { max_idle_rounds: 3 },
    decision: { kind: 'halt', reason: 'idle', event: { kind: 'no_progress_halt', payload: { consecutive: 3, max_idle_rounds: 3, round_num: 7 } } }, next: { ...ZERO, consecutive_idle: 3 } },
  { name: 'without max_idle_rounds, no_op rounds only count', round: { outcome: 'clean', verdict: 'no_op', exitCode: 0 }, counters: { consecutive_idle: 50 },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: { ...ZERO, consecutive_idle: 51 } },
  { name: 'a productive round ends the idle run', round: { outcome: 'clean', verdict: 'productive', exitCode: 0 }, counters: { consecutive_idle: 2 }, cfg: { max_idle_rounds: 3 },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: ZERO },
  { name: 'a failed round ends the idle run too', round: { outcome: 'error', durationS: 61 }, counters: { consecutive_idle: 2 }, cfg: { max_idle_rounds: 3 },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: ZERO },
  { name: 'quota pacing: a clean round reporting allowed_warning waits for the window\'s reset (+ buffer)', round: { outcome: 'clean', exitCode: 0, quota: { status: 'allowed_warning', reset_at_epoch: NOW / 1000 + 600 } },
    cfg: { quota: { pause_above: 0.9, pause_on_warning: true } },
    decision: { kind: 'continue', delayMs: 660_000, reason: 'quota', quota: { trigger: 'allowed_warning', resetAtEpoch: NOW / 1000 + 600 } }, next: ZERO },
  { name: 'quota pacing: a utilization at quota.pause_above pauses too, capped by usage_limit_max_wait_s', round: { outcome: 'clean', exitCode: 0, quota: { status: 'allowed', utilization: 0.95, reset_at_epoch: NOW / 1000 + 7200 } },
    cfg: { quota: { pause_above: 0.9, pause_on_warning: true } },
    decision: { kind: 'continue', delayMs: 3_600_000, reason: 'quota', quota: { trigger: 'utilization' }, capped: { appliedS: 3600 } }, next: ZERO },
  { name: 'quota pacing: below pause_above, allowed_warning with pause_on_warning off, a past reset or no [quota]: no pause', round: { outcome: 'clean', exitCode: 0, quota: { status: 'allowed_warning', utilization: 0.5, reset_at_epoch: NOW / 1000 + 600 } },
    cfg: { quota: { pause_above: 0.9, pause_on_warning: false } },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: ZERO },
  { name: 'quota pacing: a reset already past does not pause', round: { outcome: 'clean', exitCode: 0, quota: { status: 'allowed_warning', reset_at_epoch: NOW / 1000 - 5 } },
    cfg: { quota: { pause_above: 0.9, pause_on_warning: true } },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: ZERO },
  { name: 'any other round ends a contention run', round: { outcome: 'error', durationS: 61 }, counters: { consecutive_contention: 2 },
    decision: { kind: 'continue', delayMs: 3000, reason: 'restart_delay' }, next: ZERO },
];

describe('decideNext', () => {
  it.each(ROWS)('$name', (row) => {
    const counters: LoopCounters = { ...ZERO, ...row.counters };
    const before = structuredClone(counters);
    const { decision, counters: next } = decideNext(round(row.round), counters, { ...CFG, ...row.cfg }, NOW, HALF);
    expect(decision).toMatchObject(row.decision);
    expect(next).toEqual({ consecutive_contention: 0, consecutive_idle: 0, ...row.next });
    expect(counters).toEqual(before); // pure: the caller's counters are not touched
    if (decision.kind === 'continue' && !('capped' in row.decision)) expect(decision.capped).toBeUndefined();
  });

  it('jitter stays within ±10 % of the formula', () => {
    const at = (x: number) => decideNext(round({ transient: 'network' }), ZERO, CFG, NOW, () => x).decision;
    expect(at(0)).toMatchObject({ delayMs: 54_000 });
    expect(at(1)).toMatchObject({ delayMs: 66_000 });
  });
});

const LOOP: PreRoundFacts['loop'] = { rounds: 4, cost_usd: 1.5, budget_started_at: new Date(NOW - 100_000).toISOString() };
const sentinel = { content: 'all done\n', archivedTo: '/logs/archive/agent-done-X' };
const stopFile = { path: '/p/STOP', content: 'pause' };
const BEFORE_ROWS: { name: string; facts: Omit<PreRoundFacts, 'loop'>; rt: BudgetConfig; halt: Partial<HaltDecision> | undefined }[] = [
  { name: 'nothing to stop for', facts: {}, rt: { max_rounds: 5, max_wall_s: 101, max_cost_usd: 2 }, halt: undefined },
  { name: 'the done sentinel', facts: { sentinel }, rt: {},
    halt: { reason: 'done', message: 'the agent reported it is done: all done', hint: 'its note is archived at /logs/archive/agent-done-X', event: { kind: 'agent_self_terminated', payload: { reason: 'all done\n', archived_to: sentinel.archivedTo } } } },
  { name: 'an empty sentinel', facts: { sentinel: { content: '', archivedTo: 'A' } }, rt: {}, halt: { reason: 'done', message: 'the agent reported it is done: (empty sentinel)' } },
  { name: 'the sentinel wins over the stop file and budgets', facts: { sentinel, stopFile }, rt: { max_rounds: 1 }, halt: { reason: 'done' } },
  { name: 'the stop file', facts: { stopFile }, rt: { max_rounds: 1 },
    halt: { reason: 'stop_file', hint: 'remove /p/STOP', event: { kind: 'stop_file_detected', payload: { stop_file: '/p/STOP', content: 'pause', rounds_completed: 4 } } } },
  { name: 'max_rounds reached', facts: {}, rt: { max_rounds: 4 },
    halt: { reason: 'budget', event: { kind: 'max_rounds_reached', payload: { rounds_completed: 4, max_rounds: 4, source: 'config' } } } },
  { name: 'max_rounds not yet reached', facts: {}, rt: { max_rounds: 5 }, halt: undefined },
  { name: 'max_wall_s spent', facts: {}, rt: { max_wall_s: 100 },
    halt: { reason: 'budget', event: { kind: 'budget_exhausted', payload: { budget: 'max_wall_s', limit: 100, spent: 100 } } } },
  { name: 'max_cost_usd spent', facts: {}, rt: { max_cost_usd: 1.5 },
    halt: { reason: 'budget', message: 'cost budget max_cost_usd = 1.5 spent ($1.5000)', event: { kind: 'budget_exhausted', payload: { budget: 'max_cost_usd', limit: 1.5, spent: 1.5 } } } },
];

describe('decideBeforeRound', () => {
  it.each(BEFORE_ROWS)('$name', ({ facts, rt, halt }) => {
    const d = decideBeforeRound({ ...facts, loop: LOOP }, rt, NOW);
    if (halt === undefined) expect(d).toBeUndefined();
    else expect(d).toMatchObject({ kind: 'halt', ...halt });
  });
});

const FAILURE_ROWS: { failure: RoundFailure; halt: Partial<HaltDecision> }[] = [
  { failure: { kind: 'disk_check', reason: 'log dir 97% full', hint: 'free space' }, halt: { reason: 'disk', message: 'log dir 97% full', hint: 'free space' } },
  { failure: { kind: 'disk_check' }, halt: { reason: 'disk', message: 'disk critical', hint: 'free disk space' } },
  { failure: { kind: 'config', message: 'a.toml: bad' }, halt: { reason: 'config_broken', message: 'a.toml: bad', event: { kind: 'config_broken', payload: { reason: 'a.toml: bad' } } } },
  {
    // An expired login is found before a round: the auth halt (exit 81) with the way out, not a config error.
    failure: { kind: 'login_expired', reason: 'the claude login in /h/.credentials.json expired at 2026-01-01T00:00:00.000Z', hint: 'log the claude CLI in again on this host' },
    halt: {
      reason: 'auth_failure',
      message: 'the claude login in /h/.credentials.json expired at 2026-01-01T00:00:00.000Z',
      hint: 'log the claude CLI in again on this host, then run `agent-runner resume`',
      event: { kind: 'auth_failure_halt', payload: { consecutive: 0, round_num: null, hint: 'log the claude CLI in again on this host, then run `agent-runner resume`' } },
    },
  },
  { failure: { kind: 'disk_full', message: 'ENOSPC' }, halt: { reason: 'disk', message: 'disk full while writing state: ENOSPC' } },
  { failure: { kind: 'state_write', message: 'a state write failed' }, halt: { reason: 'disk', hint: HALTS.disk.hint } },
];

describe('decideOnRoundFailure', () => {
  it.each(FAILURE_ROWS)('$failure.kind', ({ failure, halt }) => {
    expect(decideOnRoundFailure(failure)).toMatchObject({ kind: 'halt', ...halt });
  });
});

/** Every halt any decider returns for the rows above. */
function everyHalt(): HaltDecision[] {
  const halts: HaltDecision[] = [];
  const keep = (d: Decision | undefined) => d?.kind === 'halt' && halts.push(d);
  for (const row of ROWS) keep(decideNext(round(row.round), { ...ZERO, ...row.counters }, { ...CFG, ...row.cfg }, NOW, HALF).decision);
  for (const row of BEFORE_ROWS) keep(decideBeforeRound({ ...row.facts, loop: LOOP }, row.rt, NOW));
  for (const row of FAILURE_ROWS) keep(decideOnRoundFailure(row.failure));
  return halts;
}

describe('decideNext covers every decision', () => {
  const decisions = ROWS.map((row) => decideNext(round(row.round), { ...ZERO, ...row.counters }, { ...CFG, ...row.cfg }, NOW, HALF).decision);

  it('every way to continue, capped and not', () => {
    // A Record, so a new reason fails the type check until a row decides it.
    const reasons: Record<Continue['reason'], true> = { restart_delay: true, backoff: true, usage_limit: true, network: true, quota: true };
    const cont = decisions.filter((d): d is Continue => d.kind === 'continue');
    expect(new Set(cont.map((d) => d.reason))).toEqual(new Set(Object.keys(reasons)));
    expect(cont.some((d) => d.capped) && cont.some((d) => !d.capped)).toBe(true);
    expect(cont.some((d) => d.delayMs === 0)).toBe(true);
  });

  it('every halt it can decide', () => {
    const halts = decisions.filter((d): d is HaltDecision => d.kind === 'halt');
    expect(new Set(halts.map((d) => d.reason))).toEqual(new Set<HaltReason>(['auth_failure', 'transient_stop', 'crash_loop', 'idle']));
  });

  it('every round outcome, and every transient class under every transient_error_action', () => {
    const outcomes: Outcome[] = ['clean', 'error', 'timeout', 'grace_kill', 'signal', 'oom', 'interrupted'];
    expect(new Set(ROWS.map((r) => r.round.outcome ?? 'error'))).toEqual(new Set(outcomes));
    for (const cls of ['usage_limit', 'network'] as const) {
      for (const action of ['back_off', 'skip', 'stop'] as const) {
        expect(ROWS.some((r) => r.round.transient === cls && (r.cfg?.transient_error_action ?? 'back_off') === action), `${cls} × ${action}`).toBe(true);
      }
    }
    const classes: Record<TransientClass, true> = { auth_failure: true, auth_contention: true, usage_limit: true, network: true };
    for (const cls of Object.keys(classes)) expect(ROWS.some((r) => r.round.transient === cls), cls).toBe(true);
  });
});

describe('the halt table', () => {
  const reasons = Object.keys(HALTS) as HaltReason[];

  it.each(reasons)('%s: a registered serve exit code of its own, never restarted by systemd, a hint and a summary', (reason) => {
    const spec: HaltSpec = HALTS[reason];
    const registered = EXIT_CODES.find((e) => e.code === spec.exitCode);
    expect(registered, `exit ${spec.exitCode}`).toBeDefined();
    expect(registered!.verbs === 'all' || registered!.verbs.includes('serve') || registered!.verbs.includes('all'), registered!.verbs).toBe(true);
    expect(registered!.restart).toMatch(/^(prevent|success)$/);
    expect(reasons.filter((r) => HALTS[r].exitCode === spec.exitCode)).toEqual([reason]);
    expect(spec.hint.length).toBeGreaterThan(0);
    expect(spec.summary.length).toBeGreaterThan(0);
    for (const k of spec.events) expect(Object.hasOwn(EVENT_KINDS, k), k).toBe(true);
  });

  it('names the exit codes it means', () => {
    expect(HALTS.transient_stop.exitCode).toBe(EXIT.HALT_TRANSIENT);
    expect(HALTS.done.exitCode).toBe(EXIT.HALT_DONE);
    expect(HALTS.config_broken.exitCode).toBe(EXIT.CONFIG);
  });

  it('every halt reason is reachable from the deciders', () => {
    expect(new Set(everyHalt().map((h) => h.reason))).toEqual(new Set(reasons));
  });

  it('every halt decided is announced by one of its reason\'s events (disk has none to announce)', () => {
    for (const h of everyHalt()) {
      if (HALTS[h.reason].events.length === 0) expect(h.event).toBeUndefined();
      else expect(HALTS[h.reason].events as readonly string[]).toContain(h.event?.kind);
    }
  });
});
