/**
 * Every exit code the CLI can return, in one registry. docs/exit-codes.md is generated from it,
 * and the systemd unit's RestartPreventExitStatus= / SuccessExitStatus= lists are derived from
 * the `restart` column, so the service manager can never undo a halt.
 */
export interface ExitCodeInfo {
  code: number;
  name: string;
  meaning: string;
  /** Which verbs return it. */
  verbs: string;
  /** How a systemd unit running `serve` should treat it. */
  restart: 'restart' | 'prevent' | 'success';
}

export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  MONITOR_UNKNOWN: 3,
  AGENT_ERROR: 10,
  AGENT_TIMEOUT: 11,
  AGENT_GRACE_KILL: 12,
  AGENT_SIGNAL: 13,
  AGENT_OOM: 14,
  AGENT_AUTH: 15,
  AGENT_USAGE_LIMIT: 16,
  AGENT_NETWORK: 17,
  AGENT_AUTH_CONTENTION: 18,
  LOCK_HELD: 75,
  CONFIG: 78,
  HALT_CRASH_LOOP: 80,
  HALT_AUTH: 81,
  HALT_BUDGET: 82,
  HALT_DONE: 83,
  HALT_STOP_FILE: 84,
  HALTED: 85,
  HALT_DISK: 86,
  HALT_TRANSIENT: 87,
  HALT_IDLE: 88,
  INTERRUPTED_HUP: 129,
  INTERRUPTED_INT: 130,
  INTERRUPTED_TERM: 143,
} as const;

export const EXIT_CODES: readonly ExitCodeInfo[] = [
  { code: EXIT.OK, name: 'ok', verbs: 'all', restart: 'success',
    meaning: 'Success. For `round`: the agent exited 0 within its limits. For `serve`: stopped on request, or `--once`/`--max-rounds` reached.' },
  { code: EXIT.FAILURE, name: 'failure', verbs: 'all', restart: 'restart',
    meaning: 'A command failed for a reason other than those below (for example `peek --select` on an unknown path, or an internal error, which also prints a stack trace). `doctor`: ready, with warnings. `monitor --once`: status `warning` (a warning is firing) or `halted` (a halt is recorded, nothing critical fires).' },
  { code: EXIT.USAGE, name: 'usage', verbs: 'all', restart: 'prevent',
    meaning: 'Bad command-line usage: unknown verb or flag, missing or invalid argument. `monitor --once`: status `critical`, a critical alert is firing (Nagios numbering: 0 healthy, 1 warning or halted, 2 critical, 3 unknown; docs/witness.md).' },
  { code: EXIT.MONITOR_UNKNOWN, name: 'monitor_unknown', verbs: 'monitor --once', restart: 'restart',
    meaning: '`monitor --once`: status `unknown`, the host could not be polled (unreachable, unknown host key, remote error): never reported healthy.' },
  { code: EXIT.AGENT_ERROR, name: 'agent_error', verbs: 'round', restart: 'restart',
    meaning: 'The agent exited with a non-zero status.' },
  { code: EXIT.AGENT_TIMEOUT, name: 'agent_timeout', verbs: 'round', restart: 'restart',
    meaning: 'The round hit its hard wall-clock timeout (or the idle timeout) and the agent tree was killed.' },
  { code: EXIT.AGENT_GRACE_KILL, name: 'agent_grace_kill', verbs: 'round', restart: 'restart',
    meaning: 'The agent printed its final result but did not exit within the post-result grace; it was killed (success + hang).' },
  { code: EXIT.AGENT_SIGNAL, name: 'agent_signal', verbs: 'round', restart: 'restart',
    meaning: 'The agent was killed by a signal that agent-runner did not send.' },
  { code: EXIT.AGENT_OOM, name: 'agent_oom', verbs: 'round', restart: 'restart',
    meaning: 'The agent was killed by the kernel OOM killer (detected through the cgroup\'s memory.events).' },
  { code: EXIT.AGENT_AUTH, name: 'agent_auth_failure', verbs: 'round', restart: 'restart',
    meaning: 'The agent reported an authentication failure (401/403, expired login), or its stored login has expired and the round was not started (the `login_not_expired` check: log in again).' },
  { code: EXIT.AGENT_USAGE_LIMIT, name: 'agent_usage_limit', verbs: 'round', restart: 'restart',
    meaning: 'The agent reported a usage or rate limit; the reset time, when known, is in the `agent_exit` event.' },
  { code: EXIT.AGENT_NETWORK, name: 'agent_network', verbs: 'round', restart: 'restart',
    meaning: 'The agent failed on a network or upstream server error (connection refused/reset, DNS, 5xx).' },
  { code: EXIT.AGENT_AUTH_CONTENTION, name: 'agent_auth_contention', verbs: 'round', restart: 'restart',
    meaning: 'Another process refreshed the shared login first (codex `refresh_token_reused`): the login is fine, retry later. `serve` waits and retries; only `auth_contention_halt_after` of them in a row halt.' },
  { code: EXIT.LOCK_HELD, name: 'lock_held', verbs: 'round, serve', restart: 'prevent',
    meaning: 'Another agent-runner already supervises this project (the message names its pid).' },
  { code: EXIT.CONFIG, name: 'config', verbs: 'all, doctor', restart: 'prevent',
    meaning: 'Configuration error or failed startup check (EX_CONFIG). One line on stderr names the file, key and what was expected. `serve` also records a halt. `doctor`: at least one check failed.' },
  { code: EXIT.HALT_CRASH_LOOP, name: 'halt_crash_loop', verbs: 'serve', restart: 'prevent',
    meaning: 'Halted: too many consecutive fast failing rounds. Recorded in halt.json; run `agent-runner resume` after fixing the cause.' },
  { code: EXIT.HALT_AUTH, name: 'halt_auth_failure', verbs: 'serve', restart: 'prevent',
    meaning: 'Halted: the agent cannot authenticate, or its stored login has expired (found before a round was spent). Recorded in halt.json; log in again, then `agent-runner resume`.' },
  { code: EXIT.HALT_BUDGET, name: 'halt_budget', verbs: 'serve', restart: 'success',
    meaning: 'Halted: a configured budget (max_rounds, max_wall_s or max_cost_usd) is spent. Recorded in halt.json.' },
  { code: EXIT.HALT_DONE, name: 'halt_done', verbs: 'serve', restart: 'success',
    meaning: 'Halted: the agent wrote its done sentinel. The sentinel is archived, and the halt recorded in halt.json.' },
  { code: EXIT.HALT_STOP_FILE, name: 'halt_stop_file', verbs: 'serve', restart: 'success',
    meaning: 'Halted: the configured stop_file exists. Recorded in halt.json.' },
  { code: EXIT.HALTED, name: 'halted', verbs: 'serve, round', restart: 'prevent',
    meaning: 'Refused to start: a halt is recorded in halt.json. `agent-runner status` shows why; `agent-runner resume` clears it (`round --force` runs one round anyway).' },
  { code: EXIT.HALT_DISK, name: 'halt_disk', verbs: 'serve, round', restart: 'prevent',
    meaning: 'Halted: disk headroom is below the critical threshold, or a state write failed with ENOSPC.' },
  { code: EXIT.HALT_TRANSIENT, name: 'halt_transient', verbs: 'serve', restart: 'prevent',
    meaning: 'Halted: a round failed on a usage limit or a network error and `transient_error_action = "stop"`. Recorded in halt.json; `agent-runner resume` once the limit has reset or the network is back.' },
  { code: EXIT.HALT_IDLE, name: 'halt_idle', verbs: 'serve', restart: 'prevent',
    meaning: 'Halted: `max_idle_rounds` rounds in a row ended clean but changed nothing (verdict `no_op`). Recorded in halt.json; check the prompt and the agent\'s last round log, then `agent-runner resume`.' },
  { code: EXIT.INTERRUPTED_HUP, name: 'interrupted_hup', verbs: 'round', restart: 'restart',
    meaning: '`round` received SIGHUP; the agent tree was stopped and the round recorded.' },
  { code: EXIT.INTERRUPTED_INT, name: 'interrupted_int', verbs: 'round, serve', restart: 'success',
    meaning: 'Received SIGINT; the agent tree was stopped and the round recorded.' },
  { code: EXIT.INTERRUPTED_TERM, name: 'interrupted_term', verbs: 'round', restart: 'success',
    meaning: '`round` received SIGTERM; the agent tree was stopped and the round recorded.' },
];

/**
 * Exit codes other programs return that agent-runner reads (never returns itself): a shell's
 * "cannot execute" and "not found", its 128 + N for a child killed by signal N, and ssh's own
 * failure (any other ssh status is the remote command's).
 */
export const FOREIGN_EXIT = {
  NOT_EXECUTABLE: 126,
  NOT_FOUND: 127,
  SIGNAL_BASE: 128,
  SSH_FAILED: 255,
} as const;

export function exitCodesWhere(restart: ExitCodeInfo['restart']): number[] {
  return EXIT_CODES.filter((e) => e.restart === restart && e.code !== 0).map((e) => e.code);
}
