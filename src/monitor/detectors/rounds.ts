import type { Condition, Snapshot, Thresholds } from '../types.js';
import { needed, pct } from './window.js';

/** A round still open well past the point where its own timeout should have ended it. */
export function hung(s: Snapshot, t: Thresholds): Condition[] {
  const r = s.live;
  if (!r) return [];
  const elapsed = Math.round((s.now - r.started_ms) / 1000);
  const threshold = Math.round(r.timeout_s * t.hung_factor + t.kill_grace_s);
  if (elapsed <= threshold) return [];
  const why =
    r.supervisor === 'stopped'
      ? `its supervisor (pid ${r.supervisor_pid}) is stopped, so nothing enforces the timeout`
      : r.supervisor === 'dead'
        ? `its supervisor (pid ${r.supervisor_pid}) is dead; the next round will recover it`
        : r.supervisor === 'alive'
          ? `its supervisor (pid ${r.supervisor_pid}) is alive but has not ended it`
          : 'no supervisor is recorded for it';
  return [
    {
      detector: 'hung',
      subject: `R${r.round_num}`,
      severity: 'warning',
      message: `round ${r.round_num} has run ${elapsed}s, past ${threshold}s (${t.hung_factor} × its ${r.timeout_s}s timeout + ${t.kill_grace_s}s grace): ${why}`,
      context: {
        round_num: r.round_num,
        phase: r.phase,
        elapsed_s: elapsed,
        threshold_s: threshold,
        supervisor: r.supervisor,
        supervisor_pid: r.supervisor_pid,
        agent_pid: r.agent_pid,
        agent_alive: r.agent_alive,
        hint: 'agent-runner kill stops the whole tree; then agent-runner start',
      },
      evidence_ms: r.started_ms,
    },
  ];
}

/** Consecutive rounds that each left uncommitted work behind (preserved under refs/agent-runner/orphans/). */
export function orphanChain(s: Snapshot, t: Thresholds): Condition[] {
  const o = s.digest.orphan;
  if (o.streak < t.orphan_chain_threshold) return [];
  return [
    {
      detector: 'orphan_chain',
      subject: '',
      severity: 'warning',
      message: `${o.streak} rounds in a row ended with uncommitted work (last: round ${o.last_round}); each was preserved under refs/agent-runner/orphans/`,
      context: { streak: o.streak, threshold: t.orphan_chain_threshold, last_round: o.last_round, hint: 'the agent is not committing: check its prompt, or `git log refs/agent-runner/orphans/` for the work' },
      evidence_ms: s.digest.exits.at(-1)?.ts ?? s.now,
    },
  ];
}

/**
 * Startup checks that refused to start a round. smoke_check_failed carries no round number (the
 * round never got one), so the rate is over start attempts: the last `window` of round_start and
 * smoke_check_failed together.
 */
export function smokeFailRate(s: Snapshot, t: Thresholds): Condition[] {
  const attempts = s.digest.attempts.slice(-t.window);
  const failed = attempts.filter((a) => !a.ok);
  if (failed.length === 0 || failed.length < needed(t.window, t.smoke_fail_rate)) return [];
  const last = failed.at(-1)!;
  return [
    {
      detector: 'smoke_fail_rate',
      subject: '',
      severity: 'warning',
      message: `${failed.length}/${attempts.length} recent start attempts failed their startup checks (threshold ${pct(t.smoke_fail_rate)}; last: ${last.check ?? 'unknown check'})`,
      context: { failures: failed.length, attempts: attempts.length, window: t.window, threshold: t.smoke_fail_rate, last_check: last.check ?? null, hint: '`agent-runner round` prints the failed check with how to fix it' },
      evidence_ms: last.ts,
    },
  ];
}

/** Rounds back from the newest that a reported stuck tool loop stays relevant (upstream's 5). */
export const REPETITIVE_ROUNDS = 5;

/**
 * A round reported a stuck tool loop (anomaly_repetitive_tool, written as soon as it is seen; only
 * when monitor.anomaly_repetitive_window and _threshold are both set). Stays up while one of the
 * newest five rounds reported one.
 */
export function anomalyRepetitiveActive(s: Snapshot, _t: Thresholds): Condition[] {
  const newest = s.digest.newest_round;
  if (newest === null) return [];
  const recent = s.digest.repetitive.filter((r) => r.round_num > newest - REPETITIVE_ROUNDS);
  const latest = recent.at(-1);
  if (!latest) return [];
  return [
    {
      detector: 'anomaly_repetitive_active',
      subject: '',
      severity: 'warning',
      message: `round ${latest.round_num} called ${latest.tool_name} on ${latest.target ? JSON.stringify(latest.target) : 'the same input'} ${latest.count} times in a row of its tool calls (${recent.length} such loop${recent.length === 1 ? '' : 's'} in the last ${REPETITIVE_ROUNDS} rounds)`,
      context: {
        count: latest.count,
        window_rounds: REPETITIVE_ROUNDS,
        latest_tool: latest.tool_name,
        latest_target: latest.target,
        latest_round: latest.round_num,
        events: recent.length,
        hint: 'read the round log (`agent-runner peek --round N --log`): the agent is retrying one step; clarify the prompt or fix what it keeps failing on',
      },
      evidence_ms: latest.ts,
    },
  ];
}
