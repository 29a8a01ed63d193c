/**
 * PURE: what serve does before and after a round, and how each way of stopping for good is
 * recorded. No clocks, no I/O: the caller passes `now`, a random number and the facts it read, so
 * every branch is testable with plain objects.
 */
import type { EventKind } from '../events/kinds.js';
import type { PendingEvent } from '../events/payloads.js';
import { EXIT } from '../exit-codes.js';
import type { RoundVerdict } from '../events/payloads.js';
import type { Outcome } from '../round/classify.js';
import type { TransientClass } from '../round/stream-json.js';

/** Why serve stopped for good (halt.json's `reason`). */
export type HaltReason = 'crash_loop' | 'auth_failure' | 'transient_stop' | 'idle' | 'budget' | 'done' | 'stop_file' | 'config_broken' | 'disk';

export interface HaltSpec {
  /** serve's exit code for this halt. */
  exitCode: number;
  /** The events that announce it (one per halt, just before `halt_recorded`); none for disk. */
  events: readonly EventKind[];
  /** What to do about it, when the decision has nothing more specific. */
  hint: string;
  /** What it means, for docs/service.md. */
  summary: string;
}

/** Every durable halt, in one table: docs/service.md's halt table is generated from it. */
export const HALTS = {
  crash_loop: { exitCode: EXIT.HALT_CRASH_LOOP, events: ['crash_loop'], hint: 'see the last round log', summary: '`crash_loop_threshold` fast failing rounds in a row' },
  auth_failure: { exitCode: EXIT.HALT_AUTH, events: ['auth_failure_halt'], hint: 'log the agent CLI in again on this host', summary: 'the agent failed to authenticate `auth_failure_halt_after` rounds in a row' },
  transient_stop: {
    exitCode: EXIT.HALT_TRANSIENT,
    events: ['transient_error_halt'],
    hint: 'wait until the usage limit resets or the network is back',
    summary: 'a usage limit or network error with `transient_error_action = "stop"`',
  },
  idle: {
    exitCode: EXIT.HALT_IDLE,
    events: ['no_progress_halt'],
    hint: 'read the last round logs: the agent ends without changing anything; sharpen the prompt or give it new work',
    summary: '`max_idle_rounds` rounds in a row ended clean but changed nothing (verdict `no_op`)',
  },
  budget: { exitCode: EXIT.HALT_BUDGET, events: ['max_rounds_reached', 'budget_exhausted'], hint: 'raise the budget', summary: '`max_rounds` (config), `max_wall_s` or `max_cost_usd` is spent' },
  done: { exitCode: EXIT.HALT_DONE, events: ['agent_self_terminated'], hint: 'read the archived note', summary: 'the agent wrote `log_dir/.agent-done` (`done_sentinel`)' },
  stop_file: { exitCode: EXIT.HALT_STOP_FILE, events: ['stop_file_detected'], hint: 'remove the stop file', summary: '`stop_file` exists' },
  config_broken: { exitCode: EXIT.CONFIG, events: ['config_broken'], hint: 'fix the config or the failed check', summary: 'the config or a startup check is broken' },
  disk: { exitCode: EXIT.HALT_DISK, events: [], hint: 'free disk space in the log dir', summary: 'disk critical, or a state write failed (ENOSPC)' },
} as const satisfies Record<HaltReason, HaltSpec>;

/** A decision to stop for good: serve records it in halt.json and exits with HALTS[reason].exitCode. */
export interface HaltDecision {
  kind: 'halt';
  reason: HaltReason;
  message: string;
  hint: string;
  /** The event that announces this halt, one of HALTS[reason].events. */
  event?: PendingEvent;
}

function halt(reason: HaltReason, message: string, hint: string = HALTS[reason].hint, event?: HaltDecision['event']): HaltDecision {
  return { kind: 'halt', reason, message, hint, ...(event ? { event } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Before a round

export interface PreRoundFacts {
  /** The done sentinel the agent wrote (already archived by the caller), if any. */
  sentinel?: { content: string; archivedTo: string } | undefined;
  /** The stop file, if it exists. */
  stopFile?: { path: string; content: string } | undefined;
  /** Durable counters (loop-state.json). */
  loop: { rounds: number; cost_usd: number; budget_started_at: string };
}

export interface BudgetConfig {
  max_rounds?: number | undefined;
  max_wall_s?: number | undefined;
  max_cost_usd?: number | undefined;
}

/** Halts decided before a spawn, in order: the agent's done sentinel, the stop file, budgets. */
export function decideBeforeRound(f: PreRoundFacts, rt: BudgetConfig, nowMs: number): HaltDecision | undefined {
  if (f.sentinel) {
    const { content, archivedTo } = f.sentinel;
    return halt('done', `the agent reported it is done: ${content.trim() || '(empty sentinel)'}`, `its note is archived at ${archivedTo}`, {
      kind: 'agent_self_terminated',
      payload: { reason: content, archived_to: archivedTo },
    });
  }
  if (f.stopFile) {
    const { path, content } = f.stopFile;
    return halt('stop_file', `stop file ${path} exists`, `remove ${path}`, {
      kind: 'stop_file_detected',
      payload: { stop_file: path, content, rounds_completed: f.loop.rounds },
    });
  }
  if (rt.max_rounds !== undefined && f.loop.rounds >= rt.max_rounds) {
    return halt('budget', `max_rounds = ${rt.max_rounds} reached`, 'raise runtime.max_rounds', {
      kind: 'max_rounds_reached',
      payload: { rounds_completed: f.loop.rounds, max_rounds: rt.max_rounds, source: 'config' },
    });
  }
  if (rt.max_wall_s !== undefined) {
    const spent = (nowMs - Date.parse(f.loop.budget_started_at)) / 1000;
    if (spent >= rt.max_wall_s) {
      return halt('budget', `wall-clock budget max_wall_s = ${rt.max_wall_s} spent`, 'raise runtime.max_wall_s', {
        kind: 'budget_exhausted',
        payload: { budget: 'max_wall_s', limit: rt.max_wall_s, spent: Math.round(spent) },
      });
    }
  }
  if (rt.max_cost_usd !== undefined && f.loop.cost_usd >= rt.max_cost_usd) {
    return halt('budget', `cost budget max_cost_usd = ${rt.max_cost_usd} spent ($${f.loop.cost_usd.toFixed(4)})`, 'raise runtime.max_cost_usd', {
      kind: 'budget_exhausted',
      payload: { budget: 'max_cost_usd', limit: rt.max_cost_usd, spent: Math.round(f.loop.cost_usd * 10000) / 10000 },
    });
  }
  return undefined;
}

/** Why a round could not run or be recorded: serve reads these off the error or the result. */
export type RoundFailure =
  | { kind: 'disk_check'; reason?: string | undefined; hint?: string | undefined }
  | { kind: 'config'; message: string }
  | { kind: 'login_expired'; reason: string; hint: string }
  | { kind: 'disk_full'; message: string }
  | { kind: 'state_write'; message: string };

/** The errno codes that mean the disk (or the user's quota) is full: a halt, never a crash. */
export function isDiskFull(code: string | undefined): boolean {
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** A round that cannot run (or whose state cannot be written) halts: retrying cannot help. */
export function decideOnRoundFailure(f: RoundFailure): HaltDecision {
  switch (f.kind) {
    case 'disk_check':
      return halt('disk', f.reason ?? 'disk critical', f.hint ?? 'free disk space');
    case 'config':
      return halt('config_broken', f.message, HALTS.config_broken.hint, { kind: 'config_broken', payload: { reason: f.message } });
    case 'login_expired': {
      // Found before a round was spent: the same halt as a failed authentication, with its fix.
      const hint = `${f.hint}, then run \`agent-runner resume\``;
      return halt('auth_failure', f.reason, hint, { kind: 'auth_failure_halt', payload: { consecutive: 0, round_num: null, hint } });
    }
    case 'disk_full':
      return halt('disk', `disk full while writing state: ${f.message}`, 'free disk space');
    case 'state_write':
      return halt('disk', f.message, HALTS.disk.hint);
  }
}

// ---------------------------------------------------------------------------------------------
// After a round

export interface RoundSummary {
  roundNum: number;
  outcome: Outcome;
  /** The newest rate-limit report of a round (claude rate_limit_event), for pacing. */
  quota?: { status: string; reset_at_epoch?: number | undefined; window?: string | undefined; utilization?: number | undefined } | undefined;
  /** What the round achieved (absent: not judged, e.g. an older caller). */
  verdict?: RoundVerdict | undefined;
  transient?: TransientClass | undefined;
  resetAtEpoch?: number | undefined;
  durationS: number;
  exitCode: number | null;
  /** The round log, named in the crash-loop hint. */
  logPath: string;
  /** The agent's name, for the transient-stop event. */
  agent: string;
}

export interface LoopCounters {
  /** Consecutive fast failing rounds (the crash-loop breaker's count). */
  consecutive_failures: number;
  consecutive_auth: number;
  /** Consecutive rounds that lost a shared login's refresh to another process (auth_contention). */
  consecutive_contention: number;
  /** Consecutive rounds that ended clean and changed nothing (verdict no_op). */
  consecutive_idle: number;
  /** Consecutive back-offs per transient class, for exponential growth. */
  backoff: Partial<Record<TransientClass, number>>;
}

export interface PolicyConfig {
  restart_delay_s: number;
  crash_loop_threshold: number;
  crash_loop_fast_s: number;
  auth_failure_halt_after: number;
  auth_contention_halt_after: number;
  /** quota.pause_above and quota.pause_on_warning (absent: no pacing). */
  quota?: { pause_above: number; pause_on_warning: boolean } | undefined;
  /** Halt after this many no_op rounds in a row; undefined: never. */
  max_idle_rounds?: number | undefined;
  backoff_max_s: number;
  transient_error_action: 'back_off' | 'skip' | 'stop';
  usage_limit_buffer_s: number;
  usage_limit_jitter_s: number;
  usage_limit_max_wait_s: number;
  /** monitor.auth_fail_hint: the auth halt's hint when set. */
  auth_fail_hint?: string | undefined;
}

export interface Continue {
  kind: 'continue';
  delayMs: number;
  reason: 'restart_delay' | 'backoff' | 'usage_limit' | 'network' | 'quota';
  /** With reason quota: what triggered the pause. */
  quota?: { trigger: 'allowed_warning' | 'utilization'; resetAtEpoch: number };
  capped?: { requestedS: number; appliedS: number };
}

export type Decision = Continue | HaltDecision;

/** Waits for classes the agent gave no reset time for (upstream's estimates). */
const BASE_WAIT_S: Record<TransientClass, number> = { usage_limit: 300, network: 60, auth_failure: 60, auth_contention: 120 };

export function decideNext(
  r: RoundSummary,
  c: LoopCounters,
  cfg: PolicyConfig,
  nowMs: number,
  random: () => number,
): { decision: Decision; counters: LoopCounters } {
  const next: LoopCounters = { ...c, backoff: { ...c.backoff } };
  const restart = cfg.restart_delay_s * 1000;

  // Success — including "finished its work but hung" — resets every counter but the idle run,
  // which only work ends.
  if (r.outcome === 'clean' || r.outcome === 'grace_kill') {
    const idle = r.verdict === 'no_op' ? c.consecutive_idle + 1 : 0;
    const counters: LoopCounters = { consecutive_failures: 0, consecutive_auth: 0, consecutive_contention: 0, consecutive_idle: idle, backoff: {} };
    if (cfg.max_idle_rounds !== undefined && idle >= cfg.max_idle_rounds) {
      const decision = halt('idle', `${idle} round(s) in a row ended clean but changed nothing`, HALTS.idle.hint, {
        kind: 'no_progress_halt',
        payload: { consecutive: idle, max_idle_rounds: cfg.max_idle_rounds, round_num: r.roundNum },
      });
      return { decision, counters };
    }
    return { decision: quotaPause(r, cfg, nowMs) ?? { kind: 'continue', delayMs: restart, reason: 'restart_delay' }, counters };
  }
  // A round that failed is no evidence of idleness either way; only work or a halt ends the run.
  next.consecutive_idle = r.outcome === 'interrupted' ? c.consecutive_idle : 0;
  if (r.outcome === 'interrupted') return { decision: { kind: 'continue', delayMs: 0, reason: 'restart_delay' }, counters: next };

  if (r.transient === 'auth_failure') {
    next.consecutive_auth = c.consecutive_auth + 1;
    if (next.consecutive_auth >= cfg.auth_failure_halt_after) {
      const hint = cfg.auth_fail_hint || HALTS.auth_failure.hint;
      const decision = halt('auth_failure', `${next.consecutive_auth} round(s) in a row failed to authenticate`, hint, {
        kind: 'auth_failure_halt',
        payload: { consecutive: next.consecutive_auth, round_num: r.roundNum, hint },
      });
      return { decision, counters: next };
    }
    return { decision: backoff('auth_failure', next, cfg, random), counters: next };
  }
  next.consecutive_auth = 0;

  if (r.transient === 'auth_contention') {
    // Several supervisors (or a human) share one login and another refreshed it first
    // (openai/codex#9634): the login is fine, so wait and retry; only a run of them halts.
    next.consecutive_failures = 0;
    next.consecutive_contention = c.consecutive_contention + 1;
    if (next.consecutive_contention >= cfg.auth_contention_halt_after) {
      const hint = cfg.auth_fail_hint || HALTS.auth_failure.hint;
      const decision = halt('auth_failure', `${next.consecutive_contention} round(s) in a row lost the shared login's token refresh to another process`, hint, {
        kind: 'auth_failure_halt',
        payload: { consecutive: next.consecutive_contention, round_num: r.roundNum, hint },
      });
      return { decision, counters: next };
    }
    return { decision: backoff('auth_contention', next, cfg, random), counters: next };
  }
  next.consecutive_contention = 0;

  if (r.transient === 'usage_limit' || r.transient === 'network') {
    // The agent was refused or could not reach its API: a wait, not a crash.
    next.consecutive_failures = 0;
    if (cfg.transient_error_action === 'stop') return { decision: transientStop(r, r.transient), counters: next };
    if (cfg.transient_error_action === 'skip') return { decision: { kind: 'continue', delayMs: restart, reason: 'restart_delay' }, counters: next };
    if (r.transient === 'usage_limit' && r.resetAtEpoch) {
      const requestedS = Math.max(0, r.resetAtEpoch - nowMs / 1000) + cfg.usage_limit_buffer_s + random() * cfg.usage_limit_jitter_s;
      const appliedS = Math.min(requestedS, cfg.usage_limit_max_wait_s);
      return {
        decision: { kind: 'continue', delayMs: Math.round(appliedS * 1000), reason: 'usage_limit', ...(appliedS < requestedS ? { capped: { requestedS, appliedS } } : {}) },
        counters: next,
      };
    }
    return { decision: backoff(r.transient, next, cfg, random), counters: next };
  }

  // An unexplained failure. Fast ones count toward the crash-loop breaker; a round that ran a
  // while (or hit its timeout) did real work and resets it.
  next.backoff = {};
  const fast = r.durationS < cfg.crash_loop_fast_s && r.outcome !== 'timeout';
  next.consecutive_failures = fast ? c.consecutive_failures + 1 : 0;
  if (next.consecutive_failures >= cfg.crash_loop_threshold) {
    const detail = `${next.consecutive_failures} consecutive rounds failed within ${cfg.crash_loop_fast_s}s (last: ${r.outcome}, exit ${r.exitCode})`;
    const decision = halt('crash_loop', detail, `see the last round log (${r.logPath})`, {
      kind: 'crash_loop',
      payload: { consecutive: next.consecutive_failures, exit_code: r.exitCode, outcome: r.outcome, reason: detail },
    });
    return { decision, counters: next };
  }
  if (!fast) return { decision: { kind: 'continue', delayMs: restart, reason: 'restart_delay' }, counters: next };
  const base = Math.max(cfg.restart_delay_s, 1);
  const s = Math.min(base * 2 ** next.consecutive_failures, cfg.backoff_max_s);
  return { decision: { kind: 'continue', delayMs: Math.round(jitter(s, random) * 1000), reason: 'backoff' }, counters: next };
}

/**
 * Pacing: a round that succeeded but reports its window nearly spent waits for the window's reset,
 * so the next round does not run into the wall mid-task (and a human keeps some quota).
 */
function quotaPause(r: RoundSummary, cfg: PolicyConfig, nowMs: number): Continue | undefined {
  const q = r.quota;
  if (!cfg.quota || !q?.reset_at_epoch || q.reset_at_epoch * 1000 <= nowMs) return undefined;
  const trigger =
    cfg.quota.pause_on_warning && q.status === 'allowed_warning'
      ? 'allowed_warning'
      : q.utilization !== undefined && cfg.quota.pause_above < 1 && q.utilization >= cfg.quota.pause_above
        ? 'utilization'
        : undefined;
  if (!trigger) return undefined;
  const requestedS = q.reset_at_epoch - nowMs / 1000 + cfg.usage_limit_buffer_s;
  const appliedS = Math.min(requestedS, cfg.usage_limit_max_wait_s);
  return {
    kind: 'continue',
    delayMs: Math.round(appliedS * 1000),
    reason: 'quota',
    quota: { trigger, resetAtEpoch: q.reset_at_epoch },
    ...(appliedS < requestedS ? { capped: { requestedS, appliedS } } : {}),
  };
}

/** transient_error_action = "stop": its own halt, never mistaken for the agent being done. */
function transientStop(r: RoundSummary, cls: 'usage_limit' | 'network'): HaltDecision {
  const resetAt = cls === 'usage_limit' && r.resetAtEpoch ? new Date(r.resetAtEpoch * 1000).toISOString() : undefined;
  const hint =
    cls === 'network' ? 'check the network and the agent\'s API status' : resetAt ? `wait until the usage limit resets at ${resetAt}` : 'wait until the usage limit resets';
  return halt('transient_stop', `round ${r.roundNum} failed on a ${cls === 'network' ? 'network error' : 'usage limit'} and transient_error_action = "stop"`, hint, {
    kind: 'transient_error_halt',
    payload: { round_num: r.roundNum, classification: cls, agent: r.agent, reset_at_epoch: r.resetAtEpoch ?? null },
  });
}

function backoff(cls: TransientClass, next: LoopCounters, cfg: PolicyConfig, random: () => number): Continue {
  const n = next.backoff[cls] ?? 0;
  next.backoff[cls] = n + 1;
  const requestedS = BASE_WAIT_S[cls] * 2 ** Math.min(n, 5);
  const appliedS = Math.min(requestedS, cfg.backoff_max_s);
  return {
    kind: 'continue',
    delayMs: Math.round(jitter(appliedS, random) * 1000),
    reason: cls === 'network' ? 'network' : 'backoff',
    ...(appliedS < requestedS ? { capped: { requestedS, appliedS } } : {}),
  };
}

/** ±10 %, so a fleet of supervisors does not retry in lockstep. */
function jitter(s: number, random: () => number): number {
  return s * (0.9 + 0.2 * random());
}
