/**
 * The registry of event kinds. The kind name is the schema version (upstream's contract): payloads
 * only ever gain fields; a breaking change needs a new kind. Emitting an unregistered kind throws,
 * and a test checks that every kind here is emitted by some code path.
 */
export interface EventKindInfo {
  layer: 'round' | 'loop' | 'monitor' | 'service';
  fields: readonly string[];
  description: string;
}

export const EVENT_KINDS = {
  // ---- round ----
  round_start: { layer: 'round', fields: ['round_num', 'phase'], description: 'A round reserved its number and is about to spawn the agent.' },
  agent_spawn: { layer: 'round', fields: ['round_num', 'timeout_s', 'pid', 'pgid', 'log_path'], description: 'The agent process started in its own process group.' },
  agent_exit: {
    layer: 'round',
    fields: ['round_num', 'exit_code', 'signal', 'duration_s', 'timed_out', 'exit_cause', 'outcome', 'transient', 'reset_at_epoch', 'leftovers_killed', 'tool_calls', 'cost_usd'],
    description: 'The agent ended. exit_cause is upstream\'s (clean|error|timeout|signal:NAME); outcome is ours (clean|error|timeout|grace_kill|signal|oom|interrupted); transient is auth_failure|usage_limit|network when detected.',
  },
  agent_network_blip: { layer: 'round', fields: ['round_num', 'phase', 'matched', 'round_duration_s', 'exit_code', 'timed_out'], description: 'A failed round whose output shows a network error.' },
  agent_usage_recorded: { layer: 'round', fields: ['round_num', 'agent', 'model', 'input_tokens', 'output_tokens', 'cached_tokens', 'cost_usd', 'duration_ms', 'tool_call_count', 'phase', 'success'], description: 'Usage and cost from the agent\'s structured result.' },
  transient_error_detected: { layer: 'round', fields: ['round_num', 'classification', 'agent', 'reset_at_epoch', 'raw'], description: 'The agent reported an auth failure, a usage/rate limit or a network/server error.' },
  dirty_detected: { layer: 'round', fields: ['round_num', 'files', 'outcome'], description: 'The work tree was dirty after the round (first 20 files).' },
  orphan_stashed: { layer: 'round', fields: ['round_num', 'ref', 'ref_name', 'reason', 'files'], description: 'Dirty work preserved as a commit under refs/agent-runner/orphans/R<N>, then the tree cleaned.' },
  orphan_idempotent_skip: { layer: 'round', fields: ['round_num', 'ref', 'reason'], description: 'A snapshot of this round already exists within stash_idempotency_s; reused.' },
  orphan_stash_failed: { layer: 'round', fields: ['round_num', 'phase', 'reason'], description: 'Preserving the dirty tree failed; the tree was left as it is.' },
  dirty_auto_committed: { layer: 'round', fields: ['round_num', 'files', 'ref'], description: 'dirty_action = auto_commit committed the tree.' },
  dirty_commit_failed: { layer: 'round', fields: ['round_num', 'phase', 'reason'], description: 'auto_commit failed; the tree was left dirty.' },
  round_timeout_kill: { layer: 'round', fields: ['round_num', 'reason', 'kill_ms'], description: 'The hard (or idle) timeout expired; the agent tree was killed.' },
  round_grace_kill: { layer: 'round', fields: ['round_num', 'grace_s', 'live_children', 'kill_ms'], description: 'The agent printed its result but did not exit within the grace; killed.' },
  round_grace_extended: { layer: 'round', fields: ['round_num', 'grace_s', 'live_children', 'ignored_children'], description: 'Grace expired but the agent still has working children; only the hard timeout applies now.' },
  round_progress: { layer: 'round', fields: ['round_num', 'log_size_kb', 'last_write_age_s', 'wall_age_s', 'tool_calls'], description: 'Heartbeat every round_progress_interval_s while the agent runs.' },
  round_log_truncated: { layer: 'round', fields: ['round_num', 'log_path', 'elided_bytes', 'max_bytes'], description: 'The round log passed round_log_max_bytes; its middle was elided.' },
  round_interrupted: { layer: 'round', fields: ['round_num', 'signal', 'kill_ms'], description: 'The round process received a signal; the agent tree was stopped.' },
  round_recovered: { layer: 'round', fields: ['round_num', 'pid', 'pgid', 'killed', 'reason'], description: 'A previous supervisor died mid-round; its leftovers were killed and the round recorded as interrupted.' },
  round_end: { layer: 'round', fields: ['round_num', 'outcome', 'duration_s'], description: 'The round is fully recorded; nothing it started is alive.' },
  status_recovered: { layer: 'round', fields: ['reason', 'round_num'], description: 'status.json could not be parsed; the round number was recovered from the other artifacts.' },
  smoke_check_failed: { layer: 'round', fields: ['reason', 'check', 'round_num'], description: 'A startup check failed (the round did not start).' },
  lock_stale_takeover: { layer: 'round', fields: ['holder_pid', 'holder_started_at', 'reason'], description: 'The previous lock holder is gone (dead or pid reused); the lock was taken over.' },
} as const satisfies Record<string, EventKindInfo>;

export type EventKind = keyof typeof EVENT_KINDS;

export function isEventKind(kind: string): kind is EventKind {
  return Object.hasOwn(EVENT_KINDS, kind);
}
