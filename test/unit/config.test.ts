import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatKeyPath, parseConfig, promptFilesFor, timeoutFor } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { EXIT } from '../../src/exit-codes.js';

const FILE = '/srv/cfg/weird-name.cfg';

/** Lines 1-5 of every case; a case's own lines start at line 6. */
const BASE = ['[agent]', 'command = ["claude"]', 'prompt_arg_template = ["{prompt}"]', '[prompt]', 'file = "p.md"'];
const withBase = (...lines: string[]) => [...BASE, ...lines].join('\n') + '\n';
const doc = (...lines: string[]) => lines.join('\n') + '\n';

function configError(source: string): ConfigError {
  try {
    parseConfig(source, FILE);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw new Error(`expected a ConfigError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a ConfigError, but the config was accepted');
}

interface Case {
  name: string;
  source: string;
  key: string | undefined;
  line: number | undefined;
  /** Text the detail must contain: what was expected (and, where useful, what was found). */
  expected: string | RegExp;
}

const CASES: Case[] = [
  // ---- unknown keys, with suggestions ----
  { name: 'unknown top-level table', source: withBase('[runtim]', 'work_dir = "."'), key: 'runtim', line: 6, expected: 'unknown key (did you mean "runtime"?)' },
  { name: 'unknown key in [runtime]', source: withBase('[runtime]', 'round_timout_s = 5'), key: 'runtime.round_timout_s', line: 7, expected: 'did you mean "round_timeout_s"?' },
  { name: 'unknown key in [agent]', source: doc('[agent]', 'comand = ["x"]', 'command = ["claude"]', 'prompt_arg_template = ["{prompt}"]', '[prompt]', 'file = "p.md"'), key: 'agent.comand', line: 2, expected: 'did you mean "command"?' },
  { name: 'unknown nested table', source: withBase('[monitor.host_helth]', 'mem_avail_min_mb = 5'), key: 'monitor.host_helth', line: 6, expected: 'did you mean "host_health"?' },
  { name: 'unknown key with no close match lists the accepted keys', source: withBase('[vcs]', 'frobnicate = 1'), key: 'vcs.frobnicate', line: 7, expected: 'unknown key; [vcs] accepts stash_idempotency_s, dirty_action, dirty_action_on_failure' },
  { name: 'a dotted key after [prompt] lands in [prompt]', source: withBase('runtime.round_timeout_s = 5'), key: 'prompt.runtime', line: 6, expected: 'unknown key; [prompt] accepts file, files' },

  // ---- keys upstream removed: migration hints ----
  { name: 'removed runtime.round_timeout_per_phase', source: withBase('[runtime]', 'round_timeout_per_phase = { a = 5 }'), key: 'runtime.round_timeout_per_phase', line: 7, expected: 'removed: use [phases.<name>] round_timeout_s' },
  { name: 'removed runtime.rate_limit_action', source: withBase('[runtime]', 'rate_limit_action = "stop"'), key: 'runtime.rate_limit_action', line: 7, expected: 'removed: use runtime.transient_error_action' },
  { name: 'removed vcs.orphan_action', source: withBase('[vcs]', 'orphan_action = "stash"'), key: 'vcs.orphan_action', line: 7, expected: 'removed: use vcs.dirty_action' },

  // ---- wrong types ----
  { name: 'a string where an integer is expected', source: withBase('[runtime]', 'round_timeout_s = "1800"'), key: 'runtime.round_timeout_s', line: 7, expected: 'expected an integer >= 1, got the string "1800"' },
  { name: 'a boolean where an integer is expected', source: withBase('[runtime]', 'round_timeout_s = true'), key: 'runtime.round_timeout_s', line: 7, expected: 'expected an integer >= 1, got boolean true' },
  { name: 'a float where an integer is expected', source: withBase('[runtime]', 'restart_delay_s = 1.5'), key: 'runtime.restart_delay_s', line: 7, expected: 'expected an integer >= 0, got number 1.5' },
  { name: 'an integer where a boolean is expected', source: withBase('[runtime]', 'dry_run = 1'), key: 'runtime.dry_run', line: 7, expected: 'expected true or false, got number 1' },
  { name: 'inject_context = "false" (a string) is rejected, not read as true', source: withBase('inject_context = "false"'), key: 'prompt.inject_context', line: 6, expected: 'expected true or false, got the string "false"' },
  { name: 'strip_yaml_frontmatter = 0', source: withBase('strip_yaml_frontmatter = 0'), key: 'prompt.strip_yaml_frontmatter', line: 6, expected: 'expected true or false, got number 0' },
  { name: 'a number where a percentage bool-check applies', source: withBase('[monitor.host_health]', 'disk_warning_pct = true'), key: 'monitor.host_health.disk_warning_pct', line: 7, expected: 'expected a percentage from 0 to 100, got boolean true' },
  { name: 'a TOML date where a path is expected', source: withBase('[runtime]', 'work_dir = 1979-05-27'), key: 'runtime.work_dir', line: 7, expected: 'expected a non-empty string, got the date 1979-05-27' },
  { name: 'command given as a string', source: doc('[agent]', 'command = "claude -p"', 'prompt_arg_template = ["{prompt}"]', '[prompt]', 'file = "p.md"'), key: 'agent.command', line: 2, expected: 'expected an array of strings, e.g. ["claude", "-p"], got the string "claude -p"' },
  { name: 'command with a non-string element', source: doc('[agent]', 'command = ["claude", 5]', 'prompt_arg_template = ["{prompt}"]', '[prompt]', 'file = "p.md"'), key: 'agent.command[1]', line: 2, expected: 'got number 5' },
  { name: 'an empty command', source: doc('[agent]', 'command = []', 'prompt_arg_template = ["{prompt}"]', '[prompt]', 'file = "p.md"'), key: 'agent.command', line: 2, expected: 'expected a non-empty array of strings' },
  { name: 'prompt_arg_template given as a string', source: doc('[agent]', 'command = ["claude"]', 'prompt_arg_template = "{prompt}"', '[prompt]', 'file = "p.md"'), key: 'agent.prompt_arg_template', line: 3, expected: 'expected an array of strings, got the string "{prompt}"' },
  { name: 'an [agent.env] value that is an array', source: withBase('[agent.env]', 'TOKEN = ["a"]'), key: 'agent.env.TOKEN', line: 7, expected: 'expected a string value, got an array' },
  { name: 'a scalar where a table is expected', source: doc('runtime = 5', ...BASE), key: 'runtime', line: 1, expected: 'expected a table [runtime], got number 5' },
  { name: 'an array of tables where a table is expected', source: withBase('[[runtime]]', 'work_dir = "."'), key: 'runtime', line: 6, expected: 'expected a table [runtime], got an array' },
  { name: 'a per-phase prompt given as a string', source: withBase('[phases]', 'list = ["a"]', '[phases.a]', 'prompt = "a.md"'), key: 'phases.a.prompt', line: 9, expected: 'expected a table [phases.a.prompt], got the string "a.md"' },

  // ---- out-of-range numbers ----
  { name: 'round_timeout_s = 0', source: withBase('[runtime]', 'round_timeout_s = 0'), key: 'runtime.round_timeout_s', line: 7, expected: 'expected an integer >= 1, got number 0' },
  { name: 'a negative restart delay', source: withBase('[runtime]', 'restart_delay_s = -1'), key: 'runtime.restart_delay_s', line: 7, expected: 'expected an integer >= 0, got number -1' },
  { name: 'kill_grace_s below its floor', source: withBase('[runtime]', 'kill_grace_s = 0'), key: 'runtime.kill_grace_s', line: 7, expected: 'expected a number of seconds from 0.1 to 600, got number 0' },
  { name: 'round_timeout_s = inf', source: withBase('[runtime]', 'round_timeout_s = inf'), key: 'runtime.round_timeout_s', line: 7, expected: 'got number Infinity' },
  { name: 'disk_critical_pct = 500 (upstream silently disabled auto-stop)', source: withBase('[monitor.host_health]', 'disk_critical_pct = 500'), key: 'monitor.host_health.disk_critical_pct', line: 7, expected: 'expected a percentage from 0 to 100, got number 500' },
  { name: 'disk_warning_pct = nan', source: withBase('[monitor.host_health]', 'disk_warning_pct = nan'), key: 'monitor.host_health.disk_warning_pct', line: 7, expected: 'got number NaN' },
  { name: 'remote_failure_tolerance_s above 3600', source: withBase('[monitor]', 'remote_failure_tolerance_s = 3601'), key: 'monitor.remote_failure_tolerance_s', line: 7, expected: 'expected an integer from 0 to 3600, got number 3601' },
  { name: 'rate_threshold above 1', source: withBase('[monitor]', 'rate_threshold = 1.5'), key: 'monitor.rate_threshold', line: 7, expected: 'expected a fraction from 0 to 1, got number 1.5' },
  { name: 'a per-phase timeout of 0', source: withBase('[phases]', 'list = ["a"]', '[phases.a]', 'round_timeout_s = 0'), key: 'phases.a.round_timeout_s', line: 9, expected: 'expected an integer >= 1, got number 0' },

  // ---- cross-field rules ----
  { name: 'warning above critical', source: withBase('[monitor.host_health]', 'disk_warning_pct = 96', 'disk_critical_pct = 95'), key: 'monitor.host_health.disk_warning_pct', line: 7, expected: 'expected a value below disk_critical_pct (95), got 96' },
  { name: 'warning equal to critical', source: withBase('[monitor.host_health]', 'disk_warning_pct = 90', 'disk_critical_pct = 90'), key: 'monitor.host_health.disk_warning_pct', line: 7, expected: 'expected a value below disk_critical_pct (90), got 90' },
  { name: 'warning above the default critical, in an inline table', source: withBase('[monitor]', 'host_health = { disk_warning_pct = 99 }'), key: 'monitor.host_health.disk_warning_pct', line: 7, expected: 'expected a value below disk_critical_pct (95), got 99' },
  { name: 'stdin delivery with {prompt} in the template', source: doc('[agent]', 'command = ["claude"]', 'prompt_delivery = "stdin"', 'prompt_arg_template = ["-p", "{prompt}"]', '[prompt]', 'file = "p.md"'), key: 'agent.prompt_arg_template', line: 4, expected: 'stdin delivery: remove {prompt} from the template' },
  { name: 'argv delivery without {prompt}', source: doc('[agent]', 'command = ["claude"]', 'prompt_arg_template = ["-p"]', '[prompt]', 'file = "p.md"'), key: 'agent.prompt_arg_template', line: 3, expected: 'argv delivery needs an element containing {prompt}' },
  { name: 'argv delivery with no template at all', source: doc('[agent]', 'command = ["claude"]', '[prompt]', 'file = "p.md"'), key: 'agent.prompt_arg_template', line: 1, expected: 'argv delivery needs an element containing {prompt}' },
  { name: 'prompt.file and prompt.files both set', source: withBase('files = ["a.md", "b.md"]'), key: 'prompt.files', line: 6, expected: 'set either prompt.file or prompt.files, not both' },
  { name: 'neither prompt.file nor prompt.files', source: doc('[agent]', 'command = ["claude"]', 'prompt_arg_template = ["{prompt}"]', '[prompt]', 'inject_context = true'), key: 'prompt.file', line: 4, expected: 'missing required field: set prompt.file or prompt.files' },
  { name: 'no [prompt] table at all', source: doc('[agent]', 'command = ["claude"]', 'prompt_arg_template = ["{prompt}"]'), key: 'prompt.file', line: undefined, expected: 'missing required field: set prompt.file or prompt.files' },
  { name: 'an empty prompt.files', source: doc(...BASE.slice(0, 4), 'files = []'), key: 'prompt.files', line: 5, expected: 'expected a non-empty array of paths' },
  { name: 'a phase with both prompt.file and prompt.files', source: withBase('[phases]', 'list = ["a"]', '[phases.a.prompt]', 'file = "a.md"', 'files = ["b.md"]'), key: 'phases.a.prompt.files', line: 10, expected: 'set either prompt.file or prompt.files, not both' },

  // ---- value sets ----
  { name: 'an unknown detector in auto_stop_on', source: withBase('[monitor]', 'auto_stop_on = ["disk_critical", "oauth_fial"]'), key: 'monitor.auto_stop_on[1]', line: 7, expected: /expected one of "timeout_rate", .*got the string "oauth_fial" \(did you mean "oauth_fail"\?\)$/ },
  { name: 'a made-up detector name, no suggestion', source: withBase('[monitor]', 'auto_stop_on = ["everything"]'), key: 'monitor.auto_stop_on[0]', line: 7, expected: /got the string "everything"$/ },
  { name: 'an unknown prompt_delivery', source: doc('[agent]', 'command = ["claude"]', 'prompt_arg_template = ["{prompt}"]', 'prompt_delivery = "pipe"', '[prompt]', 'file = "p.md"'), key: 'agent.prompt_delivery', line: 4, expected: 'expected one of "argv", "stdin", got the string "pipe"' },
  { name: 'an unknown dirty_action', source: withBase('[vcs]', 'dirty_action = "stahs"'), key: 'vcs.dirty_action', line: 7, expected: 'got the string "stahs" (did you mean "stash"?)' },
  { name: 'an unknown transient_error_action', source: withBase('[runtime]', 'transient_error_action = "retry"'), key: 'runtime.transient_error_action', line: 7, expected: 'expected one of "back_off", "skip", "stop"' },
  { name: 'a project name with a space', source: withBase('[runtime]', 'project = "my proj"'), key: 'runtime.project', line: 7, expected: 'expected a name of letters, digits, ".", "_" or "-"' },

  // ---- regular expressions are compiled at load ----
  { name: 'a grace_kill_ignore_patterns entry that does not compile', source: withBase('[runtime]', 'grace_kill_ignore_patterns = ["ok", "(unclosed"]'), key: 'runtime.grace_kill_ignore_patterns[1]', line: 7, expected: 'expected a valid regular expression, got the string "(unclosed"' },
  { name: 'an auth_fail_patterns entry that does not compile', source: withBase('[monitor]', 'auth_fail_patterns = ["[bad"]'), key: 'monitor.auth_fail_patterns[0]', line: 7, expected: 'expected a valid regular expression' },
  { name: 'a network_fail_patterns entry that is not a string', source: withBase('[monitor]', 'network_fail_patterns = [5]'), key: 'monitor.network_fail_patterns[0]', line: 7, expected: 'expected a regular expression string, got number 5' },

  // ---- phases ----
  { name: '[phases.X] not in phases.list', source: withBase('[phases]', 'list = ["build"]', '[phases.review]', 'round_timeout_s = 60'), key: 'phases.review', line: 8, expected: 'phase "review" is declared but not in phases.list (["build"])' },
  { name: '[phases.X] with no phases.list', source: withBase('[phases.review]', 'round_timeout_s = 60'), key: 'phases.review', line: 6, expected: 'is declared but not in phases.list ([])' },
  { name: 'an unknown per-phase key', source: withBase('[phases]', 'list = ["build"]', '[phases.build]', 'round_timout_s = 60'), key: 'phases.build.round_timout_s', line: 9, expected: 'unknown key (did you mean "round_timeout_s"?)' },
  { name: 'an unknown per-phase key with no suggestion', source: withBase('[phases]', 'list = ["build"]', '[phases.build]', 'model = "opus"'), key: 'phases.build.model', line: 9, expected: 'unknown key; [phases.build] accepts round_timeout_s, disable_pre_round_hooks, prompt' },
  { name: 'an unknown key in a phase prompt table', source: withBase('[phases]', 'list = ["build"]', '[phases.build.prompt]', 'fiels = ["b.md"]'), key: 'phases.build.prompt.fiels', line: 9, expected: 'did you mean "files"?' },
  { name: 'a misspelt phases.list', source: withBase('[phases]', 'lsit = ["a"]'), key: 'phases.lsit', line: 7, expected: 'unknown key (did you mean "list"?)' },
  { name: 'phases.list given as a string', source: withBase('[phases]', 'list = "a"'), key: 'phases.list', line: 7, expected: 'expected an array of phase names' },

  // ---- missing required fields ----
  { name: 'no [agent] table', source: doc('[prompt]', 'file = "p.md"'), key: 'agent', line: undefined, expected: 'missing required table [agent]' },
  { name: 'no agent.command', source: doc('[agent]', 'prompt_arg_template = ["{prompt}"]', '[prompt]', 'file = "p.md"'), key: 'agent.command', line: 1, expected: 'missing required field: expected an array of strings, e.g. ["claude", "-p"]' },

  // ---- TOML syntax: line and column ----
  { name: 'a TOML syntax error', source: withBase('[runtime]', 'round_timeout_s = = 5'), key: undefined, line: 7, expected: /^invalid TOML: .+ \(column 19\)$/ },
  { name: 'an unclosed array', source: doc('[agent]', 'command = ["claude"', '[prompt]'), key: undefined, line: 3, expected: /^invalid TOML: .+ \(column \d+\)$/ },
  { name: 'a key defined twice', source: withBase('[runtime]', 'round_timeout_s = 5', 'round_timeout_s = 6'), key: undefined, line: 8, expected: /^invalid TOML: .*redefine/ },
  { name: 'an integer too large to represent', source: withBase('[runtime]', 'round_timeout_s = 99999999999999999999'), key: undefined, line: 7, expected: /^invalid TOML: .*losslessly/ },

  // ---- [[notify]] channels: the key path names the table by its index, the line is inside that table ----
  { name: 'unknown key in the second [[notify]]', source: withBase('[[notify]]', 'name = "a"', 'type = "command"', 'command = ["x"]', '[[notify]]', 'name = "b"', 'type = "webhook"', 'urll = "https://h/x"'), key: 'notify[1].urll', line: 13, expected: 'unknown key (did you mean "url"?)' },
  { name: '[notify] as a single table', source: withBase('[notify]', 'name = "a"'), key: 'notify', line: 6, expected: 'expected [[notify]] tables (an array of tables), got a table' },
  { name: 'a notify type that does not exist', source: withBase('[[notify]]', 'name = "a"', 'type = "email"'), key: 'notify[0].type', line: 8, expected: 'expected one of "webhook", "command", got the string "email"' },
  { name: 'two channels with one name', source: withBase('[[notify]]', 'name = "a"', 'type = "command"', 'command = ["x"]', '[[notify]]', 'name = "a"', 'type = "command"', 'command = ["y"]'), key: 'notify[1].name', line: 11, expected: 'got "a" twice' },
  { name: 'a command channel without its command', source: withBase('[[notify]]', 'name = "a"', 'type = "command"'), key: 'notify[0].command', line: 6, expected: 'missing required field for type = "command"' },
  { name: 'a webhook without a URL', source: withBase('[[notify]]', 'name = "a"', 'type = "webhook"'), key: 'notify[0].url', line: 6, expected: 'expected url = "https://…" or url_env = "NAME"' },
  { name: 'a plain-HTTP webhook to another host', source: withBase('[[notify]]', 'name = "a"', 'type = "webhook"', 'url = "http://10.1.2.3/hook"'), key: 'notify[0].url', line: 9, expected: 'got a http URL to 10.1.2.3' },
  { name: 'telegram without chat_id', source: withBase('[[notify]]', 'name = "a"', 'type = "webhook"', 'format = "telegram"', 'bot_token_env = "TG_TOKEN"'), key: 'notify[0].chat_id', line: 6, expected: 'missing required field for format = "telegram"' },
  { name: 'a misspelt notification kind', source: withBase('[[notify]]', 'name = "a"', 'type = "command"', 'command = ["x"]', 'events = ["halts"]'), key: 'notify[0].events[0]', line: 10, expected: 'did you mean "halt"?' },
];

describe('parseConfig rejects bad configs with file, key, line and what was expected', () => {
  it.each(CASES)('$name', (c) => {
    const e = configError(c.source);
    expect(e.key).toBe(c.key);
    expect(e.line).toBe(c.line);
    if (typeof c.expected === 'string') expect(e.detail).toContain(c.expected);
    else expect(e.detail).toMatch(c.expected);
    expect(e.file).toBe(FILE);
    expect(e.exitCode).toBe(EXIT.CONFIG);
    expect(e.exitCode).toBe(78);
    // One line, in the documented shape: <file>[:<line>]: [<key>: ]<detail>.
    const where = c.line === undefined ? FILE : `${FILE}:${c.line}`;
    expect(e.message).toBe(c.key ? `${where}: ${c.key}: ${e.detail}` : `${where}: ${e.detail}`);
    expect(e.message).not.toContain('\n');
  });

  it('covers every error class the issue names', () => {
    const names = CASES.map((c) => c.name).join('\n');
    for (const needed of [/unknown key/, /removed/, /a string where an integer/, /a boolean where an integer/, /an integer where a boolean/, /warning above critical/, /unknown detector/, /command given as a string/, /stdin delivery/, /argv delivery/, /both set/, /neither/, /does not compile/, /not in phases.list/, /per-phase key/, /TOML syntax/, /inject_context = "false"/]) {
      expect(names).toMatch(needed);
    }
  });

  it('CRLF line endings report the same line', () => {
    const e = configError(withBase('[runtime]', 'round_timeout_s = 0').replace(/\n/g, '\r\n'));
    expect([e.key, e.line]).toEqual(['runtime.round_timeout_s', 7]);
  });

  it('the key is located in the right table when the same name appears in several', () => {
    const e = configError(withBase('[runtime]', 'round_timeout_s = 60', '[phases]', 'list = ["a"]', '[phases.a]', 'round_timeout_s = -5'));
    expect([e.key, e.line]).toEqual(['phases.a.round_timeout_s', 11]);
  });

  it('reports the first problem only, so the one line is always about one key', () => {
    const e = configError(withBase('[runtime]', 'round_timeout_s = 0', 'restart_delay_s = -1'));
    expect(e.key).toBe('runtime.round_timeout_s');
  });
});

describe('parseConfig accepts what it should', () => {
  it('the upstream HEAD example (claude preset) parses unchanged', () => {
    const upstream = [
      '[agent]',
      'command = ["claude", "--model", "claude-opus-4-7", "--dangerously-skip-permissions",',
      '           "--verbose", "--output-format", "stream-json"]',
      'prompt_arg_template = ["-p"]',
      'prompt_delivery = "stdin"',
      'name = "claude"',
      '[agent.env]',
      'DISABLE_AUTOUPDATER = "1"',
      'CLAUDE_CODE_EFFORT_LEVEL = "xhigh"',
      '[runtime]',
      'work_dir = "."',
      'log_dir = "~/.agent-runner/proj/logs"      # scaffold substitutes {project} at init time',
      'round_timeout_s = 1800',
      'restart_delay_s = 3',
      "grace_kill_ignore_patterns = ['\\.claude/shell-snapshots/snapshot-bash-']",
      '[prompt]',
      'file = "./prompts/main.md"',
      'inject_context = true',
      '[vcs]',
      'dirty_action = "stash"',
      'stash_idempotency_s = 5',
      '[monitor]',
      'auth_fail_hint = "Run `claude /login` on the supervisor host or refresh ANTHROPIC_API_KEY."',
    ].join('\n');
    const cfg = parseConfig(upstream, '/home/u/proj/agent-runner.toml');
    expect(cfg.agent.command).toEqual(['claude', '--model', 'claude-opus-4-7', '--dangerously-skip-permissions', '--verbose', '--output-format', 'stream-json']);
    expect(cfg.agent.prompt_delivery).toBe('stdin');
    expect(cfg.agent.env).toEqual({ DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_EFFORT_LEVEL: 'xhigh' });
    expect(cfg.runtime.grace_kill_ignore_patterns).toEqual(['\\.claude/shell-snapshots/snapshot-bash-']);
    expect(new RegExp(cfg.runtime.grace_kill_ignore_patterns[0]!).test('/home/u/.claude/shell-snapshots/snapshot-bash-1.sh')).toBe(true);
    expect(cfg.paths.workDir).toBe('/home/u/proj');
    expect(cfg.project).toBe('proj');
    expect(cfg.paths.logDir).toBe(join(process.env['HOME'] ?? homedir(), '.agent-runner/proj/logs'));
    expect(cfg.paths.promptFiles).toEqual(['/home/u/proj/prompts/main.md']);
    expect(cfg.vcs).toMatchObject({ dirty_action: 'stash', stash_idempotency_s: 5 });
    expect(cfg.monitor.auth_fail_hint).toMatch(/^Run `claude \/login`/);
  });

  it('fills upstream defaults for everything left out', () => {
    const cfg = parseConfig(withBase(), FILE);
    expect(cfg.runtime).toMatchObject({ round_timeout_s: 1800, restart_delay_s: 3, round_log_retention: 100, transient_error_action: 'back_off', max_grace_after_result_s: 0, dry_run: false });
    expect(cfg.prompt).toMatchObject({ inject_context: true, context_injection_mode: 'prepend', concat_separator: '\n\n', strip_yaml_frontmatter: true });
    expect(cfg.vcs).toMatchObject({ stash_idempotency_s: 5, dirty_action: 'stash' });
    expect(cfg.monitor.auto_stop_on).toEqual(['oauth_fail', 'disk_critical']);
    expect(cfg.monitor.host_health).toEqual({ mem_avail_min_mb: 200, disk_warning_pct: 90, disk_critical_pct: 95 });
    expect(cfg.agent.prompt_delivery).toBe('argv');
  });

  it('[agent.env] values are strings (numbers and booleans are converted, as upstream does)', () => {
    const cfg = parseConfig(withBase('[agent.env]', 'A = 1', 'B = true', 'C = "x"'), FILE);
    expect(cfg.agent.env).toEqual({ A: '1', B: 'true', C: 'x' });
  });

  it('[plugins] is passed through untouched for plugin authors', () => {
    const cfg = parseConfig(withBase('[plugins]', 'disable = ["x"]', '[plugins.mine]', 'depth = 3'), FILE);
    expect(cfg.plugins).toEqual({ disable: ['x'], mine: { depth: 3 } });
  });

  it('phases: list, per-phase timeout and prompt files (resolved against the config directory)', () => {
    const cfg = parseConfig(withBase('[phases]', 'list = ["build", "review"]', '[phases.review]', 'round_timeout_s = 60', 'prompt = { files = ["review.md", "/abs/extra.md"] }'), FILE);
    expect(cfg.phases.list).toEqual(['build', 'review']);
    expect(timeoutFor(cfg, 'review')).toBe(60);
    expect(timeoutFor(cfg, 'build')).toBe(1800);
    expect(promptFilesFor(cfg, 'review')).toEqual(['/srv/cfg/review.md', '/abs/extra.md']);
    expect(promptFilesFor(cfg, 'build')).toEqual(['/srv/cfg/p.md']);
  });

  it('a phase prompt given as prompt.file works too', () => {
    const cfg = parseConfig(withBase('[phases]', 'list = ["a"]', '[phases.a.prompt]', 'file = "a.md"'), FILE);
    expect(promptFilesFor(cfg, 'a')).toEqual(['/srv/cfg/a.md']);
  });

  it('every preset in templates/presets parses', () => {
    const dir = resolve(import.meta.dirname, '../../templates/presets');
    const presets = readdirSync(dir).filter((f) => f.endsWith('.toml'));
    expect(presets.length).toBeGreaterThanOrEqual(5);
    for (const f of presets) {
      const cfg = parseConfig(readFileSync(join(dir, f), 'utf8'), `/home/u/proj/${f}`);
      expect(cfg.agent.command.length, f).toBeGreaterThan(0);
    }
  });

  it('every auto_stop_on detector name is accepted', () => {
    const cfg = parseConfig(withBase('[monitor]', 'auto_stop_on = ["oauth_fail", "disk_critical", "network_fail", "supervisor_stale"]'), FILE);
    expect(cfg.monitor.auto_stop_on).toHaveLength(4);
  });
});

describe('relative paths resolve against the config file, never the working directory', () => {
  it('work_dir, log_dir, prompt files, stop_file and narrative_file', () => {
    const cfg = parseConfig(
      withBase('[runtime]', 'work_dir = ".."', 'log_dir = "../state/{project}"', 'stop_file = "STOP"', 'narrative_file = "notes/n.md"'),
      '/srv/proj/conf/agent.cfg',
    );
    expect(cfg.dir).toBe('/srv/proj/conf');
    expect(cfg.paths.workDir).toBe('/srv/proj');
    expect(cfg.project).toBe('proj');
    expect(cfg.paths.logDir).toBe('/srv/proj/state/proj');
    expect(cfg.paths.promptFiles).toEqual(['/srv/proj/conf/p.md']);
    expect(cfg.paths.stopFile).toBe('/srv/proj/conf/STOP');
    expect(cfg.paths.narrativeFile).toBe('/srv/proj/conf/notes/n.md');
  });

  it('the result does not depend on process.cwd()', () => {
    const src = withBase('[runtime]', 'work_dir = "repo"', 'log_dir = "logs"');
    const before = parseConfig(src, '/srv/x/agent-runner.toml');
    const cwd = process.cwd();
    try {
      process.chdir('/');
      const after = parseConfig(src, '/srv/x/agent-runner.toml');
      expect(after.paths).toEqual(before.paths);
      expect(after.paths.workDir).toBe('/srv/x/repo');
    } finally {
      process.chdir(cwd);
    }
  });

  it('~ expands to $HOME, {project} to the project name, and absolute paths stay as they are', () => {
    const cfg = parseConfig(withBase('[runtime]', 'work_dir = "/work/{project}/myrepo"', 'log_dir = "~/.agent-runner/{project}/logs"', 'done_sentinel = "/tmp/done"'), FILE);
    // {project} in work_dir is removed (it cannot name itself), as upstream does.
    expect(cfg.paths.workDir).toBe('/work/myrepo');
    expect(cfg.project).toBe('myrepo');
    expect(cfg.paths.logDir).toBe(join(process.env['HOME'] ?? homedir(), '.agent-runner/myrepo/logs'));
    expect(cfg.paths.doneSentinel).toBe('/tmp/done');
  });

  it('runtime.project overrides the name derived from work_dir', () => {
    const cfg = parseConfig(withBase('[runtime]', 'project = "alpha"', 'log_dir = "/var/ar/{project}"'), FILE);
    expect(cfg.project).toBe('alpha');
    expect(cfg.paths.logDir).toBe('/var/ar/alpha');
  });

  it('a relative done_sentinel lives in the log dir', () => {
    const cfg = parseConfig(withBase('[runtime]', 'log_dir = "logs"'), FILE);
    expect(cfg.paths.doneSentinel).toBe('/srv/cfg/logs/.agent-done');
  });
});

describe('formatKeyPath', () => {
  it('puts array indexes in brackets', () => {
    expect(formatKeyPath(['monitor', 'auto_stop_on', 1])).toBe('monitor.auto_stop_on[1]');
    expect(formatKeyPath(['agent', 'command'])).toBe('agent.command');
    expect(formatKeyPath([])).toBe('');
  });
});
