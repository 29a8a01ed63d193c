/**
 * The registry of event kinds. The kind name is the schema version (upstream's contract): payloads
 * only ever gain fields; a breaking change needs a new kind. Emitting an unregistered kind throws,
 * and a test checks that every kind here is emitted by some code path.
 */
export interface EventKindInfo {
  layer: 'round' | 'loop' | 'monitor' | 'service' | 'notify';
  fields: readonly string[];
  description: string;
}

import { MONITOR_EVENT_KINDS } from './kinds-monitor.js';

export const EVENT_KINDS = {
  ...MONITOR_EVENT_KINDS,
  // ---- round ----
  round_start: { layer: 'round', fields: ['round_num', 'phase', 'checks', 'agent_version'], description: 'A round reserved its number and is about to spawn the agent. agent_version: what the agent CLI\'s `--version` said (probed once per binary: its real path, mtime and size), null when unknown.' },
  agent_cli_changed: {
    layer: 'round',
    fields: ['round_num', 'command', 'from', 'to'],
    description: 'The agent CLI\'s version differs from the one the previous round ran with (an update or self-update between rounds): a changed output format then explains a new failure, and the monitor names the change beside any alert that fires after it.',
  },
  agent_spawn: {
    layer: 'round',
    fields: ['round_num', 'timeout_s', 'pid', 'pgid', 'log_path', 'cgroup_mode', 'cgroup', 'limits_applied', 'cgroup_unavailable', 'limits_not_applied', 'sandbox'],
    description: 'The agent process started in its own process group, and in its own cgroup: cgroup_mode is scope (a systemd scope), direct (a cgroup2 directory of its own) or none (cgroup_unavailable says why; the sweep alone then). limits_applied lists the limit files written; sandbox is off, systemd or bwrap, as in effect (systemd only inside the sandboxed unit).',
  },
  agent_exit: {
    layer: 'round',
    fields: ['round_num', 'exit_code', 'signal', 'duration_s', 'timed_out', 'exit_cause', 'outcome', 'transient', 'reset_at_epoch', 'leftovers_killed', 'tool_calls', 'cost_usd', 'error'],
    description: 'The agent ended. exit_cause is upstream\'s (clean|error|timeout|signal:NAME); outcome is ours (clean|error|timeout|grace_kill|signal|oom|interrupted); transient is auth_failure|auth_contention|usage_limit|network when detected.',
  },
  agent_network_blip: { layer: 'round', fields: ['round_num', 'phase', 'matched', 'round_duration_s', 'exit_code', 'timed_out'], description: 'A failed round whose output shows a network error.' },
  agent_usage_recorded: { layer: 'round', fields: ['round_num', 'agent', 'model', 'input_tokens', 'output_tokens', 'cached_tokens', 'cost_usd', 'duration_ms', 'tool_call_count', 'phase', 'success'], description: 'Usage and cost from the agent\'s structured result.' },
  anomaly_repetitive_tool: { layer: 'round', fields: ['round_num', 'tool_name', 'target', 'count', 'window'], description: 'The agent called one tool on one target `count` times within `window` consecutive tool calls (monitor.anomaly_repetitive_window/threshold): a stuck loop. Emitted as soon as the pair reaches the threshold, while the round runs; once per pair and round.' },
  transient_error_detected: { layer: 'round', fields: ['round_num', 'classification', 'agent', 'reset_at_epoch', 'raw'], description: 'The agent reported an auth failure, a contention for a shared login (auth_contention), a usage/rate limit or a network/server error.' },
  dirty_detected: { layer: 'round', fields: ['round_num', 'files', 'outcome'], description: 'The work tree was dirty after the round (first 20 files).' },
  orphan_stashed: { layer: 'round', fields: ['round_num', 'ref', 'ref_name', 'reason', 'files'], description: 'What the round changed and left uncommitted, preserved as a commit under refs/agent-runner/orphans/R<N> (the whole tree after the round); then those paths, and only those, put back to HEAD.' },
  orphan_idempotent_skip: { layer: 'round', fields: ['round_num', 'ref', 'reason'], description: 'A snapshot of this round already exists within stash_idempotency_s; reused.' },
  orphan_stash_failed: { layer: 'round', fields: ['round_num', 'phase', 'reason'], description: 'Preserving the dirty tree failed; the tree was left as it is.' },
  dirty_auto_committed: { layer: 'round', fields: ['round_num', 'files', 'ref'], description: 'dirty_action = auto_commit committed the tree.' },
  dirty_commit_failed: { layer: 'round', fields: ['round_num', 'phase', 'reason'], description: 'auto_commit failed; the tree was left dirty.' },
  worktree_snapshot: {
    layer: 'round',
    fields: ['round_num', 'ref', 'ref_name', 'index_tree', 'files'],
    description: 'Before the agent ran, the uncommitted work (untracked files, agent-runner\'s config and prompts included) was kept as a commit under refs/agent-runner/orphans/R<N>-before: its tree is the work tree, its second parent a commit of the index (index_tree). Recover with `git stash apply --index REF`. files: the first 20 paths.',
  },
  worktree_snapshot_failed: { layer: 'round', fields: ['round_num', 'phase', 'reason'], description: 'The work tree could not be read or kept before the round (an unmerged index, an unreadable file): the round runs, and nothing is reset, cleaned or committed after it.' },
  round_timeout_kill: { layer: 'round', fields: ['round_num', 'reason', 'kill_ms'], description: 'The hard (or idle) timeout expired; the agent tree was killed.' },
  round_grace_kill: { layer: 'round', fields: ['round_num', 'grace_s', 'live_children', 'kill_ms'], description: 'The agent printed its result but did not exit within the grace; killed.' },
  round_grace_extended: { layer: 'round', fields: ['round_num', 'grace_s', 'live_children', 'ignored_children'], description: 'Grace expired but the agent still has working children; only the hard timeout applies now.' },
  round_progress: { layer: 'round', fields: ['round_num', 'log_size_kb', 'last_write_age_s', 'wall_age_s', 'tool_calls', 'output_tokens'], description: 'Heartbeat every round_progress_interval_s while the agent runs. output_tokens: tokens the agent has written so far (claude stream-json reports them per message; absent for agents that do not); the cost comes only with the result.' },
  round_log_truncated: { layer: 'round', fields: ['round_num', 'log_path', 'elided_bytes', 'max_bytes'], description: 'The round log passed round_log_max_bytes; its middle was elided.' },
  round_interrupted: { layer: 'round', fields: ['round_num', 'signal', 'kill_ms'], description: 'The round process received a signal; the agent tree was stopped.' },
  round_recovered: { layer: 'round', fields: ['round_num', 'pid', 'pgid', 'killed', 'reason', 'cgroup', 'cgroup_left'], description: 'A previous supervisor died mid-round; its leftovers were killed (its recorded cgroup too: cgroup names it, cgroup_left what could not be removed) and the round recorded as interrupted.' },
  round_end: {
    layer: 'round',
    fields: ['round_num', 'outcome', 'duration_s', 'commits', 'verdict', 'evidence'],
    description:
      'The round is fully recorded; nothing it started is alive. commits: how many commits the agent added to HEAD (null when that cannot be told: no commit before the round, or history rewritten). verdict: productive | no_op | limited | auth_failed | failed | timeout, judged from evidence (head_moved, commits, files_changed, tokens, is_error, exit_code).',
  },
  unrecognized_failure: {
    layer: 'round',
    fields: ['round_num', 'agent', 'outcome', 'exit_code', 'sample'],
    description: 'Warning: a round failed and its output matched no known shape (no limit, auth or network signal). sample is the line that told the failure (redacted, at most 300 characters): a changed CLI format is noticed here instead of misread.',
  },
  status_recovered: { layer: 'round', fields: ['reason', 'round_num'], description: 'status.json could not be parsed; the round number was recovered from the other artifacts.' },
  smoke_check_failed: { layer: 'round', fields: ['reason', 'check'], description: 'A startup check failed (the round did not start).' },
  agent_version_recorded: { layer: 'service', fields: ['command', 'version'], description: '`doctor` recorded the agent CLI\'s version, so a self-update between runs shows in the history.' },
  lock_stale_takeover: { layer: 'round', fields: ['holder_pid', 'holder_started_at', 'reason'], description: 'The previous lock holder is gone (dead or pid reused); the lock was taken over.' },
  // ---- loop ----
  serve_started: { layer: 'loop', fields: ['pid', 'mode', 'max_rounds', 'version'], description: 'serve took the project lock and is about to run rounds.' },
  serve_waiting: { layer: 'loop', fields: ['reason', 'until', 'seconds', 'round_num'], description: 'Heartbeat while serve waits (reason restart_delay, backoff, usage_limit, network, quota, reserve: inside quota.reserve, shared_quota: another project of the account waits out its reset): it is waiting, not stuck. Re-emitted every minute of a long wait. round_num: the last round this serve ran (null before its first).' },
  serve_stopping: { layer: 'loop', fields: ['signal', 'mode', 'drain_s'], description: 'A stop was requested: drain (finish the round) or interrupt (second signal).' },
  serve_stopped: { layer: 'loop', fields: ['reason', 'rounds_completed', 'exit_code'], description: 'serve exited; reason says why.' },
  serve_reload: { layer: 'loop', fields: ['config'], description: 'SIGHUP: the config was re-read and takes effect from the next round.' },
  serve_reload_rejected: { layer: 'loop', fields: ['config', 'error'], description: 'SIGHUP: the new config is invalid; the old one stays in force.' },
  crash_loop: { layer: 'loop', fields: ['consecutive', 'exit_code', 'outcome', 'reason'], description: 'Halt: crash_loop_threshold consecutive fast failing rounds.' },
  quota_pause: {
    layer: 'loop',
    fields: ['round_num', 'trigger', 'window', 'utilization', 'reset_at_epoch', 'until'],
    description: 'A clean round reported its rate-limit window nearly spent (claude `allowed_warning`, or a utilization at or above quota.pause_above): serve waits until the window resets (until) instead of running into the limit.',
  },
  quota_reserve_wait: {
    layer: 'loop',
    fields: ['from', 'to', 'time_zone', 'until'],
    description: 'serve is inside quota.reserve, the daily window (from–to, local time in time_zone) in which the human keeps the quota: no round starts until the window ends (until). A stop request ends the wait.',
  },
  quota_shared_pause: {
    layer: 'loop',
    fields: ['account', 'reason', 'source_project', 'source_config', 'source_round_num', 'reset_at_epoch', 'until'],
    description: 'Another project of the same agent account (the shared quota state file `quota/<account>.json` in the per-user state dir) was refused for its quota (reason usage_limit) or paused for its window (quota) until reset_at_epoch: this serve waits too (until: the reset + usage_limit_buffer_s, at most usage_limit_max_wait_s). source_* name the project and round that reported it.',
  },
  no_progress_halt: { layer: 'loop', fields: ['consecutive', 'max_idle_rounds', 'round_num'], description: 'Halt: max_idle_rounds rounds in a row ended clean but changed nothing (verdict no_op).' },
  config_broken: { layer: 'loop', fields: ['reason'], description: 'Halt: the config or a startup check fails; retrying cannot help.' },
  auth_failure_halt: { layer: 'loop', fields: ['consecutive', 'round_num', 'hint'], description: 'Halt: the agent cannot authenticate; no further round burns quota. Also written before any round when the agent\'s stored login has expired (consecutive 0, round_num null: the `login_not_expired` check).' },
  transient_error_halt: { layer: 'loop', fields: ['round_num', 'classification', 'agent', 'reset_at_epoch'], description: 'Halt: a round failed on a usage limit or a network error and transient_error_action = "stop".' },
  agent_self_terminated: { layer: 'loop', fields: ['reason', 'archived_to'], description: 'Halt: the agent wrote its done sentinel (archived, never deleted).' },
  max_rounds_reached: { layer: 'loop', fields: ['rounds_completed', 'max_rounds', 'source'], description: 'The round budget is spent (config: a durable halt; --max-rounds: this invocation only).' },
  stop_file_detected: { layer: 'loop', fields: ['stop_file', 'content', 'rounds_completed'], description: 'Halt: runtime.stop_file exists.' },
  budget_exhausted: { layer: 'loop', fields: ['budget', 'limit', 'spent'], description: 'Halt: max_wall_s or max_cost_usd is spent.' },
  halt_recorded: { layer: 'loop', fields: ['reason', 'exit_code', 'round_num', 'hint'], description: 'halt.json written: serve refuses to run until `agent-runner resume`.' },
  halt_refused_start: { layer: 'loop', fields: ['reason', 'since', 'verb'], description: '`serve` (or `round` without `--force`; verb says which) started while a halt is recorded, and exited without running a round.' },
  halt_cleared: { layer: 'loop', fields: ['reason', 'since'], description: '`agent-runner resume` cleared a recorded halt.' },
  resumed: {
    layer: 'loop',
    fields: ['halt_reason', 'halt_since'],
    description: '`agent-runner resume` ran (halt or not): the counters and budgets are reset, and the failures before it are acknowledged, so the monitor no longer counts them (oauth_fail, network_fail). halt_reason and halt_since name the halt it cleared, or are null.',
  },
  transient_error_recovered: { layer: 'loop', fields: ['classification', 'agent', 'throttled_for_s'], description: 'A wait for a transient error ended; rounds resume.' },
  // ---- notify ----
  notify_sent: { layer: 'notify', fields: ['channel', 'key', 'kind', 'attempts', 'folded', 'detail'], description: 'A notification was delivered to a channel (folded: how many queued notifications one rate-limited message carried, else null).' },
  notify_retry: { layer: 'notify', fields: ['channel', 'key', 'kind', 'attempt', 'error', 'next_attempt_s'], description: 'Delivering a notification failed; it stays in the outbox and is tried again after next_attempt_s (exponential back-off with jitter).' },
  notify_gave_up: { layer: 'notify', fields: ['channel', 'key', 'kind', 'attempts', 'error', 'age_s', 'permanent'], description: 'A notification was given up: retried for retry_for_s, or refused for good by the receiver (permanent, e.g. HTTP 404). It is kept in outbox/dead/.' },
  transient_error_backoff_capped: { layer: 'loop', fields: ['classification', 'agent', 'requested_sleep_s', 'applied_sleep_s', 'original_reset_at_epoch'], description: 'A requested wait was longer than usage_limit_max_wait_s / backoff_max_s and was clamped.' },
} as const satisfies Record<string, EventKindInfo>;

export type EventKind = keyof typeof EVENT_KINDS;

export function isEventKind(kind: string): kind is EventKind {
  return Object.hasOwn(EVENT_KINDS, kind);
}
