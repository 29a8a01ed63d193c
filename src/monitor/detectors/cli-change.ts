import type { DetectorName } from '../detector-names.js';
import type { Condition, Snapshot, Thresholds } from '../types.js';

/** Detectors that report what the rounds did: a changed agent CLI may explain them. */
const ROUND_FAILURES: ReadonlySet<DetectorName> = new Set(['timeout_rate', 'hung', 'orphan_chain', 'smoke_fail_rate', 'oauth_fail', 'network_fail', 'anomaly_repetitive_active', 'no_progress']);

/**
 * A new failure right after the agent CLI changed version is most often the change (a new output
 * format, a new flag, a logout): say so beside the alert. The change counts while it is among the
 * newest `window` rounds, the span the rate detectors judge.
 */
export function annotateCliChange(conditions: Condition[], s: Snapshot, t: Thresholds): Condition[] {
  const change = s.digest.cli_changes.at(-1);
  const newest = s.digest.newest_round;
  if (!change || newest === null || newest - change.round_num >= t.window) return conditions;
  const note = `agent CLI changed from ${change.from} to ${change.to} at round ${change.round_num}, before this failure`;
  return conditions.map((c) =>
    ROUND_FAILURES.has(c.detector) ? { ...c, message: `${c.message} (${note})`, context: { ...c.context, agent_cli_changed: { from: change.from, to: change.to, round_num: change.round_num } } } : c,
  );
}
