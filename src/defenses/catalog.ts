import type { Config } from '../config/load.js';
import { EVENT_KINDS } from '../events/kinds.js';
import { EXIT, exitCodesWhere } from '../exit-codes.js';
import { hasProcfs } from '../proc/procfs.js';
import { which } from '../util/exec.js';

/**
 * Defenses as data: every protection agent-runner has against a failure that really happened,
 * with the setting in force, the incident behind it and the test that fails if it breaks. The
 * upstream tool kept such a catalog but linked defenses to tests that did not exist; here a unit
 * test checks that each `guarded_by` file exists and mentions every word in `exercises`, and
 * docs/defenses.md is generated from this list.
 */
export type DefenseState = 'active' | 'degraded' | 'off';

export interface Defense {
  name: string;
  /** Upstream's name, where ours works differently enough to deserve a new one. */
  upstream?: string;
  /** The setting or mechanism in force, computed from the live config. */
  value: string | number | readonly string[];
  /** The incident (upstream's reference first) this defense exists for. */
  codifies: string;
  /** Repository-relative test file that fails if this defense breaks. */
  guarded_by: string;
  /** Words the guard file must contain: the events, settings or fixture modes that drive the defense. */
  exercises: readonly string[];
  current_state: DefenseState;
  /** Why the state is not `active`. */
  note?: string;
}

/** What the host offers; injected so generated docs do not depend on the machine that built them. */
export interface HostFacts {
  procfs: boolean;
  flock: boolean;
}

export function detectHost(): HostFacts {
  return { procfs: hasProcfs, flock: which('flock') !== undefined };
}

const ROUND_E2E = 'test/e2e/round.test.ts';
const SERVE_E2E = 'test/e2e/serve.test.ts';
const CONFIG_E2E = 'test/e2e/config-errors.test.ts';
const GUARDS_UNIT = 'test/unit/defenses-guards.test.ts';

const on = (cond: boolean, why: string): Pick<Defense, 'current_state' | 'note'> => (cond ? { current_state: 'active' } : { current_state: 'off', note: why });
const needs = (cond: boolean, why: string): Pick<Defense, 'current_state' | 'note'> => (cond ? { current_state: 'active' } : { current_state: 'degraded', note: why });

export function defenses(cfg: Config, host: HostFacts = detectHost()): Defense[] {
  const repetitive = cfg.monitor.anomaly_repetitive_window > 0 && cfg.monitor.anomaly_repetitive_threshold > 0;
  const rt = cfg.runtime;
  const stashing = cfg.vcs.dirty_action === 'stash' || cfg.vcs.dirty_action_on_failure === 'stash';
  const envKeys = Object.keys(cfg.agent.env).sort();
  const noProc = 'no /proc on this platform: processes that left the process group (setsid, double fork) cannot be found';
  const phaseTimeouts = Object.entries(cfg.phases.overrides).filter(([, o]) => o.round_timeout_s !== undefined);

  return [
    // ---- upstream's twelve, in upstream's order ----
    {
      name: 'round_timeout_s',
      value: phaseTimeouts.length ? `${rt.round_timeout_s} (${phaseTimeouts.map(([n, o]) => `${n}: ${o.round_timeout_s}`).join(', ')})` : rt.round_timeout_s,
      codifies: 'R1128: an agent sat in a polling loop for 60 minutes and the soft grace never fired. A hard wall-clock limit that ignores activity.',
      guarded_by: ROUND_E2E,
      exercises: ['round_timeout_kill', 'exceeded round_timeout_s'],
      current_state: 'active',
    },
    {
      name: 'process_group_isolation',
      value: `own session and process group per agent, plus a /proc sweep for the AGENT_RUNNER_ROUND_ID marker`,
      codifies: '#307: descendants outlived the agent. Ours also finds what escaped the group with setsid or a double fork.',
      guarded_by: ROUND_E2E,
      exercises: ['setsid', 'double_fork', 'ignore_term_child', 'survivorsOf'],
      ...needs(host.procfs, noProc),
    },
    {
      name: 'signal_forwarding',
      upstream: 'sigterm_reaper',
      value: `SIGTERM/SIGINT/SIGHUP → agent tree: TERM, ${rt.kill_grace_s}s, KILL; serve drains up to ${rt.stop_drain_s}s; units use KillMode=mixed`,
      codifies: 'R725: SIGTERM during a round let a new runner start while the old agent kept running; two agents raced on one tree. Upstream\'s reaper was never wired.',
      guarded_by: ROUND_E2E,
      exercises: ['round_interrupted', "kill('SIGTERM')", 'toBe(143)'],
      current_state: 'active',
    },
    {
      name: 'orphan_stash_idempotency_s',
      value: cfg.vcs.stash_idempotency_s,
      codifies: 'R820: three phantom stashes in the same second. A snapshot of the same round and tree within the window is reused; R1 never matches R12.',
      guarded_by: GUARDS_UNIT,
      exercises: ['orphan_idempotent_skip', 'R12'],
      ...on(stashing, 'vcs.dirty_action is not "stash": dirty trees are never snapshotted'),
    },
    {
      name: 'sha_addressed_snapshots',
      upstream: 'sha_locked_stash',
      value: 'refs/agent-runner/orphans/R<N>, a commit built through a temporary index; the stash list is never touched',
      codifies: 'Upstream §9: dropping stashes by index broke when a stash was pushed concurrently. Ours does not use the stash stack at all.',
      guarded_by: GUARDS_UNIT,
      exercises: ['refs/agent-runner/orphans/R', "'stash', 'push'", "'stash', 'list'"],
      ...on(stashing, 'vcs.dirty_action is not "stash": dirty trees are never snapshotted'),
    },
    {
      name: 'user_work_snapshot',
      value: 'before each round, uncommitted work (untracked files, config and prompts included; the index as its own commit) at refs/agent-runner/orphans/R<N>-before; after it, only the paths the round changed are reset, and nothing at all without that snapshot',
      codifies: 'Issue 8 (user work is sacred): with dirty_action = "stash" a user\'s uncommitted edit vanished and was in no orphan ref; edits to the config and prompts were left out of the snapshot and then reset; the clean step wiped staged state and removed untracked files that predated the round.',
      guarded_by: 'test/e2e/user-work.test.ts',
      exercises: ['worktree_snapshot', 'worktree_snapshot_failed', 'orphan_stash_failed', 'R1-before', "'stash', 'apply', '--index'", "'read-tree'", 'submodule', 'non-UTF-8'],
      current_state: 'active',
    },
    {
      name: 'no_diff_parsing',
      upstream: 'set_diff_classification',
      value: 'dirty paths come from `git status --porcelain -z`; no diff text is read anywhere',
      codifies: 'R2110: a rotation-only diff scanned line by line for +/- was misclassified. Ours never classifies diff content, so an invariant test keeps diff parsing out of src/.',
      guarded_by: GUARDS_UNIT,
      exercises: ['no_diff_parsing', '--porcelain'],
      current_state: 'active',
    },
    {
      name: 'critical_envs_injection',
      value: envKeys,
      codifies: 'Claude self-updated in the middle of a loop; DISABLE_AUTOUPDATER=1 in [agent.env] stops it. [agent.env] overrides the inherited environment.',
      guarded_by: CONFIG_E2E,
      exercises: ['critical_envs_injection', 'DISABLE_AUTOUPDATER', 'from-config'],
      ...on(envKeys.length > 0, '[agent.env] is empty'),
    },
    {
      name: 'startup_smoke_check',
      value: ['config_valid', 'log_dir_writable', 'agent_cli_in_path', 'work_dir_is_git_repo', 'prompt_files_exist', `prompt_smoke_passes (>= ${cfg.prompt.min_bytes} bytes)`, 'disk_headroom'],
      codifies: 'R721/#446: prompt frontmatter was passed to the CLI as a flag and 123 rounds burned over 4 hours. Every phase\'s prompt is checked before the first spawn; a failure exits 78 and halts serve.',
      guarded_by: ROUND_E2E,
      exercises: ['smoke_check_failed', 'agent_cli_in_path', 'prompt_files_exist', 'work_dir_is_git_repo', 'disk_headroom', 'toBe(78)'],
      current_state: 'active',
    },
    {
      name: 'crash_loop_breaker',
      value: `${rt.crash_loop_threshold} consecutive failing rounds shorter than ${rt.crash_loop_fast_s}s → halt (exit ${EXIT.HALT_CRASH_LOOP})`,
      codifies: 'Run 6: a crashing agent respawned about 100 empty rounds. Upstream\'s breaker never saw agent crashes (round always exited 0); ours counts real agent exits and persists the halt.',
      guarded_by: SERVE_E2E,
      exercises: ['crash_loop', "'exit:1'"],
      current_state: 'active',
    },
    {
      name: 'flock_concurrency',
      value: host.flock ? 'flock(1) on <log_dir>/agent-runner.lock, holder recorded beside it' : 'O_EXCL holder file with pid and start-time checks',
      codifies: 'Concurrent supervisors corrupted state. A second supervisor fails fast with exit 75 and the holder\'s pid; a dead holder\'s lock is taken over.',
      guarded_by: ROUND_E2E,
      exercises: ['toBe(75)', 'lock_stale_takeover'],
      ...needs(host.flock, 'flock(1) is not installed: the fallback lock file is not freed by the kernel when its holder dies'),
    },
    {
      name: 'atomic_state_writes',
      value: 'temp file in the same directory, fsync, rename, fsync of the directory',
      codifies: 'A crash must never leave a half-written state file.',
      guarded_by: GUARDS_UNIT,
      exercises: ['writeJsonAtomic', 'SIGKILL'],
      current_state: 'active',
    },
    {
      name: 'event_kind_registry',
      value: `${Object.keys(EVENT_KINDS).length} registered kinds; emitting an unregistered kind throws`,
      codifies: 'Typos in emit() calls, and kinds that were declared but never emitted (upstream 0.2.2).',
      guarded_by: 'test/unit/event-registry.test.ts',
      exercises: ['unknown event kind', 'EVENT_KINDS'],
      current_state: 'active',
    },

    // ---- ours ----
    {
      name: 'post_exit_sweep',
      value: 'after every round, clean exits included: TERM, grace, KILL for whatever of the round outlived its leader',
      codifies: '#307 again: upstream reaped descendants only on a timeout, so children left after a clean exit lived on.',
      guarded_by: ROUND_E2E,
      exercises: ['leftovers_killed', 'hold_stdout'],
      ...needs(host.procfs, noProc),
    },
    {
      name: 'post_result_grace',
      value: rt.max_grace_after_result_s,
      codifies: 'Upstream 0.1.31: an agent printed its final result and then hung. Killed after the grace unless a child is still working (0.1.38: backgrounded builds).',
      guarded_by: ROUND_E2E,
      exercises: ['round_grace_kill', 'round_grace_extended', 'max_grace_after_result_s'],
      ...on(rt.max_grace_after_result_s > 0, 'runtime.max_grace_after_result_s = 0'),
    },
    {
      name: 'idle_timeout',
      value: rt.idle_timeout_s,
      codifies: 'No upstream incident: a round with no output at all (an agent waiting on a prompt nobody answers) would otherwise hold the project for the whole round_timeout_s.',
      guarded_by: GUARDS_UNIT,
      exercises: ['idle_timeout_s', 'round_timeout_kill'],
      ...on(rt.idle_timeout_s > 0, 'runtime.idle_timeout_s = 0'),
    },
    {
      name: 'round_log_cap',
      value: `${rt.round_log_max_bytes} bytes per round log (head and tail kept), ${rt.round_log_retention} logs kept`,
      codifies: 'Upstream never pruned the agent logs (rounds/R*.log), the biggest files it wrote.',
      guarded_by: ROUND_E2E,
      exercises: ['round_log_truncated', 'round_log_max_bytes', 'round_log_retention'],
      current_state: 'active',
    },
    {
      name: 'round_log_rewrite_loses_nothing',
      value: 'the round is frozen (cgroup2 freezer) while its log is cut down; the kept tail is still read',
      codifies: 'On a loaded host, output the agent appended while its flooded log was being cut was destroyed by the truncate, and a result line in the kept tail was never read: the round lost its last words and its cost.',
      guarded_by: 'test/unit/log-follower.test.ts',
      exercises: ['holdWriters', 'resultSeen', 'bytes elided'],
      current_state: 'active',
    },
    {
      name: 'durable_halts',
      value: `halt.json, honoured until \`agent-runner resume\`; exit codes ${exitCodesWhere('prevent').join(', ')} are never restarted by the unit`,
      codifies: 'Upstream exited 0 on every halt under Restart=always, so systemd undid config_broken, crash_loop, max_rounds and stop_file within seconds.',
      guarded_by: SERVE_E2E,
      exercises: ['halt.json', 'halt_refused_start', 'halt_cleared'],
      current_state: 'active',
    },
    {
      name: 'stale_round_recovery',
      value: 'status.json records pid, pgid, start time and marker at spawn; the next start kills what is provably left of that round',
      codifies: 'Upstream: SIGKILL of the round process left the agent running unsupervised and the lock free, re-opening the R725 two-agent race.',
      guarded_by: ROUND_E2E,
      exercises: ['round_recovered', "kill('SIGKILL')"],
      ...needs(host.procfs, 'no /proc: a leftover process cannot be matched to its round by start time and marker'),
    },
    {
      name: 'usage_limit_wait',
      value: `sleep until the reported reset + ${rt.usage_limit_buffer_s}s (+ up to ${rt.usage_limit_jitter_s}s jitter), at most ${rt.usage_limit_max_wait_s}s`,
      codifies: 'A 5-hour quota was hit and rounds rapid-fired through the throttle window; a malformed far-future reset could sleep forever.',
      guarded_by: SERVE_E2E,
      exercises: ['rate_limit_event', 'serve_waiting', 'transient_error_recovered'],
      ...on(rt.transient_error_action === 'back_off', `runtime.transient_error_action = "${rt.transient_error_action}"`),
    },
    {
      name: 'transient_backoff',
      value: `exponential back-off on network and server errors, capped at ${rt.backoff_max_s}s; never counted as a crash loop`,
      codifies: 'A 15-minute API outage burned 16 empty rounds; a fixed 60 s wait was too short for sustained 5xx.',
      guarded_by: SERVE_E2E,
      exercises: ['transient_error_backoff_capped', 'ENOTFOUND'],
      ...on(rt.transient_error_action === 'back_off', `runtime.transient_error_action = "${rt.transient_error_action}"`),
    },
    {
      name: 'structured_classification',
      value: 'structured fields first (claude rate_limit_event, api_error_status, error tags; codex turn.failed and error codes; gemini error codes); text patterns only for agents without structured output, only after a round that failed or did nothing, never after our own timeout',
      codifies: 'Upstream matched broad regexes (401, dns, api key) on log tails, so a transcript quoting them, or tool output saying "usage limit reached", was misread.',
      guarded_by: 'test/unit/stream-json.test.ts',
      exercises: ['tool_result', 'api_error_status', 'rate_limit_event'],
      current_state: 'active',
    },
    {
      name: 'golden_agent_fixtures',
      value: 'recorded-shape outputs of claude, codex, gemini and aider (limits, auth failures, retries, overload, exit 0 with no work), each declaring its expected classification',
      codifies: 'A CLI upgrade changed a message and limit detection silently broke (terryso/claude-auto-resume#15, umputun/ralphex#317); a timeout (exit 124) was read as the 5-hour limit (frankbria/ralph-claude-code#183).',
      guarded_by: 'test/unit/agent-fixtures.test.ts',
      exercises: ['test/fixtures/agents', 'needsTextFallback', 'reset_at_epoch'],
      current_state: 'active',
    },
    {
      name: 'auth_contention_backoff',
      value: `a shared login refreshed by another process (codex refresh_token_reused) waits with a back-off; halts after ${rt.auth_contention_halt_after} in a row`,
      codifies: 'Several codex instances sharing one login failed with "refresh token was already used" (openai/codex#9634); halting on the first would stop a healthy fleet.',
      guarded_by: 'test/unit/policy.test.ts',
      exercises: ['auth_contention', 'auth_contention_halt_after'],
      current_state: 'active',
    },
    {
      name: 'round_verdict',
      value: `every round judged productive | no_op | limited | auth_failed | failed | timeout from HEAD, changed files, tokens, is_error and the exit code; no_progress after ${cfg.monitor.no_progress_rounds || 'never (0)'} no_op rounds; serve halts after ${rt.max_idle_rounds ?? 'never (max_idle_rounds unset)'}`,
      codifies: 'No-op loops were reported as "finished naturally" (agrimsingh/ralph-wiggum-cursor#15); an exit 0 is no proof of work (anthropics/claude-code#85040); a rate-limited run was reported as a success (umputun/ralphex#47).',
      guarded_by: 'test/e2e/verdict.test.ts',
      exercises: ['no_progress', 'max_idle_rounds', 'no_progress_halt', 'unrecognized_failure'],
      current_state: 'active',
    },
    {
      name: 'quota_pacing',
      value: `a clean round reporting ${cfg.quota.pause_on_warning ? 'allowed_warning or ' : ''}${cfg.quota.pause_above < 1 ? `a window ≥ ${cfg.quota.pause_above * 100} % spent` : 'no utilization threshold'} waits for the window's reset`,
      codifies: 'Loops ran into the 5-hour wall mid-task and left the human without quota; rate_limit_event warns before it rejects (handarbeit/fabrik#1815).',
      guarded_by: 'test/e2e/agent-shapes.test.ts',
      exercises: ['quota_pause', 'warning_for', 'pause_on_warning'],
      ...on(cfg.quota.pause_on_warning || cfg.quota.pause_above < 1, 'quota.pause_on_warning = false and quota.pause_above = 1'),
    },
    {
      name: 'quota_reserve',
      value: cfg.quota.reserve ? `no round starts from ${cfg.quota.reserve.from} to ${cfg.quota.reserve.to} (${cfg.quota.reserve.time_zone ?? 'host time zone'})` : 'no reserve window',
      codifies: 'An unattended loop spent the subscription\'s 5-hour window overnight or through the working day, and the human who shares the account found it exhausted when they needed it.',
      guarded_by: 'test/e2e/quota.test.ts',
      exercises: ['quota_reserve_wait', 'reserve'],
      ...on(cfg.quota.reserve !== undefined, 'quota.reserve is not set'),
    },
    {
      name: 'shared_quota',
      value: cfg.quota.share
        ? `projects of one account (${cfg.quota.account ? `quota.account = "${cfg.quota.account}"` : 'the claude or codex login file'}) share a locked quota state file: one refusal pauses all of them until the reset`
        : 'this project neither publishes nor honours shared pauses',
      codifies: 'Supervisors sharing one login each ran into the same usage limit on their own, one failed round per project per window, instead of waiting for the reset one of them already knew.',
      guarded_by: 'test/e2e/quota.test.ts',
      exercises: ['quota_shared_pause', 'account', 'shared_quota'],
      ...on(cfg.quota.share, 'quota.share = false'),
    },
    {
      name: 'agent_cli_version',
      value: 'the agent CLI version on every round (round_start.agent_version, status.json), probed once per binary; a change emits agent_cli_changed and is named beside the next failure alert',
      codifies: 'A CLI upgrade changed a message and limit detection silently broke; the failures that followed were read without knowing the CLI had changed (issue 12: wording drift).',
      guarded_by: 'test/e2e/agent-version.test.ts',
      exercises: ['agent_cli_changed', 'agent_version'],
      current_state: 'active',
    },
    {
      name: 'login_expiry_check',
      value: 'claude .credentials.json expiresAt / codex auth.json access-token exp: an expired login that cannot renew itself (no refresh token stored) fails the startup check (no spawn; `round` exits 15, serve halts as auth_failure, exit 81); one with a refresh token is left to the CLI to renew; doctor and the credentials_expiring detector warn 24 h ahead; the token is never read out',
      codifies: 'OAuth logins expired 10 min to 8 h into headless loops (anthropics/claude-code#28827, #37402), and an expired token showed up as a silent 2-second "finished" (anthropics/claude-code-action#1501). Taking the expiry of the access token for that of the login called a login that renews itself expired (siteboon/claudecodeui#1209).',
      guarded_by: 'test/e2e/credentials.test.ts',
      exercises: ['login_not_expired', 'login_expiry', 'credentials_expiring', 'NEVER-PRINT-THIS'],
      current_state: 'active',
    },
    {
      name: 'repetitive_tool_anomaly',
      upstream: 'anomaly_repetitive_tool',
      value: repetitive ? `${cfg.monitor.anomaly_repetitive_threshold} × one (tool, target) within ${cfg.monitor.anomaly_repetitive_window} tool calls` : 'off',
      codifies: 'F33: a stuck tool loop (the same Edit 8 times in a row) burned a round. Ours counts every tool call of the round as it streams, not only the last 50 log lines.',
      guarded_by: 'test/e2e/monitor.test.ts',
      exercises: ['anomaly_repetitive_tool', 'anomaly_repetitive_active', 'tools:8:Edit'],
      ...on(repetitive, 'monitor.anomaly_repetitive_window and _threshold are 0 (upstream\'s default): opt in with e.g. 10 and 8'),
    },
    {
      name: 'stdin_prompt_delivery',
      value: cfg.agent.prompt_delivery,
      codifies: 'Upstream 0.2.1: `pkill -f <token>` in an agent\'s cleanup matched the prompt in its own argv and the agent killed itself. Over stdin the prompt is never in /proc/<pid>/cmdline.',
      guarded_by: CONFIG_E2E,
      exercises: ['stdin_prompt_delivery', '/cmdline'],
      ...on(cfg.agent.prompt_delivery === 'stdin', 'agent.prompt_delivery = "argv": the prompt is visible in the process list'),
    },
    {
      name: 'redaction',
      value: envKeys.length ? `values of [agent.env] (${envKeys.length}) and common token shapes` : 'common token shapes',
      codifies: 'Upstream 0.1.40: secrets in child argv and error text were persisted to the event log.',
      guarded_by: 'test/unit/redact.test.ts',
      exercises: ['Redactor', 'sk-', 'Bearer'],
      current_state: 'active',
    },
    {
      name: 'round_cgroup',
      value: cfg.limits.cgroup === 'auto' ? 'a cgroup per round (a systemd scope under a service, else a cgroup2 directory as root), killed whole with cgroup.kill; status.json records it for the next start' : 'off',
      codifies: 'A process that left the session and cleared its environment (marker included) escaped both the group kill and the sweep; after a SIGKILLed supervisor it outlived the round for good.',
      guarded_by: 'test/e2e/isolation-cgroup.test.ts',
      exercises: ['escape_all', 'round_recovered', "kill('SIGKILL')", 'memory_max', 'tasks_max'],
      ...on(cfg.limits.cgroup === 'auto', 'limits.cgroup = "off": the process-group and marker sweep alone'),
    },
    {
      name: 'sandbox',
      value: cfg.sandbox.mode === 'off' ? 'off' : `${cfg.sandbox.mode}: writable work dir, log dir, git dirs${cfg.sandbox.writable_paths.length ? ` and ${cfg.sandbox.writable_paths.length} state dir(s)` : ''}; the rest read-only${cfg.sandbox.mode === 'bwrap' && !cfg.sandbox.network ? '; no network' : ''}`,
      codifies: 'Agents write where they should not (other repositories, dotfiles, /etc through sudo); users of agent loops asked for a sandbox without Docker.',
      guarded_by: 'test/e2e/sandbox-bwrap.test.ts',
      exercises: ['write failed', 'connect failed', 'sandbox_available'],
      ...on(cfg.sandbox.mode !== 'off', 'sandbox.mode = "off" (the default): set "systemd" for the installed service or "bwrap" (docs/isolation.md)'),
    },
    {
      name: 'private_logs',
      value: 'log_dir 0700; round logs and events 0600',
      codifies: 'Upstream wrote agent logs 0644, and they can hold whatever the agent printed, secrets included.',
      guarded_by: ROUND_E2E,
      exercises: ['0o700', '0o600'],
      current_state: 'active',
    },
  ];
}
