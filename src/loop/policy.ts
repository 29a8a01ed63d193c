/**
 * PURE: what serve does after a round. No clocks, no I/O: the caller passes `now` and a random
 * number, so every branch is testable with plain objects.
 */
import type { Outcome } from '../round/classify.js';
import type { TransientClass } from '../round/stream-json.js';

export interface RoundSummary {
  outcome: Outcome;
  transient?: TransientClass | undefined;
  resetAtEpoch?: number | undefined;
  durationS: number;
  exitCode: number | null;
}

export interface LoopCounters {
  /** Consecutive fast failing rounds (the crash-loop breaker's count). */
  consecutive_failures: number;
  consecutive_auth: number;
  /** Consecutive back-offs per transient class, for exponential growth. */
  backoff: Partial<Record<TransientClass, number>>;
}

export interface PolicyConfig {
  restart_delay_s: number;
  crash_loop_threshold: number;
  crash_loop_fast_s: number;
  auth_failure_halt_after: number;
  backoff_max_s: number;
  transient_error_action: 'back_off' | 'skip' | 'stop';
  usage_limit_buffer_s: number;
  usage_limit_jitter_s: number;
  usage_limit_max_wait_s: number;
}

export type Decision =
  | { kind: 'continue'; delayMs: number; reason: 'restart_delay' | 'backoff' | 'usage_limit' | 'network'; capped?: { requestedS: number; appliedS: number } }
  | { kind: 'halt'; reason: 'crash_loop' | 'auth_failure' | 'usage_limit_stop'; detail: string };

/** Waits for classes the agent gave no reset time for (upstream's estimates). */
const BASE_WAIT_S: Record<TransientClass, number> = { usage_limit: 300, network: 60, auth_failure: 60 };

export function decideNext(
  r: RoundSummary,
  c: LoopCounters,
  cfg: PolicyConfig,
  nowMs: number,
  random: () => number,
): { decision: Decision; counters: LoopCounters } {
  const next: LoopCounters = { ...c, backoff: { ...c.backoff } };
  const restart = cfg.restart_delay_s * 1000;

  // Success — including "finished its work but hung" — resets every counter.
  if (r.outcome === 'clean' || r.outcome === 'grace_kill') {
    return { decision: { kind: 'continue', delayMs: restart, reason: 'restart_delay' }, counters: { consecutive_failures: 0, consecutive_auth: 0, backoff: {} } };
  }
  if (r.outcome === 'interrupted') return { decision: { kind: 'continue', delayMs: 0, reason: 'restart_delay' }, counters: next };

  if (r.transient === 'auth_failure') {
    next.consecutive_auth = c.consecutive_auth + 1;
    if (next.consecutive_auth >= cfg.auth_failure_halt_after) {
      return { decision: { kind: 'halt', reason: 'auth_failure', detail: `${next.consecutive_auth} round(s) in a row failed to authenticate` }, counters: next };
    }
    return { decision: backoff('auth_failure', next, cfg, random), counters: next };
  }
  next.consecutive_auth = 0;

  if (r.transient === 'usage_limit' || r.transient === 'network') {
    // The agent was refused or could not reach its API: a wait, not a crash.
    next.consecutive_failures = 0;
    if (cfg.transient_error_action === 'stop') return { decision: { kind: 'halt', reason: 'usage_limit_stop', detail: `transient error (${r.transient}) with transient_error_action = "stop"` }, counters: next };
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
    return {
      decision: { kind: 'halt', reason: 'crash_loop', detail: `${next.consecutive_failures} consecutive rounds failed within ${cfg.crash_loop_fast_s}s (last: ${r.outcome}, exit ${r.exitCode})` },
      counters: next,
    };
  }
  if (!fast) return { decision: { kind: 'continue', delayMs: restart, reason: 'restart_delay' }, counters: next };
  const base = Math.max(cfg.restart_delay_s, 1);
  const s = Math.min(base * 2 ** next.consecutive_failures, cfg.backoff_max_s);
  return { decision: { kind: 'continue', delayMs: Math.round(jitter(s, random) * 1000), reason: 'backoff' }, counters: next };
}

function backoff(cls: TransientClass, next: LoopCounters, cfg: PolicyConfig, random: () => number): Decision {
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
