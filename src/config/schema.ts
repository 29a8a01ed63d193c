import * as v from 'valibot';
import { DETECTOR_NAMES } from '../monitor/detector-names.js';
import { isTimeZone } from '../loop/reserve.js';
import { NOTIFY_KINDS, NOTIFY_SEVERITIES, WEBHOOK_FORMATS } from '../notify/kinds.js';

/**
 * The agent-runner.toml schema. Field names and defaults follow the Python tool we succeed, so an
 * existing file works unchanged; fields marked "new" are ours (docs/configuration.md lists them).
 * The Config type is derived from this schema, never declared twice.
 */

export const describeValue = (x: unknown): string => {
  if (Array.isArray(x)) return 'an array';
  if (x === null) return 'null';
  if (x === undefined) return 'nothing';
  // TOML dates and times parse to Date objects; say so rather than "a table".
  if (x instanceof Date) return `the date ${x.toISOString()}`;
  if (typeof x === 'string') return `the string ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x)}`;
  if (typeof x === 'object') return 'a table';
  return `${typeof x} ${String(x)}`;
};
const got = (what: string) => (issue: { input: unknown }) => `expected ${what}, got ${describeValue(issue.input)}`;

const int = (min: number, max?: number) => {
  const what = max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return v.pipe(
    v.number(got(what)),
    v.integer(got(what)),
    v.minValue(min, got(what)),
    v.maxValue(max ?? Number.MAX_SAFE_INTEGER, got(what)),
  );
};
const num = (min: number, max: number, what: string) =>
  v.pipe(v.number(got(what)), v.minValue(min, got(what)), v.maxValue(max, got(what)));
const bool = () => v.boolean(got('true or false'));
const str = () => v.string(got('a string'));
const nonEmptyStr = () => v.pipe(v.string(got('a non-empty string')), v.minLength(1, got('a non-empty string')));
const strArray = (what = 'an array of strings') => v.array(v.string(got(what)), got(what));
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  v.picklist(values, got(`one of ${values.map((x) => `"${x}"`).join(', ')}`));
const regex = () =>
  v.pipe(
    v.string(got('a regular expression string')),
    v.check((s) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    }, got('a valid regular expression')),
  );
const envValue = () =>
  v.pipe(
    v.union([v.string(), v.number(), v.boolean()], got('a string value')),
    v.transform((x) => String(x)),
  );

export const DEFAULT_AUTH_FAIL_PATTERN =
  '\\b(oauth|unauthorized|401|api[_ ]key|auth(entication)?[_ -]?(failed|error|expired)|session.*expired)\\b';
export const DEFAULT_NETWORK_FAIL_PATTERN =
  '\\b(connection refused|econnrefused|econnreset|etimedout|enotfound|getaddrinfo|socket hang up|dns|name or service not known|connect(ion)? timed out|nodename nor servname|network unreachable|50[023] (service unavailable|bad gateway|gateway timeout)|connection reset)\\b';

const AgentSchema = v.object({
  command: v.pipe(
    v.array(v.string(got('an array of strings')), got('an array of strings, e.g. ["claude", "-p"]')),
    v.minLength(1, got('a non-empty array of strings')),
  ),
  prompt_arg_template: v.optional(strArray(), []),
  name: v.optional(str()),
  env: v.optional(v.record(v.string(), envValue(), got('a table of NAME = "value"')), {}),
  prompt_delivery: v.optional(oneOf(['argv', 'stdin']), 'argv'),
  /** new: how long `<agent> --version` may take (doctor, the per-round version record) before its tree is killed. */
  version_timeout_s: v.optional(num(0.1, 600, 'a number of seconds from 0.1 to 600'), 10),
});

const RuntimeSchema = v.object({
  work_dir: v.optional(nonEmptyStr(), '.'),
  log_dir: v.optional(nonEmptyStr(), '~/.agent-runner/{project}/logs'),
  /** new: overrides the project name derived from work_dir's basename. */
  project: v.optional(
    v.pipe(str(), v.regex(/^[A-Za-z0-9._-]+$/, got('a name of letters, digits, ".", "_" or "-"'))),
  ),
  round_timeout_s: v.optional(int(1), 1800),
  restart_delay_s: v.optional(int(0), 3),
  disable_pre_round_hooks: v.optional(bool(), false),
  round_log_retention: v.optional(int(1), 100),
  narrative_file: v.optional(nonEmptyStr()),
  transient_error_action: v.optional(oneOf(['back_off', 'skip', 'stop']), 'back_off'),
  max_rounds: v.optional(int(1)),
  /** new: halt serve after this many rounds in a row that ended clean and changed nothing; unset: never. */
  max_idle_rounds: v.optional(int(1)),
  stop_file: v.optional(nonEmptyStr()),
  substrate_fingerprint_paths: v.optional(strArray('an array of glob strings'), []),
  fresh_eyes_every_n: v.optional(int(1)),
  dry_run: v.optional(bool(), false),
  max_grace_after_result_s: v.optional(int(0), 0),
  grace_kill_ignore_patterns: v.optional(v.array(regex(), got('an array of regular expressions')), []),
  // ---- new ----
  /** TERM → this many seconds → KILL, for every kill of an agent tree. */
  kill_grace_s: v.optional(num(0.1, 600, 'a number of seconds from 0.1 to 600'), 5),
  /** Kill the round after this long without output; 0 = off. */
  idle_timeout_s: v.optional(int(0), 0),
  /** Per-round log cap: past it the middle is elided, keeping head and tail. */
  round_log_max_bytes: v.optional(int(4096), 50 * 1024 * 1024),
  /** On SIGTERM, how long serve lets the current round finish before interrupting it. */
  stop_drain_s: v.optional(int(0), 60),
  crash_loop_threshold: v.optional(int(1), 5),
  crash_loop_fast_s: v.optional(int(1), 60),
  auth_failure_halt_after: v.optional(int(1), 1),
  /** Rounds in a row that lost a shared login's token refresh (codex refresh_token_reused) before serve halts. */
  auth_contention_halt_after: v.optional(int(1), 5),
  backoff_max_s: v.optional(int(1), 1800),
  usage_limit_buffer_s: v.optional(int(0), 60),
  usage_limit_jitter_s: v.optional(int(0), 30),
  usage_limit_max_wait_s: v.optional(int(60), 8 * 3600),
  max_wall_s: v.optional(int(1)),
  max_cost_usd: v.optional(num(0, Number.MAX_SAFE_INTEGER, 'a number of dollars >= 0')),
  done_sentinel: v.optional(nonEmptyStr(), '.agent-done'),
  /** How long serve, exiting, may spend delivering the notifications still queued. */
  notify_flush_s: v.optional(int(0, 600), 10),
});

const PromptSchema = v.object({
  file: v.optional(nonEmptyStr()),
  files: v.optional(v.pipe(strArray('an array of prompt file paths'), v.minLength(1, got('a non-empty array of paths')))),
  inject_context: v.optional(bool(), true),
  context_injection_mode: v.optional(oneOf(['prepend', 'file', 'none']), 'prepend'),
  concat_separator: v.optional(str(), '\n\n'),
  strip_yaml_frontmatter: v.optional(bool(), true),
  /** new: the startup check refuses an assembled prompt shorter than this (upstream: 500). */
  min_bytes: v.optional(int(1), 500),
});

const VcsSchema = v.object({
  stash_idempotency_s: v.optional(int(1), 5),
  dirty_action: v.optional(oneOf(['stash', 'ignore', 'auto_commit']), 'stash'),
  /** new: what to do with a dirty tree after a failed or killed round; defaults to dirty_action. */
  dirty_action_on_failure: v.optional(oneOf(['stash', 'ignore', 'auto_commit'])),
});

const HostHealthSchema = v.object({
  mem_avail_min_mb: v.optional(int(0), 200),
  disk_warning_pct: v.optional(num(0, 100, 'a percentage from 0 to 100'), 90),
  disk_critical_pct: v.optional(num(0, 100, 'a percentage from 0 to 100'), 95),
});

const MonitorSchema = v.object({
  auth_fail_patterns: v.optional(v.array(regex(), got('an array of regular expressions')), [DEFAULT_AUTH_FAIL_PATTERN]),
  auth_fail_hint: v.optional(str(), ''),
  auto_stop_on: v.optional(
    v.array(oneOf(DETECTOR_NAMES), got('an array of detector names')),
    ['oauth_fail', 'disk_critical'],
  ),
  remote_failure_tolerance_s: v.optional(int(0, 3600), 90),
  anomaly_repetitive_window: v.optional(int(0), 0),
  anomaly_repetitive_threshold: v.optional(int(0), 0),
  round_progress_interval_s: v.optional(int(0), 60),
  supervisor_stale_threshold_s: v.optional(int(0)),
  host_health: v.optional(HostHealthSchema, {}),
  // ---- new ----
  network_fail_patterns: v.optional(v.array(regex(), got('an array of regular expressions')), [DEFAULT_NETWORK_FAIL_PATTERN]),
  interval_s: v.optional(int(1)),
  /** The fraction of the last `window` rounds that must match before oauth_fail/network_fail/timeout_rate fire. */
  window: v.optional(int(1), 10),
  rate_threshold: v.optional(num(0, 1, 'a fraction from 0 to 1'), 0.2),
  orphan_chain_threshold: v.optional(int(1), 3),
  /** no_progress fires after this many rounds in a row with the verdict no_op; 0 disables it. */
  no_progress_rounds: v.optional(int(0), 3),
  /** smoke_fail_rate fires when this fraction of the window's start attempts failed a startup check. */
  smoke_fail_rate: v.optional(num(0, 1, 'a fraction from 0 to 1'), 0.1),
  /** hung fires past round timeout × hung_factor + kill_grace_s. */
  hung_factor: v.optional(num(1, 100, 'a factor from 1 to 100'), 1.5),
  /** One remote poll (probe over ssh) may take this long before it counts as a blip. */
  remote_poll_timeout_s: v.optional(int(1, 3600), 60),
  /** The ssh alias `monitor` watches when --host is not given (e.g. for the monitor unit). */
  host: v.optional(v.pipe(str(), v.regex(/^[^-\s][^\s]*$/, got('an ssh alias or host (not starting with "-")')))),
  /** Several ssh aliases `monitor` watches when --host is not given: every registered project on each. */
  hosts: v.optional(v.pipe(v.array(v.pipe(str(), v.regex(/^[^-\s][^\s]*$/, got('an ssh alias or host (not starting with "-")')))), v.minLength(1, got('a non-empty list of ssh aliases')))),
  /** The project's config path on the remote host, for --host (default agent-runner.toml in the remote login dir). */
  remote_config: v.optional(nonEmptyStr()),
  /** How to run agent-runner on the remote host, for --host (default `agent-runner`). */
  remote_cmd: v.optional(nonEmptyStr()),
  /** A dead man's switch (healthchecks.io style): pinged after every cycle, `<url>/fail` when critical. */
  heartbeat_url: v.optional(nonEmptyStr()),
  /** The same, from this environment variable (the URL is a secret). */
  heartbeat_url_env: v.optional(v.pipe(str(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, got('an environment variable name such as "HEALTHCHECK_URL"')))),
  /** Where `monitor` serves /metrics and /healthz when --listen is not given (e.g. in the monitor unit). */
  listen: v.optional(v.pipe(str(), v.regex(/^(\[[0-9a-fA-F:]+\]|[^:[\]\s]*):\d{1,5}$/, got('HOST:PORT, e.g. "127.0.0.1:9464"')))),
  /** Local time of day (HH:MM) of the daily digest notification; unset: no digest. */
  digest_at: v.optional(v.pipe(str(), v.regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, got('a time of day "HH:MM", e.g. "09:00"')))),
});

/** A byte size: an integer number of bytes or a string with a K, M, G or T suffix (powers of 1024), as systemd takes it. */
const byteSize = () =>
  v.union(
    [
      v.pipe(v.number(), v.integer(), v.minValue(4096)),
      v.pipe(v.string(), v.regex(/^[1-9][0-9]*(\.[0-9]+)?[KMGT]?$/)),
    ],
    got('a byte size such as "512M", "2G" or a number of bytes >= 4096'),
  );

const limitKeys = () => ({
  memory_max: v.optional(byteSize()),
  memory_high: v.optional(byteSize()),
  tasks_max: v.optional(int(1)),
  cpu_quota: v.optional(v.pipe(str(), v.regex(/^[1-9][0-9]*%$/, got('a percentage of one CPU such as "150%"')))),
  io_weight: v.optional(int(1, 10000)),
});

const LimitsSchema = v.object({
  /** new: "auto" runs each round in a cgroup of its own when the host allows it; "off" keeps the sweep only. */
  cgroup: v.optional(oneOf(['auto', 'off']), 'auto'),
  ...limitKeys(),
  /** The serve unit's own limits (serve, git, and rounds when they share its cgroup), rendered by `install`. */
  service: v.optional(v.object(limitKeys()), {}),
});

const SandboxSchema = v.object({
  mode: v.optional(oneOf(['off', 'systemd', 'bwrap']), 'off'),
  /** Paths the agent may write besides work_dir and log_dir (its own state dirs); ~ expanded. */
  writable_paths: v.optional(strArray('an array of paths'), []),
  /** bwrap: false unshares the network namespace (loopback only). */
  network: v.optional(bool(), true),
});

const PhaseSchema = v.object({
  round_timeout_s: v.optional(int(1)),
  disable_pre_round_hooks: v.optional(bool()),
  prompt: v.optional(
    v.object({
      file: v.optional(nonEmptyStr()),
      files: v.optional(v.pipe(strArray('an array of prompt file paths'), v.minLength(1, got('a non-empty array')))),
    }),
  ),
});

const envName = () => v.pipe(str(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, got('an environment variable name such as "SLACK_WEBHOOK_URL"')));

/** One `[[notify]]` table: a channel. Which keys a type needs is checked in load.ts. */
const NotifySchema = v.object({
  name: v.pipe(str(), v.regex(/^[A-Za-z0-9._-]+$/, got('a name of letters, digits, ".", "_" or "-"'))),
  type: oneOf(['webhook', 'command']),
  min_severity: v.optional(oneOf(NOTIFY_SEVERITIES), 'info'),
  events: v.optional(v.array(oneOf(NOTIFY_KINDS), got('an array of notification kinds'))),
  url: v.optional(nonEmptyStr()),
  url_env: v.optional(envName()),
  format: v.optional(oneOf(WEBHOOK_FORMATS), 'json'),
  chat_id: v.optional(v.pipe(v.union([v.string(), v.number()], got('a chat id (string or number)')), v.transform((x) => String(x)))),
  bot_token_env: v.optional(envName()),
  command: v.optional(v.pipe(strArray('an array of strings, e.g. ["/usr/local/bin/page-me"]'), v.minLength(1, got('a non-empty array of strings')))),
  timeout_s: v.optional(num(0.1, 600, 'a number of seconds from 0.1 to 600'), 10),
  env_file: v.optional(nonEmptyStr()),
  rate_limit: v.optional(int(1, 1000), 10),
  rate_window_s: v.optional(int(1, 86400), 60),
  retry_for_s: v.optional(int(0, 86400), 86400),
});
export type NotifyChannelConfig = v.InferOutput<typeof NotifySchema>;

const timeOfDay = () => {
  const what = got('a time of day "HH:MM", e.g. "09:00"');
  return v.pipe(v.string(what), v.regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, what));
};

/** quota.reserve: `{ from = "09:00", to = "18:00", time_zone = "Europe/Berlin" }`; from > to crosses midnight; from = to is refused in load.ts. */
const ReserveSchema = v.object(
  {
    from: timeOfDay(),
    to: timeOfDay(),
    /** Unset: the host's zone, read when the window is checked. */
    time_zone: v.optional(v.pipe(str(), v.check(isTimeZone, got('an IANA time zone such as "Europe/Berlin" or "UTC"')))),
  },
  got('a table { from = "HH:MM", to = "HH:MM", time_zone = "Area/City" }'),
);

/** new: spending the agent's quota wisely (issue 12, item 5). */
const QuotaSchema = v.object({
  /** Pause when the agent reports this much of a rate-limit window spent (0..1); 1 turns it off. */
  pause_above: v.optional(num(0, 1, 'a fraction from 0 to 1'), 0.9),
  /** Pause when the agent reports `allowed_warning` (close to the limit), whatever its utilization. */
  pause_on_warning: v.optional(bool(), true),
  /** A daily window in which no round starts: the human keeps the quota for themselves. */
  reserve: v.optional(ReserveSchema),
  /** Supervisors of this user sharing one agent account pause together (src/loop/shared-quota.ts). */
  share: v.optional(bool(), true),
  /** Names the account explicitly: every project with the same name shares one quota state. */
  account: v.optional(v.pipe(str(), v.regex(/^[A-Za-z0-9._-]+$/, got('a name of letters, digits, ".", "_" or "-"')))),
});

export const ConfigSchema = v.object({
  agent: AgentSchema,
  runtime: v.optional(RuntimeSchema, {}),
  prompt: v.optional(PromptSchema, {}),
  vcs: v.optional(VcsSchema, {}),
  monitor: v.optional(MonitorSchema, {}),
  limits: v.optional(LimitsSchema, {}),
  sandbox: v.optional(SandboxSchema, {}),
  quota: v.optional(QuotaSchema, {}),
  notify: v.optional(v.array(NotifySchema, got('[[notify]] tables (an array of tables)')), []),
  phases: v.optional(v.record(v.string(), v.unknown(), got('a table: list = [...] and [phases.<name>] tables')), {}),
  plugins: v.optional(v.record(v.string(), v.unknown(), got('a table')), {}),
});

export { PhaseSchema };
export type RawConfig = v.InferOutput<typeof ConfigSchema>;
export type PhaseConfig = v.InferOutput<typeof PhaseSchema>;

/** Keys upstream removed: a clear migration hint instead of "unknown key". */
export const REMOVED_KEYS: Record<string, string> = {
  'runtime.round_timeout_per_phase': 'removed: use [phases.<name>] round_timeout_s',
  'runtime.rate_limit_action': 'removed: use runtime.transient_error_action',
  'vcs.orphan_action': 'removed: use vcs.dirty_action',
};
