/**
 * The payload of every event kind, as a type: `EventPayloads[K]` is what `emit(K, …)` accepts
 * and what a reader of a `K` line may find. The registry (kinds.ts) lists the same fields for
 * the docs; `registry-check.ts` fails the type check when the two lists differ.
 *
 * Wire names stay upstream's (snake_case). Fields are what this version writes; history written
 * by older versions or by upstream may lack some, which is why parsed events (see `StoredEvent`)
 * have every field optional.
 */

/** How a round ended (ours; upstream's `exit_cause` is kept beside it). */
export type RoundOutcome = 'clean' | 'error' | 'timeout' | 'grace_kill' | 'signal' | 'oom' | 'interrupted';

/**
 * A failure the agent reported in its structured output, which no retry soon will fix.
 * auth_contention: another process refreshed the shared login first (codex `refresh_token_reused`):
 * retried later, never counted as an auth failure.
 */
export type TransientClass = 'auth_failure' | 'auth_contention' | 'usage_limit' | 'network';

/** What a round achieved, judged from evidence (src/round/verdict.ts). */
export type RoundVerdict = 'productive' | 'no_op' | 'limited' | 'auth_failed' | 'failed' | 'timeout';

/** What the verdict was judged from. */
export interface VerdictEvidence {
  /** HEAD differs from before the round (null: no commit before it, or not a repository). */
  head_moved: boolean | null;
  /** Commits the agent added (null: cannot tell). */
  commits: number | null;
  /** Paths the round left changed and uncommitted (agent-runner's own excluded). */
  files_changed: number;
  /** Input + output tokens the agent reported (null: it reported none). */
  tokens: number | null;
  /** The agent's structured result said it failed. */
  is_error: boolean;
  exit_code: number | null;
}

/** Why serve is waiting between rounds. */
export type WaitReason = 'restart_delay' | 'backoff' | 'usage_limit' | 'network' | 'auth' | 'quota' | 'reserve' | 'shared_quota';

/** A process of the agent's tree, as the round saw it (first five). */
export interface ChildProcessInfo {
  name: string;
  pid: number;
}

export interface EventPayloads {
  // ---- round ----
  round_start: { round_num: number; phase: string | null; checks: string[]; agent_version?: string | null };
  agent_cli_changed: { round_num: number; command: string; from: string; to: string };
  agent_spawn: {
    round_num: number;
    timeout_s: number;
    pid: number | null;
    pgid: number | null;
    log_path: string;
    cgroup_mode: 'scope' | 'direct' | 'none';
    cgroup: string | null;
    limits_applied: string[];
    /** Only with cgroup_mode none: why. */
    cgroup_unavailable?: string;
    /** Only when some configured limit could not be applied: which, and why. */
    limits_not_applied?: string[];
    sandbox: string;
  };
  agent_exit: {
    round_num: number;
    /** Negative signal number when the agent died of a signal. */
    exit_code: number | null;
    signal: string | null;
    duration_s: number;
    timed_out: boolean;
    /** upstream's: clean | error | timeout | signal:NAME */
    exit_cause: string;
    outcome: RoundOutcome;
    transient: TransientClass | null;
    reset_at_epoch: number | null;
    leftovers_killed: number;
    tool_calls: number;
    cost_usd: number | null;
    /** Only when the agent could not be spawned. */
    error?: string;
  };
  agent_network_blip: { round_num: number; phase: string | null; matched: string; round_duration_s: number; exit_code: number | null; timed_out: boolean };
  agent_usage_recorded: {
    round_num: number;
    agent: string | null;
    model: string;
    input_tokens: number;
    output_tokens: number;
    cached_tokens: number;
    cost_usd: number | null;
    duration_ms: number;
    tool_call_count: number;
    phase: string | null;
    success: boolean;
  };
  /** A stuck tool loop: one tool on one target `count` times within `window` consecutive tool calls. */
  anomaly_repetitive_tool: { round_num: number; tool_name: string; target: string; count: number; window: number };
  transient_error_detected: { round_num: number; classification: TransientClass; agent: string | null; reset_at_epoch: number | null; raw: string };
  dirty_detected: { round_num: number; files: string[]; outcome: RoundOutcome };
  orphan_stashed: { round_num: number; ref: string; ref_name: string; reason: string; files: string[] };
  orphan_idempotent_skip: { round_num: number; ref: string; reason: string };
  orphan_stash_failed: { round_num: number; phase: string | null; reason: string };
  dirty_auto_committed: { round_num: number; files: string[]; ref: string };
  dirty_commit_failed: { round_num: number; phase: string | null; reason: string };
  /** ref is the snapshot commit (tree: the work tree; ^2: a commit of the index, tree index_tree). */
  worktree_snapshot: { round_num: number; ref: string; ref_name: string; index_tree: string; files: string[] };
  worktree_snapshot_failed: { round_num: number; phase: string | null; reason: string };
  round_timeout_kill: { round_num: number; reason: string; kill_ms: number | null };
  round_grace_kill: { round_num: number; grace_s: number; live_children: ChildProcessInfo[]; kill_ms: number | null };
  round_grace_extended: { round_num: number; grace_s: number; live_children: ChildProcessInfo[]; ignored_children: Array<ChildProcessInfo & { matched: string }> };
  round_progress: { round_num: number; log_size_kb: number; last_write_age_s: number; wall_age_s: number; tool_calls: number; output_tokens?: number };
  round_log_truncated: { round_num: number; log_path: string; elided_bytes: number; max_bytes: number };
  round_interrupted: { round_num: number; signal: string; kill_ms: number | null };
  round_recovered: { round_num: number; pid: number | null; pgid: number | null; killed: number; reason: string; cgroup?: string | null; cgroup_left?: string[] };
  /** duration_s is null for a round recovered after its supervisor died. */
  /** commits: what the agent added to HEAD during the round (null: cannot tell; absent: written before it was counted). */
  round_end: { round_num: number; outcome: RoundOutcome; duration_s: number | null; commits?: number | null; verdict?: RoundVerdict; evidence?: VerdictEvidence };
  /** A failed round whose output matched no known shape: a CLI format change shows here first. */
  unrecognized_failure: { round_num: number; agent: string | null; outcome: RoundOutcome; exit_code: number | null; sample: string };
  status_recovered: { reason: string; round_num: number };
  smoke_check_failed: { reason: string; check: string };
  lock_stale_takeover: { holder_pid: number; holder_started_at: string | null; reason: string };
  // ---- loop ----
  serve_started: { pid: number; mode: 'systemd' | 'foreground'; max_rounds: number | null; version: string };
  serve_waiting: { reason: WaitReason; until: string; seconds: number; round_num: number | null };
  serve_stopping: { signal: string; mode: 'drain' | 'idle' | 'interrupt'; drain_s: number };
  serve_stopped: { reason: string; rounds_completed: number; exit_code: number };
  serve_reload: { config: string };
  serve_reload_rejected: { config: string; error: string };
  quota_reserve_wait: { from: string; to: string; time_zone: string; until: string };
  quota_shared_pause: { account: string; reason: 'usage_limit' | 'quota'; source_project: string; source_config: string; source_round_num: number; reset_at_epoch: number; until: string };
  /** A clean round reported its quota window nearly spent: serve waits for the window's reset instead of running into the wall. */
  quota_pause: { round_num: number; trigger: 'allowed_warning' | 'utilization'; window: string | null; utilization: number | null; reset_at_epoch: number; until: string };
  no_progress_halt: { consecutive: number; max_idle_rounds: number; round_num: number };
  crash_loop: { consecutive: number; exit_code: number | null; outcome: RoundOutcome; reason: string };
  config_broken: { reason: string };
  auth_failure_halt: { consecutive: number; round_num: number | null; hint: string };
  agent_self_terminated: { reason: string; archived_to: string | null };
  max_rounds_reached: { rounds_completed: number; max_rounds: number; source: 'cli' | 'config' };
  stop_file_detected: { stop_file: string; content: string; rounds_completed: number };
  budget_exhausted: { budget: 'max_wall_s' | 'max_cost_usd'; limit: number; spent: number };
  halt_recorded: { reason: string; exit_code: number; round_num: number | null; hint: string };
  halt_refused_start: { reason: string; since: string; verb: 'serve' | 'round' };
  halt_cleared: { reason: string; since: string };
  /** `resume` ran: failures before it are acknowledged (halt_reason/halt_since: the halt it cleared, if any). */
  resumed: { halt_reason: string | null; halt_since: string | null };
  transient_error_halt: { round_num: number; classification: TransientClass; agent: string | null; reset_at_epoch: number | null };
  transient_error_recovered: { classification: TransientClass; agent: string | null; throttled_for_s: number };
  transient_error_backoff_capped: {
    classification: TransientClass;
    agent: string | null;
    requested_sleep_s: number;
    applied_sleep_s: number;
    original_reset_at_epoch: number | null;
  };
  // ---- notify ----
  notify_sent: { channel: string; key: string; kind: string; attempts: number; folded: number | null; detail: string | null };
  notify_retry: { channel: string; key: string; kind: string; attempt: number; error: string; next_attempt_s: number };
  notify_gave_up: { channel: string; key: string; kind: string; attempts: number; error: string; age_s: number; permanent: boolean };
  // ---- service ----
  agent_version_recorded: { command: string; version: string };
  // ---- monitor ----
  monitor_started: { host: string | null; resolved: string | null; interval_s: number; log_dir: string | null; mode: string; once: boolean; pid: number };
  monitor_stopped: { host: string | null; reason: string; polls: number };
  monitor_alert_emitted: {
    detector: string;
    subject: string;
    severity: string;
    message: string;
    auto_action: 'stop_service' | 'none';
    host: string | null;
    previous_severity?: string;
  };
  monitor_alert_resolved: { detector: string; subject: string; severity: string; host: string | null; since: string; duration_s: unknown };
  monitor_auto_stop_triggered: { detector: string; host: string | null; evidence_ts: string };
  monitor_auto_stop_completed: { detector: string; host: string | null; stopped: boolean; seconds: number; mode: string };
  monitor_auto_stop_failed: { detector: string; host: string | null; error: string };
  monitor_remote_blip: { host: string | null; error: string; attempt: number; elapsed_s: number; cap_s: number; interval_s: number; next_sleep_s: number };
  monitor_remote_recovered: { host: string | null; attempts: number; outage_s: number };
  monitor_remote_giveup: { host: string | null; total_attempts: number; total_elapsed_s: number; cap_s: number; final_error: string };
}

/** An event decided by pure code (a policy) and emitted by its caller. */
export type PendingEvent = { [K in KnownKind]: { kind: K; payload: EventPayloads[K] } }[KnownKind];

/** Every kind this version writes. */
export type KnownKind = keyof EventPayloads;

/** An event as emitted: the wire record is `{ts, event, ...payload}`. */
export type RunnerEvent = { [K in KnownKind]: { ts: string; event: K } & EventPayloads[K] }[KnownKind];

/**
 * An event as read back from a file: the kind decides the shape, but any field may be missing
 * (written by an older version or by upstream), so readers check before use.
 */
export type StoredEvent<K extends KnownKind = KnownKind> = { [P in K]: { ts: string; event: P } & Partial<EventPayloads[P]> }[K];

/**
 * A line as stored, whatever its kind (also kinds this version does not know: another version's,
 * upstream's plugins'). For showing events as they are; deciding readers use `StoredEvent`.
 */
export interface EventRecord {
  ts: string;
  event: string;
  [field: string]: unknown;
}
