import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_AGENT, finish, kinds, LONG_PROMPT, makeProject, readEvents, readJson, runCli, startCli, survivorsOf, waitFor, type Project } from '../helpers/project.js';

/**
 * Every config error, through the real CLI: exit 78 (EX_CONFIG), exactly one line on stderr that
 * names the file, the line when known and the key, and never a stack trace. The config file has a
 * name the CLI has never heard of, and the CLI runs from a directory that is not the config's.
 */

const BASE = ['[agent]', 'command = ["claude"]', 'prompt_arg_template = ["{prompt}"]', '[prompt]', 'file = "p.md"'];
const withBase = (...lines: string[]) => [...BASE, ...lines].join('\n') + '\n';
const doc = (...lines: string[]) => lines.join('\n') + '\n';

interface Case {
  name: string;
  toml: string;
  /** undefined when the error is about the file as a whole. */
  key: string | undefined;
  line: number | undefined;
  expected: string;
}

const CASES: Case[] = [
  { name: 'unknown key', toml: withBase('[runtime]', 'round_timout_s = 5'), key: 'runtime.round_timout_s', line: 7, expected: 'unknown key (did you mean "round_timeout_s"?)' },
  { name: 'removed upstream key', toml: withBase('[vcs]', 'orphan_action = "stash"'), key: 'vcs.orphan_action', line: 7, expected: 'removed: use vcs.dirty_action' },
  { name: 'wrong type', toml: withBase('[runtime]', 'round_timeout_s = "1800"'), key: 'runtime.round_timeout_s', line: 7, expected: 'expected an integer >= 1, got the string "1800"' },
  { name: 'boolean where an integer is expected', toml: withBase('[runtime]', 'max_rounds = true'), key: 'runtime.max_rounds', line: 7, expected: 'expected an integer >= 1, got boolean true' },
  { name: 'integer where a boolean is expected', toml: withBase('[runtime]', 'disable_pre_round_hooks = 0'), key: 'runtime.disable_pre_round_hooks', line: 7, expected: 'expected true or false, got number 0' },
  { name: 'inject_context as a string', toml: withBase('inject_context = "false"'), key: 'prompt.inject_context', line: 6, expected: 'expected true or false, got the string "false"' },
  { name: 'out of range', toml: withBase('[monitor.host_health]', 'disk_critical_pct = 500'), key: 'monitor.host_health.disk_critical_pct', line: 7, expected: 'expected a percentage from 0 to 100, got number 500' },
  { name: 'warning >= critical', toml: withBase('[monitor.host_health]', 'disk_warning_pct = 95', 'disk_critical_pct = 95'), key: 'monitor.host_health.disk_warning_pct', line: 7, expected: 'expected a value below disk_critical_pct (95), got 95' },
  { name: 'unknown detector in auto_stop_on', toml: withBase('[monitor]', 'auto_stop_on = ["oauth_fial"]'), key: 'monitor.auto_stop_on[0]', line: 7, expected: '(did you mean "oauth_fail"?)' },
  { name: 'command given as a string', toml: doc('[agent]', 'command = "claude -p"', 'prompt_arg_template = ["{prompt}"]', '[prompt]', 'file = "p.md"'), key: 'agent.command', line: 2, expected: 'expected an array of strings' },
  { name: 'stdin delivery with {prompt}', toml: doc('[agent]', 'command = ["claude"]', 'prompt_delivery = "stdin"', 'prompt_arg_template = ["{prompt}"]', '[prompt]', 'file = "p.md"'), key: 'agent.prompt_arg_template', line: 4, expected: 'stdin delivery: remove {prompt}' },
  { name: 'argv delivery without {prompt}', toml: doc('[agent]', 'command = ["claude"]', 'prompt_arg_template = ["-p"]', '[prompt]', 'file = "p.md"'), key: 'agent.prompt_arg_template', line: 3, expected: 'argv delivery needs an element containing {prompt}' },
  { name: 'prompt.file and prompt.files', toml: withBase('files = ["a.md"]'), key: 'prompt.files', line: 6, expected: 'set either prompt.file or prompt.files, not both' },
  { name: 'neither prompt.file nor prompt.files', toml: doc('[agent]', 'command = ["claude"]', 'prompt_arg_template = ["{prompt}"]', '[prompt]', 'inject_context = true'), key: 'prompt.file', line: 4, expected: 'missing required field' },
  { name: 'regex that does not compile', toml: withBase('[runtime]', 'grace_kill_ignore_patterns = ["(unclosed"]'), key: 'runtime.grace_kill_ignore_patterns[0]', line: 7, expected: 'expected a valid regular expression' },
  { name: '[phases.X] not in phases.list', toml: withBase('[phases]', 'list = ["build"]', '[phases.review]', 'round_timeout_s = 60'), key: 'phases.review', line: 8, expected: 'not in phases.list' },
  { name: 'unknown per-phase key', toml: withBase('[phases]', 'list = ["build"]', '[phases.build]', 'modle = "x"'), key: 'phases.build.modle', line: 9, expected: 'unknown key' },
  { name: 'array of tables where a table is expected', toml: withBase('[[runtime]]', 'work_dir = "."'), key: 'runtime', line: 6, expected: 'expected a table [runtime], got an array' },
  { name: 'no [agent] table', toml: doc('[prompt]', 'file = "p.md"'), key: 'agent', line: undefined, expected: 'missing required table [agent]' },
  { name: 'TOML syntax error', toml: withBase('[runtime]', 'round_timeout_s = = 5'), key: undefined, line: 7, expected: 'invalid TOML: ' },
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ar-cfgerr-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The documented shape: `agent-runner: <file>[:<line>]: [<key>: ]<detail>`, alone on stderr. */
function expectOneLineError(stderr: string, file: string, line: number | undefined, key: string | undefined, expected: string): void {
  const lines = stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  const prefix = `agent-runner: ${file}${line !== undefined ? `:${line}` : ''}: ${key !== undefined ? `${key}: ` : ''}`;
  expect(lines[0]!.startsWith(prefix), `"${lines[0]}" should start with "${prefix}"`).toBe(true);
  expect(lines[0]!.slice(prefix.length)).toContain(expected);
  // No stack frames, no "internal error".
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('internal error');
}

describe('config errors through the CLI: exit 78, one line, no stack trace', () => {
  it.each(CASES)('$name', async (c) => {
    const sub = mkdtempSync(join(dir, 'case-'));
    const file = join(sub, 'weird-name.cfg');
    writeFileSync(file, c.toml);
    // Run from another directory, naming the file relative to it: --config takes any name and path.
    const r = await runCli(['round', '--config', `${sub.split('/').at(-1)}/weird-name.cfg`], { cwd: dir });
    expect(r.code).toBe(78);
    expectOneLineError(r.stderr, file, c.line, c.key, c.expected);
    expect(r.stdout).toBe('');
  });

  it('a missing config file is a clear one-line error', async () => {
    const file = join(dir, 'no-such.cfg');
    const r = await runCli(['round', '--config', file], { cwd: dir });
    expect(r.code).toBe(78);
    expectOneLineError(r.stderr, file, undefined, undefined, 'config file not found');
  });

  it('a directory given as the config is a clear one-line error', async () => {
    const r = await runCli(['round', '--config', dir], { cwd: '/' });
    expect(r.code).toBe(78);
    expectOneLineError(r.stderr, dir, undefined, undefined, 'is a directory; expected a TOML file');
  });

  it('--config before the verb works the same', async () => {
    const file = join(dir, 'before-verb.conf');
    writeFileSync(file, withBase('[runtime]', 'round_timeout_s = 0'));
    const r = await runCli(['--config', file, 'round'], { cwd: '/' });
    expect(r.code).toBe(78);
    expectOneLineError(r.stderr, file, 7, 'runtime.round_timeout_s', 'expected an integer >= 1, got number 0');
  });

  it('a config error writes no state: no log dir, no events', async () => {
    const sub = mkdtempSync(join(dir, 'nostate-'));
    const file = join(sub, 'x.cfg');
    writeFileSync(file, withBase('[runtime]', 'log_dir = "logs"', 'round_timeout_s = -1'));
    const r = await runCli(['round', '--config', file], { cwd: sub });
    expect(r.code).toBe(78);
    expect(existsSync(join(sub, 'logs'))).toBe(false);
  });
});

describe('config values reach the round', () => {
  const projects: Project[] = [];
  afterEach(() => {
    for (const p of projects.splice(0)) p.cleanup();
  });

  /** A config outside the work tree's root, every path in it relative to the config file. */
  function relativeConfig(p: Project, mode: string, env: Record<string, string> = {}): string {
    const confDir = join(p.dir, '.agent-runner', 'conf');
    mkdirSync(confDir, { recursive: true });
    const file = join(confDir, 'weird-name.cfg');
    const agentEnv = { FAKE_MODE: mode, FAKE_PIDS: p.pidsFile, FAKE_TEST_ID: p.testId, ...env };
    writeFileSync(
      file,
      doc(
        '[agent]',
        `command = ["bash", ${JSON.stringify(FAKE_AGENT)}]`,
        'prompt_arg_template = []',
        'prompt_delivery = "stdin"',
        '[agent.env]',
        ...Object.entries(agentEnv).map(([k, v]) => `${k} = ${JSON.stringify(v)}`),
        '[runtime]',
        'work_dir = "../.."',
        'log_dir = "../logs"',
        'kill_grace_s = 1',
        'round_timeout_s = 30',
        '[prompt]',
        'file = "../../prompt.md"',
      ),
    );
    return file;
  }

  it('relative work_dir, log_dir and prompt.file resolve against the config file, not the CWD', async () => {
    const p = makeProject();
    projects.push(p);
    const file = relativeConfig(p, 'env_to:out/env.txt;;stdin_to:out/prompt.txt');
    const r = await runCli(['round', '--config', file], { cwd: '/' });
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(0);
    // The agent ran in work_dir (its relative output paths landed in the project) …
    expect(readFileSync(join(p.dir, 'out/prompt.txt'), 'utf8')).toContain('Work on the task described here.');
    // … and the log dir is the one next to the config.
    expect(kinds(readEvents(join(p.dir, '.agent-runner', 'logs')))).toEqual(['round_start', 'agent_spawn', 'agent_exit', 'round_end']);
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('critical_envs_injection: [agent.env] reaches the agent and overrides the inherited environment', async () => {
    const p = makeProject();
    projects.push(p);
    const file = relativeConfig(p, 'env_to:out/env.txt', { DISABLE_AUTOUPDATER: '1', AR_TEST_OVERRIDE: 'from-config' });
    const r = await runCli(['round', '--config', file], { cwd: '/', env: { AR_TEST_OVERRIDE: 'from-parent', AR_TEST_INHERITED: 'kept' } });
    expect(r.code).toBe(0);
    const env = readFileSync(join(p.dir, 'out/env.txt'), 'utf8').split('\n');
    expect(env).toContain('DISABLE_AUTOUPDATER=1');
    expect(env).toContain('AR_TEST_OVERRIDE=from-config');
    expect(env).not.toContain('AR_TEST_OVERRIDE=from-parent');
    expect(env).toContain('AR_TEST_INHERITED=kept');
  });

  it.each([
    ['stdin', false],
    ['argv', true],
  ] as const)('stdin_prompt_delivery: with prompt_delivery = "%s" the prompt is in /proc/<pid>/cmdline: %s', async (delivery, visible) => {
    const p = makeProject({ delivery, mode: 'sleep:300' });
    projects.push(p);
    const child = startCli(['round', '--config', p.config], { cwd: p.dir });
    const status = join(p.logDir, 'status.json');
    const pid = await waitFor(() => existsSync(status) && (readJson(status)['running'] === true ? (readJson(status)['pid'] as number) : undefined), 'agent spawned');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    expect(cmdline).toContain('fake-agent.sh');
    expect(cmdline.includes(LONG_PROMPT.trim().slice(0, 60))).toBe(visible);
    child.kill('SIGTERM');
    expect((await finish(child)).code).toBe(143);
    expect(survivorsOf(p.testId)).toEqual([]);
  });
});
