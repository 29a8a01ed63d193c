#!/usr/bin/env node
// Regenerates the reference sections of docs/ from the code's registries, read from the *built*
// modules in dist/ (run `npx tsc -p tsconfig.json` first; `./build.sh docs` does both).
// Only text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` is replaced; the
// prose around it is hand-written and kept.
//
//   node scripts/gen-docs.mjs           rewrite the stale sections
//   node scripts/gen-docs.mjs --check   exit 1, naming each stale file, if anything would change
//   --docs <dir>                        work on another copy of docs/ (the generator's own test)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const check = process.argv.includes('--check');
const docsArg = process.argv.indexOf('--docs');
const DOCS = docsArg > 0 && process.argv[docsArg + 1] ? process.argv[docsArg + 1] : join(ROOT, 'docs');

function die(msg, code = 2) {
  process.stderr.write(`gen-docs: ${msg}\n`);
  process.exit(code);
}

if (!existsSync(join(DIST, 'exit-codes.js'))) die('dist/ is missing: build first (npx tsc -p tsconfig.json)');
const load = (p) => import(pathToFileURL(join(DIST, p)).href);
const { EXIT_CODES } = await load('exit-codes.js');
const { EVENT_KINDS } = await load('events/kinds.js');
const { ConfigSchema, PhaseSchema, REMOVED_KEYS } = await load('config/schema.js');
const { parseConfig } = await load('config/load.js');
const { defenses } = await load('defenses/catalog.js');
const { DETECTOR_INFO } = await load('monitor/detector-names.js');
const { REMOTE_FAILURES } = await load('monitor/remote-diagnosis.js');
const { buildProgram } = await load('cli/program.js');
const { DETECTORS } = await load('monitor/detectors/index.js');
const { HALTS } = await load('loop/policy.js');

// ---------------------------------------------------------------------------------------------
// Markdown helpers

/**
 * A table cell: one line, pipes escaped (also inside code spans, which GFM allows), and `<`, `>`
 * outside code spans escaped so `R<N>` is not read as an HTML tag.
 */
const cell = (s) =>
  String(s)
    .replace(/\r?\n/g, ' ')
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('')
    .replace(/\|/g, '\\|');
const code = (s) => (String(s).includes('`') ? `\`\` ${s} \`\`` : `\`${s}\``);
function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Exit codes

function exitCodesSection() {
  const restart = { restart: 'restarted', prevent: 'not restarted (RestartPreventExitStatus)', success: 'success, not restarted' };
  return table(
    ['Code', 'Name', 'Returned by', 'Meaning', 'Under the systemd unit'],
    EXIT_CODES.map((e) => [String(e.code), code(e.name), e.verbs, e.meaning, restart[e.restart]]),
  );
}

// ---------------------------------------------------------------------------------------------
// Event kinds

function eventsSection() {
  const layers = { round: 'Round layer (`agent-runner round`)', loop: 'Loop layer (`agent-runner serve`)', monitor: 'Monitor (the witness)', service: 'Service management', notify: 'Notifications (the outbox; written by whichever of serve, monitor and `notify` delivers)' };
  const out = [];
  for (const [layer, title] of Object.entries(layers)) {
    const kinds = Object.entries(EVENT_KINDS).filter(([, i]) => i.layer === layer);
    if (!kinds.length) continue;
    out.push(`### ${title}`, '', table(['Kind', 'Fields', 'Meaning'], kinds.map(([k, i]) => [code(k), i.fields.map(code).join(', '), i.description])), '');
  }
  out.push(`${Object.keys(EVENT_KINDS).length} kinds in all.`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Configuration: walk the valibot schema

/** upstream's schema at HEAD (a frozen fact about the tool we succeed): everything else is new. */
const UPSTREAM_KEYS = new Set(
  [
    'agent.command agent.prompt_arg_template agent.name agent.env agent.prompt_delivery',
    'runtime.work_dir runtime.log_dir runtime.round_timeout_s runtime.restart_delay_s runtime.disable_pre_round_hooks',
    'runtime.round_log_retention runtime.narrative_file runtime.transient_error_action runtime.max_rounds runtime.stop_file',
    'runtime.substrate_fingerprint_paths runtime.fresh_eyes_every_n runtime.dry_run runtime.max_grace_after_result_s',
    'runtime.grace_kill_ignore_patterns',
    'prompt.file prompt.files prompt.inject_context prompt.context_injection_mode prompt.concat_separator prompt.strip_yaml_frontmatter',
    'vcs.stash_idempotency_s vcs.dirty_action',
    'monitor.auth_fail_patterns monitor.auth_fail_hint monitor.auto_stop_on monitor.remote_failure_tolerance_s',
    'monitor.anomaly_repetitive_window monitor.anomaly_repetitive_threshold monitor.round_progress_interval_s',
    'monitor.supervisor_stale_threshold_s monitor.host_health',
    'monitor.host_health.mem_avail_min_mb monitor.host_health.disk_warning_pct monitor.host_health.disk_critical_pct',
    'phases.list phases.<name>.round_timeout_s phases.<name>.disable_pre_round_hooks phases.<name>.prompt phases.<name>.prompt.files',
  ]
    .join(' ')
    .split(' '),
);

/**
 * What each field means. The schema says type, default and accepted values; this says why you
 * would set it. --check fails when a schema field has no entry here, or an entry no field.
 */
const MEANING = {
  'limits.cgroup': '`auto`: every round runs in a cgroup of its own — a systemd scope `agent-runner-<project>-R<N>` under a systemd service, else (as root) a cgroup2 directory of that name — killed whole with `cgroup.kill`, which reaches even a process that left the session and cleared its environment. Where neither is possible the round says why (`agent_spawn.cgroup_unavailable`) and the process-group and marker sweep remain. `off`: the sweep alone. See [isolation.md](isolation.md).',
  'limits.memory_max': 'Hard memory limit of a round (`memory.max`, or `memory.limit_in_bytes` on a v1 memory hierarchy), swap off. Past it the kernel OOM-kills in the round, and the round is classified `oom` (exit 14), a crash for the loop.',
  'limits.memory_high': 'Memory throttling threshold (`memory.high`); on a v1 memory hierarchy the soft limit, which only applies reclaim pressure.',
  'limits.tasks_max': 'Most processes and threads a round may have (`pids.max`): a fork bomb is held here. Count the agent CLI\'s own threads (Node: about 11).',
  'limits.cpu_quota': 'CPU time per second, in percent of one CPU (`cpu.max` / `CPUQuota=`): `"50%"` is half a core.',
  'limits.io_weight': 'Relative block-I/O weight, 1–10000 (`io.weight` / `IOWeight=`; scaled to 10–1000 for v1 `blkio.weight`).',
  'limits.service': 'The serve unit\'s own limits, rendered by `install` into `agent-runner@<project>.service` (`MemoryMax=`, `MemorySwapMax=0`, `MemoryHigh=`, `TasksMax=`, `CPUQuota=`, `IOWeight=`). They bound serve, its git calls, and the rounds only when `cgroup = "off"` keeps them in the service\'s cgroup; each round\'s own limits are the keys above. `install --memory-max` overrides `memory_max`.',
  'limits.service.memory_max': 'The service\'s `MemoryMax=` (swap off with it).',
  'limits.service.memory_high': 'The service\'s `MemoryHigh=`.',
  'limits.service.tasks_max': 'The service\'s `TasksMax=`.',
  'limits.service.cpu_quota': 'The service\'s `CPUQuota=`.',
  'limits.service.io_weight': 'The service\'s `IOWeight=`.',
  'sandbox.mode': '`off`; `systemd`: `install` renders hardening into the serve unit (`NoNewPrivileges=yes`, `PrivateTmp=yes`, `ProtectSystem=strict`, `ProtectHome=read-only`, `ReadWritePaths=` the work dir, the log dir, the repository\'s git dirs outside the work dir and `writable_paths`), which every round inherits; `bwrap`: every round runs in bubblewrap (the whole file system read-only but those paths, a private `/tmp` and `/dev`), and a startup check fails when `bwrap` is missing or cannot make its namespaces. See [isolation.md](isolation.md).',
  'sandbox.writable_paths': 'The agent\'s own state directories (e.g. `["~/.claude", "~/.claude.json"]`), writable in the sandbox besides work_dir and log_dir. `~` is expanded; missing ones are skipped.',
  'sandbox.network': '`false` (bwrap): the round gets a network namespace of its own with only its own loopback — no API, and no service listening on the host\'s 127.0.0.1 either, so for agents that work offline.',
  'agent.command': 'The agent CLI and its fixed arguments. Must be an array; a string is an error, never split into characters.',
  'agent.prompt_arg_template': 'Arguments appended after `command`. With argv delivery exactly the elements holding `{prompt}` receive the prompt; with stdin delivery `{prompt}` is an error.',
  'agent.name': 'The agent\'s name in events and usage records; defaults to `command[0]`.',
  'agent.env': 'Variables for the agent, set over the inherited environment (numbers and booleans become strings). Values of 8 characters or more are masked in events, status and the round context.',
  'agent.prompt_delivery': '`stdin`: the prompt is written to the agent\'s stdin, which is then closed, so it never shows in the process list. `argv`: it is substituted into `prompt_arg_template`.',
  'agent.version_timeout_s': 'How long `<command> --version` may take (in `doctor` and before every round) before its whole process tree is killed and the probe reported as timed out.',
  'runtime.work_dir': 'The git work tree the agent works in. `{project}` is removed and `~` expanded.',
  'runtime.log_dir': 'Events, status, round logs, the lock and halt.json. Created with mode 0700.',
  'runtime.project': 'The project name, used for `{project}` and in unit names; defaults to the basename of work_dir.',
  'runtime.round_timeout_s': 'Hard wall-clock limit of a round. At expiry the whole agent tree is stopped: TERM, `kill_grace_s`, KILL. Output does not extend it.',
  'runtime.restart_delay_s': 'Seconds `serve` waits between rounds.',
  'runtime.disable_pre_round_hooks': 'Accepted so upstream files load; no effect: agent-runner has no plugin hooks. Setting it prints a warning naming it (at load and in `doctor`).',
  'runtime.round_log_retention': 'How many round logs (`rounds/R<N>-*.log`) to keep; older ones are deleted after each round.',
  'runtime.narrative_file': 'Accepted so upstream files load; no effect: only upstream\'s http page read it. Setting it prints a warning naming it (at load and in `doctor`).',
  'runtime.transient_error_action': 'After a usage-limit or network failure: `back_off` waits (until the reported reset, or exponentially), `skip` starts the next round after `restart_delay_s`, `stop` halts. Auth failures follow `auth_failure_halt_after`.',
  'runtime.max_rounds': 'A durable budget: `serve` halts (exit 82) once this many rounds have run. Unset: unbounded.',
  'runtime.stop_file': '`serve` halts (exit 84) before the next round while this file exists.',
  'runtime.substrate_fingerprint_paths': 'Accepted so upstream files load; no effect in agent-runner. Setting it prints a warning naming it (at load and in `doctor`).',
  'runtime.fresh_eyes_every_n': 'Accepted so upstream files load; no effect in agent-runner. Setting it prints a warning naming it (at load and in `doctor`).',
  'runtime.dry_run': 'Accepted so upstream files load; no effect: upstream passed it to plugins only, and agent-runner has none. Setting it prints a warning naming it (at load and in `doctor`).',
  'runtime.max_grace_after_result_s': 'After the agent prints its final result, allow this long to exit; then stop it unless a child is still working (exit 12). 0: off.',
  'runtime.grace_kill_ignore_patterns': 'Command-line patterns of children that never hold a round open after its result (for example a shell-snapshot helper).',
  'runtime.kill_grace_s': 'Seconds between TERM and KILL whenever an agent tree is stopped.',
  'runtime.idle_timeout_s': 'Stop the round after this long without any output (exit 11). 0: off.',
  'runtime.round_log_max_bytes': 'Cap of one round log. Past it the middle is elided and head and tail are kept.',
  'runtime.stop_drain_s': 'On SIGTERM, how long `serve` lets the current round finish before interrupting it. A second SIGTERM interrupts at once.',
  'runtime.crash_loop_threshold': 'Halt `serve` (exit 80) after this many consecutive fast failing rounds.',
  'runtime.crash_loop_fast_s': 'A failing round shorter than this counts toward the crash loop. Timeouts never do.',
  'runtime.auth_failure_halt_after': 'Halt `serve` (exit 81) after this many consecutive rounds that failed to authenticate.',
  'quota.pause_above': 'When a clean round reports this fraction of a rate-limit window spent (claude `rate_limit_event` utilization), `serve` waits until the window resets (`quota_pause`, wait reason `quota`) instead of running into the limit. 1 turns it off.',
  'quota.pause_on_warning': 'When a clean round reports `allowed_warning` (close to the limit), `serve` waits until the window resets, whatever the utilization.',
  'quota.reserve': 'A daily window in which `serve` starts no round, so the quota is left to the human: `{ from = "09:00", to = "18:00", time_zone = "Europe/Berlin" }`. Times are wall-clock `HH:MM` in the IANA `time_zone` (default: the host\'s zone), so DST days come out right; `from` later than `to` crosses midnight (`{ from = "22:00", to = "06:00" }`). Inside it `serve` emits `quota_reserve_wait` and waits (wait reason `reserve`) until `to`; a stop request ends the wait. Unset: no window.',
  'quota.reserve.from': 'When the reserve window opens: `HH:MM`, wall-clock time in `time_zone`.',
  'quota.reserve.to': 'When it closes: `HH:MM` in `time_zone`, different from `from`; earlier than `from` crosses midnight.',
  'quota.reserve.time_zone': 'An IANA time zone (`Europe/Berlin`, `America/New_York`, `UTC`). Default: the host\'s zone.',
  'quota.share': 'Supervisors of this user spending one agent account share one quota state file (`$XDG_STATE_HOME/agent-runner/quota/<account>.json`, written under a lock): when one project is refused for its quota (a usage limit with a reset time) or pauses for its window, every other project of the account waits for the same reset (`quota_shared_pause`, wait reason `shared_quota`). The account is `quota.account` when set, else claude\'s or codex\'s login file (its path, hashed); other agents share only with `quota.account`. `false`: this project neither publishes nor honours pauses.',
  'quota.account': 'Names the account this project spends, for `quota.share`: projects with the same name share one quota state, whatever their agent CLI. Unset: claude and codex share by login file; other agents do not share.',
  'runtime.max_idle_rounds': '**New.** Halt `serve` (exit 88, `no_progress_halt`) after this many rounds in a row that ended clean but changed nothing (verdict `no_op`: HEAD did not move, no file changed). Unset: never.',
  'runtime.auth_contention_halt_after': 'Rounds in a row that lost a shared login\'s token refresh to another process (codex `refresh_token_reused`) before `serve` halts (exit 81). Each one waits with a back-off first: the login itself is fine.',
  'runtime.backoff_max_s': 'Upper bound of any exponential back-off wait.',
  'runtime.usage_limit_buffer_s': 'Seconds added to a reported usage-limit reset time before the next round.',
  'runtime.usage_limit_jitter_s': 'Up to this many random seconds added as well, so supervisors sharing an account do not start together.',
  'runtime.usage_limit_max_wait_s': 'Longest wait for a usage-limit reset; a later reported reset is clamped (and the clamp recorded).',
  'runtime.max_wall_s': 'A durable budget of wall-clock seconds for `serve`; halts with exit 82 when spent.',
  'runtime.max_cost_usd': 'A durable budget of the rounds\' reported `total_cost_usd`; halts with exit 82 when spent.',
  'runtime.done_sentinel': 'The file the agent writes to say the work is finished: `serve` archives it and halts (exit 83). Relative to log_dir.',
  'prompt.file': 'The prompt file. Exactly one of `file` and `files`.',
  'prompt.files': 'Prompt files joined with `concat_separator`. Exactly one of `file` and `files`.',
  'prompt.inject_context': 'Give the agent the round context (round number, phase, previous round, preserved dirty work).',
  'prompt.context_injection_mode': '`prepend`: a fenced `round-context` JSON block before the prompt. `file`: only `<log_dir>/round-context.json`. `none`: neither.',
  'prompt.concat_separator': 'Text between the bodies of `prompt.files`.',
  'prompt.strip_yaml_frontmatter': 'Remove a leading `---` YAML block from the first prompt file.',
  'prompt.min_bytes': 'The startup check refuses an assembled prompt shorter than this (exit 78).',
  'vcs.stash_idempotency_s': 'A snapshot of the same round and the same tree within this many seconds is reused, not duplicated.',
  'vcs.dirty_action': 'What a round changed and left uncommitted: `stash` preserves the tree under `refs/agent-runner/orphans/R<N>` and puts those paths back to HEAD; `auto_commit` commits those paths; `ignore` only records. Uncommitted work from before the round is always kept under `R<N>-before` and left in place ([round.md](round.md)).',
  'vcs.dirty_action_on_failure': 'The same choice after a failed, timed-out or interrupted round; defaults to `dirty_action`.',
  'monitor.auth_fail_patterns': 'Patterns (case-insensitive) that mark an auth failure in the output of an agent without structured output.',
  'monitor.auth_fail_hint': 'The fix to show when authentication fails, for example how to log in again.',
  'monitor.auto_stop_on': 'Detectors whose alert stops the service.',
  'monitor.remote_failure_tolerance_s': 'How long a remote host may be unreachable before the monitor reports it. 0: at once.',
  'monitor.anomaly_repetitive_window': 'A stuck tool loop is looked for in every run of this many consecutive tool calls of the agent\'s stream-json output; found, the round emits `anomaly_repetitive_tool` and `anomaly_repetitive_active` fires. 0 (this or the threshold): off.',
  'monitor.anomaly_repetitive_threshold': 'How many times one tool on one target (its `file_path`, `path`, `pattern` or `command`) must occur within the window to count as a stuck loop, e.g. 8 with a window of 10. 0: off.',
  'monitor.round_progress_interval_s': 'Emit `round_progress` every this many seconds while an agent runs. 0: off.',
  'monitor.supervisor_stale_threshold_s': 'Alert when the supervisor has written nothing for this long. Unset: 1.5 × round_timeout_s. 0: off.',
  'monitor.host_health': 'Host thresholds, below.',
  'monitor.network_fail_patterns': 'Patterns (case-insensitive) that mark a network failure in the output of an agent without structured output.',
  'monitor.interval_s': 'Seconds between monitor polls.',
  'monitor.window': 'How many recent rounds the rate detectors (`oauth_fail`, `network_fail`, `timeout_rate`) look at.',
  'monitor.rate_threshold': 'The fraction of the window that must match before a rate detector fires.',
  'monitor.orphan_chain_threshold': 'Consecutive rounds leaving dirty work before `orphan_chain` fires.',
  'monitor.no_progress_rounds': 'Rounds in a row with the verdict `no_op` (ended clean, changed nothing) before `no_progress` fires; 0 disables it.',
  'monitor.smoke_fail_rate': 'Fraction of the window\'s start attempts that must fail a startup check before `smoke_fail_rate` fires.',
  'monitor.hung_factor': '`hung` fires once a round has run longer than its timeout × this factor + `kill_grace_s`.',
  'monitor.remote_poll_timeout_s': 'How long one remote poll (the probe over ssh) may take before it counts as a blip.',
  'monitor.host': 'The ssh alias `monitor` watches when `--host` is not given (for the monitor unit of a remote project).',
  'monitor.remote_config': 'The project\'s config path on the remote host (default `agent-runner.toml` in the remote login directory).',
  'monitor.hosts': 'Several ssh aliases `monitor` watches when `--host` is not given, e.g. `["pi", "build-01"]`: every project registered on each (`agent-runner ls` there), one connection per host.',
  'monitor.remote_cmd': 'How to run agent-runner on the remote host (default `agent-runner`), e.g. `node /opt/agent-runner/dist/bin/main.js`.',
  'monitor.heartbeat_url': 'A dead man\'s switch (healthchecks.io style): after every monitor cycle a POST to this URL, or to `<url>/fail` while a critical alert fires or the host cannot be polled. If the host dies with its monitor, the pings stop and the service outside alerts you. HTTPS, or HTTP to loopback.',
  'monitor.heartbeat_url_env': 'The same URL from this environment variable (it is a secret: whoever has it can ping); redacted everywhere.',
  'monitor.listen': 'Where `monitor` serves `/metrics` and `/healthz` for Prometheus when `--listen` is not given, so the monitor unit of `install --monitor` exports them ([fleet.md](fleet.md)). Loopback unless Prometheus runs elsewhere.',
  'monitor.digest_at': 'Local time of day (`"HH:MM"`) of the daily digest notification (kind `digest`: rounds by outcome, cost, commits, halts, what fires now over the last 24 h), sent by a monitor for each project it watches (with `--host`, computed on that host: [notifications.md](notifications.md)). Unset: no digest.',
  'monitor.host_health.mem_avail_min_mb': '`mem_pressure` fires below this much available memory.',
  'monitor.host_health.disk_warning_pct': '`disk_warning` fires at this use of the work_dir or log_dir filesystem. Must be below `disk_critical_pct`.',
  'monitor.host_health.disk_critical_pct': '`disk_critical` fires at this use, and the startup check refuses to start a round.',
  'runtime.notify_flush_s': 'How long `serve`, exiting (a halt, a stop), may spend delivering the notifications still queued. What is left stays in the outbox for the next `serve`, `monitor` or `notify flush`.',
  'notify.name': 'The channel\'s name, unique: in events (`notify_sent.channel`), the outbox and `notify test --channel`.',
  'notify.type': '`webhook`: an HTTPS POST (plain HTTP only to loopback). `command`: an argv, run without a shell, with the notification as JSON on stdin and as `AGENT_RUNNER_*` variables.',
  'notify.min_severity': 'Only notifications at least this severe: `info` (everything), `warning`, `critical`.',
  'notify.events': 'Only these kinds: `alert_firing`, `alert_resolved`, `halt`, `usage_limit_wait`, `usage_limit_end`, `budget_exhausted`, `serve_exit`, `digest`. Unset: all. `notify test` and folded bursts always pass.',
  'notify.url': 'webhook: the URL, in the config file itself. Prefer `url_env` for URLs that are secrets (Slack, Discord, Mattermost).',
  'notify.url_env': 'webhook: the name of the variable holding the URL, read from `env_file` or the environment (e.g. a systemd `EnvironmentFile=`). Its value is redacted everywhere.',
  'notify.format': 'webhook body: `json` (the notification as it is), `slack` and `mattermost` (`{"text": …}`), `discord` (`{"content": …}`), `ntfy` (JSON publishing: the URL is the topic URL), `telegram` (`sendMessage` with `chat_id`).',
  'notify.chat_id': 'telegram: the chat to post to.',
  'notify.bot_token_env': 'telegram: the variable holding the bot token; the URL becomes `https://api.telegram.org/bot<token>/sendMessage`. Redacted everywhere.',
  'notify.command': 'command: the argv, e.g. `["/usr/local/bin/page-me", "--team", "ops"]`. Exit 0 is delivered; anything else is retried.',
  'notify.timeout_s': 'How long one attempt may take: a webhook\'s answer, or a command, whose whole process tree is killed past it.',
  'notify.env_file': '`NAME=value` lines (systemd `EnvironmentFile=` syntax) holding this channel\'s secrets; they win over the environment, are given to a command channel, and are redacted everywhere. `~` is expanded.',
  'notify.rate_limit': 'At most this many messages per `rate_window_s`; a larger burst is folded into one message listing every notification.',
  'notify.rate_window_s': 'The window of `rate_limit`, in seconds.',
  'notify.retry_for_s': 'A failing notification is retried with exponential back-off and jitter (1–2 s, 2–4 s … up to 15–30 min between attempts) for this long after it was queued, then given up (`notify_gave_up`).',
  'phases.<name>.round_timeout_s': 'This phase\'s round timeout.',
  'phases.<name>.disable_pre_round_hooks': 'Accepted so upstream files load; no effect: agent-runner has no plugin hooks. Setting it prints a warning naming it (at load and in `doctor`).',
  'phases.<name>.prompt': 'This phase\'s prompt, instead of `[prompt]`.',
  'phases.<name>.prompt.file': 'This phase\'s prompt file. Exactly one of `file` and `files`.',
  'phases.<name>.prompt.files': 'This phase\'s prompt files.',
};

function unwrap(s) {
  let optional = false;
  let def;
  while (s.type === 'optional' || s.type === 'nullish') {
    optional = true;
    def = typeof s.default === 'function' ? s.default() : s.default;
    s = s.wrapped;
  }
  return { s, optional, def };
}

function typeName(s) {
  switch (s.type) {
    case 'number':
      return s.pipe?.some((a) => a.type === 'integer') ? 'integer' : 'number';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'picklist':
      return 'string';
    case 'array':
      return `array of ${typeName(unwrap(s.item).s)}s`;
    case 'record':
    case 'object':
      return 'table';
    case 'union':
      return s.options.map(typeName).join(' or ');
    default:
      return s.type;
  }
}

/** The schema's own "expected …" text: its most specific validation message. */
function accepted(s) {
  const messages = [s.message, ...(s.pipe ?? []).slice(1).map((a) => a.message)].filter((m) => typeof m === 'function');
  const last = messages.at(-1);
  const text = last ? String(last({ input: undefined })) : '';
  const m = /^expected (.*), got nothing$/.exec(text);
  return m ? m[1] : typeName(s);
}

function tomlValue(v) {
  if (v === undefined) return 'unset';
  if (typeof v === 'string') return code(JSON.stringify(v));
  if (Array.isArray(v)) return code(`[${v.map((x) => JSON.stringify(x)).join(', ')}]`);
  if (v && typeof v === 'object') return Object.keys(v).length ? code(JSON.stringify(v)) : code('{}');
  return code(String(v));
}

function fieldRows(entries, prefix, seen, base = prefix) {
  const rows = [];
  for (const [key, raw] of Object.entries(entries)) {
    const path = `${prefix}.${key}`;
    const { s, optional, def } = unwrap(raw);
    seen.add(path);
    if (s.type === 'object' && path !== 'monitor.host_health') {
      // A nested table other than host_health (which gets its own section): document its keys inline.
      rows.push(row(path, base, s, optional, undefined));
      rows.push(...fieldRows(s.entries, path, seen, base));
      continue;
    }
    rows.push(row(path, base, s, optional, s.type === 'object' ? undefined : def));
  }
  return rows;
}

function row(path, base, s, optional, def) {
  const isNew = !UPSTREAM_KEYS.has(path);
  const meaning = MEANING[path] ?? '';
  return [code(path.slice(base.length + 1)), typeName(s), optional ? tomlValue(def) : '**required**', accepted(s), (isNew ? '**New.** ' : '') + meaning];
}

function configSection() {
  const seen = new Set();
  const out = [];
  const head = ['Key', 'Type', 'Default', 'Accepted', 'Meaning'];
  const top = ConfigSchema.entries;
  for (const section of ['agent', 'runtime', 'prompt', 'vcs', 'monitor', 'limits', 'sandbox', 'quota']) {
    const { s } = unwrap(top[section]);
    const entries = { ...s.entries };
    if (section === 'monitor') delete entries.host_health;
    out.push(`### \`[${section}]\``, '', table(head, fieldRows(entries, section, seen)), '');
    if (section === 'monitor') {
      seen.add('monitor.host_health');
      const hh = unwrap(s.entries.host_health).s;
      out.push('### `[monitor.host_health]`', '', table(head, fieldRows(hh.entries, 'monitor.host_health', seen)), '');
    }
  }
  const notify = unwrap(top.notify).s.item;
  out.push(
    '### `[[notify]]`',
    '',
    'Each `[[notify]]` table is a notification channel ([notifications.md](notifications.md)).',
    '',
    table(head, fieldRows(notify.entries, 'notify', seen)),
    '',
  );
  seen.add('phases.list');
  out.push(
    '### `[phases]` and `[phases.<name>]`',
    '',
    table(head, [[code('list'), 'array of strings', 'unset', 'an array of phase names', 'The phases, run in rotation: round N runs phase `(N - 1) mod len(list)`. Every `[phases.<name>]` table must be named here.']]),
    '',
    'Each `[phases.<name>]` table may set:',
    '',
    table(head, fieldRows(PhaseSchema.entries, 'phases.<name>', seen)),
    '',
    '### `[plugins]`',
    '',
    'Any keys, not validated, and no effect: agent-runner has no plugins. A non-empty `[plugins]` table prints a warning (at load and in `doctor`).',
  );
  return { text: out.join('\n'), seen };
}

function removedKeysSection() {
  return table(['Key', 'What to do'], Object.entries(REMOVED_KEYS).map(([k, hint]) => [code(k), hint.replace(/^removed: /, '')]));
}

// ---------------------------------------------------------------------------------------------
// Defenses, as the catalog computes them for a minimal config on Linux

function defensesSection() {
  const cfg = parseConfig(
    '[agent]\ncommand = ["claude"]\nprompt_arg_template = []\nprompt_delivery = "stdin"\n[prompt]\nfile = "prompt.md"\n',
    '/home/user/project/agent-runner.toml',
  );
  const list = defenses(cfg, { procfs: true, flock: true });
  const value = (v) => (Array.isArray(v) ? (v.length ? v.map(code).join(', ') : '(none)') : typeof v === 'number' ? code(v) : v);
  const rows = list.map((d) => [
    code(d.name) + (d.upstream ? ` (upstream: ${code(d.upstream)})` : ''),
    value(d.value),
    d.current_state + (d.note ? `: ${d.note}` : ''),
    d.codifies,
    `[${d.guarded_by.split('/').at(-1)}](../${d.guarded_by})`,
  ]);
  return `${table(['Defense', 'Value (defaults)', 'State (defaults)', 'Codifies', 'Guarded by'], rows)}\n\n${list.length} defenses.`;
}

function detectorsSection() {
  const names = Object.keys(DETECTOR_INFO);
  if (DETECTORS.length + 1 < names.length) die(`DETECTOR_INFO lists ${names.length} detectors but only ${DETECTORS.length} detector functions exist`, 1);
  const rows = Object.entries(DETECTOR_INFO).map(([name, d]) => [
    code(name),
    d.firesWhen,
    d.resolvesWhen,
    d.severity === 'critical' ? '**critical**' : d.severity,
    d.autoStopByDefault ? 'yes' : 'no',
    d.context.map(code).join(', '),
  ]);
  // A failed remote poll is an alert of its own kind, with the fix on the record (`fix`).
  for (const [name, f] of Object.entries(REMOTE_FAILURES)) rows.push([code(name), `(\`--host\`) ${f.meaning}`, 'a poll succeeds again (or fails for another reason: that alert replaces it)', 'unknown', 'never', ['error', 'exit_code', 'attempt', 'cap_s'].map(code).join(', ')]);
  return table(['detector', 'fires when', 'resolves when', 'severity', 'auto-stop by default', 'context'], rows);
}

async function commandsSection() {
  const program = await buildProgram([]);
  const parts = [];
  const globalOpts = program.options.map((o) => `\`${o.flags}\``).join(', ');
  parts.push(`Global options (before or after the verb): ${globalOpts}.`);
  // A verb with sub-verbs (`notify test`) documents each of them.
  const verbs = program.commands.flatMap((c) => (c.commands.length ? c.commands.filter((s) => s.name() !== 'help').map((s) => [`${c.name()} ${s.name()}`, s]) : [[c.name(), c]]));
  for (const [name, c] of verbs) {
    if (name === 'help') continue;
    const opts = c.options.filter((o) => !['--config', '--json'].includes(o.long));
    parts.push(`### \`${name}\`\n\n${c.description()}\n`);
    if (opts.length) parts.push(table(['option', 'meaning', 'default'], opts.map((o) => [code(o.flags), o.description, o.defaultValue === undefined ? '' : code(JSON.stringify(o.defaultValue))])));
    else parts.push('No options beyond `--config` and `--json`.');
  }
  return parts.join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// Halts (the policy's halt table)

function haltsSection() {
  return table(
    ['reason', 'when', 'exit', 'event'],
    Object.entries(HALTS).map(([reason, h]) => [code(reason), h.summary, String(h.exitCode), h.events.length ? h.events.map(code).join(', ') : '—']),
  );
}

// ---------------------------------------------------------------------------------------------
// docs/schemas/events.schema.json: one event line, from the registry (kinds, fields) and the
// payload types (src/events/payloads.ts, read with the TypeScript checker), so it cannot drift.

async function eventsSchema() {
  const ts = (await import('typescript')).default;
  const file = join(ROOT, 'src/events/payloads.ts');
  // Only the payload file and the ES5 lib: no @types, no checking of the rest (this runs on every --check).
  const program = ts.createProgram([file], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, types: [], lib: ['lib.es5.d.ts'], skipLibCheck: true, noResolve: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const decl = source.statements.find((n) => ts.isInterfaceDeclaration(n) && n.name.text === 'EventPayloads');
  if (!decl) die('src/events/payloads.ts has no interface EventPayloads', 1);
  const payloads = checker.getTypeAtLocation(decl);
  const schemaOf = (t) => {
    if (t.isUnion()) {
      const parts = t.types.filter((u) => !(u.flags & ts.TypeFlags.Undefined));
      if (parts.every((u) => u.flags & ts.TypeFlags.BooleanLiteral)) return { type: 'boolean' };
      if (parts.every((u) => u.isStringLiteral())) return { enum: parts.map((u) => u.value) };
      if (parts.every((u) => u.isStringLiteral() || u.flags & ts.TypeFlags.Null)) return { enum: parts.map((u) => (u.isStringLiteral() ? u.value : null)) };
      const bools = parts.filter((u) => u.flags & ts.TypeFlags.BooleanLiteral);
      const rest = parts.filter((u) => !(u.flags & ts.TypeFlags.BooleanLiteral)).map(schemaOf);
      const all = [...(bools.length ? [{ type: 'boolean' }] : []), ...rest];
      if (all.length === 1) return all[0];
      if (all.every((x) => typeof x.type === 'string' && Object.keys(x).length === 1)) return { type: [...new Set(all.map((x) => x.type))] };
      return { anyOf: all };
    }
    if (t.flags & ts.TypeFlags.Null) return { type: 'null' };
    if (t.flags & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral)) return t.isStringLiteral() ? { const: t.value } : { type: 'string' };
    if (t.flags & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) return { type: 'number' };
    if (t.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return { type: 'boolean' };
    if (t.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) return {};
    if (checker.isArrayType(t)) return { type: 'array', items: schemaOf(checker.getTypeArguments(t)[0]) };
    return { type: 'object' };
  };
  const kinds = Object.keys(EVENT_KINDS);
  const defs = {};
  for (const kind of kinds) {
    const prop = payloads.getProperty(kind);
    if (!prop) die(`event kind ${kind} has no payload type in src/events/payloads.ts`, 1);
    const shape = checker.getTypeOfSymbolAtLocation(prop, decl);
    const properties = { ts: { type: 'string', format: 'date-time' }, event: { const: kind } };
    for (const f of shape.getProperties()) properties[f.name] = schemaOf(checker.getTypeOfSymbolAtLocation(f, decl));
    defs[kind] = {
      type: 'object',
      description: EVENT_KINDS[kind].description,
      required: ['ts', 'event'],
      properties,
      additionalProperties: false,
    };
  }
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://agent-runner.dev/schemas/events.schema.json',
    title: 'agent-runner event line',
    description:
      'One line of events-YYYY-MM.jsonl (and of `agent-runner events`, `monitor --mode events`, `monitor --mode narrate --json`). Generated by scripts/gen-docs.mjs from the event registry (src/events/kinds.ts) and the payload types (src/events/payloads.ts). Payloads only ever gain fields; history written by older versions may lack some, so only ts and event are required.',
    type: 'object',
    required: ['ts', 'event'],
    properties: { ts: { type: 'string', format: 'date-time' }, event: { enum: kinds } },
    allOf: kinds.map((k) => ({ if: { type: 'object', properties: { event: { const: k } } }, then: { $ref: `#/$defs/${k}` } })),
    $defs: defs,
  };
  return JSON.stringify(schema, null, 2) + '\n';
}

// ---------------------------------------------------------------------------------------------

const config = configSection();
const unknownMeanings = Object.keys(MEANING).filter((k) => !config.seen.has(k));
const missingMeanings = [...config.seen].filter((k) => !MEANING[k] && k !== 'phases.list');
if (missingMeanings.length) die(`config fields with no meaning in scripts/gen-docs.mjs: ${missingMeanings.join(', ')}`, 1);
if (unknownMeanings.length) die(`meanings in scripts/gen-docs.mjs for fields the schema does not have: ${unknownMeanings.join(', ')}`, 1);

const SECTIONS = {
  'exit-codes.md': { 'exit-codes': exitCodesSection() },
  'events.md': { 'event-kinds': eventsSection() },
  'configuration.md': { 'config-reference': config.text, 'removed-keys': removedKeysSection() },
  'defenses.md': { defenses: defensesSection() },
  'witness.md': { detectors: detectorsSection() },
  'service.md': { halts: haltsSection() },
  'commands.md': { commands: await commandsSection() },
};

let stale = 0;
for (const [file, sections] of Object.entries(SECTIONS)) {
  const path = join(DOCS, file);
  if (!existsSync(path)) die(`${path} does not exist`);
  const before = readFileSync(path, 'utf8');
  let after = before;
  for (const [name, body] of Object.entries(sections)) {
    const re = new RegExp(`(<!-- generated:${name} -->\\n)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    if (!re.test(after)) die(`${file} has no <!-- generated:${name} --> … <!-- /generated:${name} --> section`);
    after = after.replace(re, (_m, open, close) => `${open}${body}\n${close}`);
  }
  if (after === before) continue;
  stale++;
  if (check) process.stderr.write(`gen-docs: ${relative(ROOT, path)} is stale; run ./build.sh docs\n`);
  else {
    writeFileSync(path, after);
    process.stdout.write(`gen-docs: wrote ${relative(ROOT, path)}\n`);
  }
}
// Whole generated files.
const WHOLE = { 'schemas/events.schema.json': await eventsSchema() };
for (const [file, text] of Object.entries(WHOLE)) {
  const path = join(DOCS, file);
  if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
  stale++;
  if (check) process.stderr.write(`gen-docs: ${relative(ROOT, path)} is stale; run ./build.sh docs\n`);
  else {
    writeFileSync(path, text);
    process.stdout.write(`gen-docs: wrote ${relative(ROOT, path)}\n`);
  }
}
if (check && stale) process.exit(1);
