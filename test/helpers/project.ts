import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { localMonitorDir } from '../../src/monitor/state-file.js';

export const REPO = resolve(import.meta.dirname, '../..');
/** The shipped CLI: the bundle that `bin` points at. */
export const CLI = join(REPO, 'dist/bin/main.js');
export const FAKE_AGENT = join(REPO, 'test/fixtures/bin/fake-agent.sh');

/** A prompt long enough for the 500-byte smoke rule. */
export const LONG_PROMPT = 'Work on the task described here. '.repeat(20) + '\n';

export interface Project {
  dir: string;
  /** The project name agent-runner derives (the work dir's basename). */
  project: string;
  logDir: string;
  config: string;
  pidsFile: string;
  /** Unique value carried by every process the fake agent starts. */
  testId: string;
  cleanup(): void;
}

export interface ProjectOptions {
  mode?: string;
  /** Extra TOML appended under the generated sections (full sections allowed). */
  extraToml?: string;
  runtime?: Record<string, unknown>;
  agentEnv?: Record<string, string>;
  prompt?: string;
  delivery?: 'stdin' | 'argv';
  command?: string[];
  /** false: skip git init. */
  git?: boolean;
  /** Where the project directory is made (default the temp dir). */
  base?: string;
}

const tomlValue = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(tomlValue).join(', ')}]` : String(v));

export function makeProject(opts: ProjectOptions = {}): Project {
  const dir = mkdtempSync(join(opts.base ?? tmpdir(), 'ar-proj-'));
  const logDir = join(dir, '.agent-runner', 'logs');
  const pidsFile = join(dir, '.pids');
  const testId = randomUUID();
  writeFileSync(join(dir, 'prompt.md'), opts.prompt ?? LONG_PROMPT);
  mkdirSync(join(dir, 'out'));
  const delivery = opts.delivery ?? 'stdin';
  const env = { FAKE_MODE: opts.mode ?? 'ok', FAKE_PIDS: pidsFile, FAKE_TEST_ID: testId, ...opts.agentEnv };
  const runtime = { work_dir: '.', log_dir: '.agent-runner/logs', round_timeout_s: 30, restart_delay_s: 0, kill_grace_s: 1, ...opts.runtime };
  const toml = [
    '[agent]',
    `command = ${tomlValue(opts.command ?? ['bash', FAKE_AGENT])}`,
    `prompt_arg_template = ${delivery === 'stdin' ? '[]' : '["{prompt}"]'}`,
    `prompt_delivery = "${delivery}"`,
    '[agent.env]',
    ...Object.entries(env).map(([k, v]) => `${k} = ${JSON.stringify(v)}`),
    '[runtime]',
    ...Object.entries(runtime).map(([k, v]) => `${k} = ${tomlValue(v)}`),
    '[prompt]',
    'file = "prompt.md"',
    opts.extraToml ?? '',
  ].join('\n');
  const config = join(dir, 'agent-runner.toml');
  writeFileSync(config, toml + '\n');
  if (opts.git !== false) {
    execFileSync('git', ['init', '-q', dir]);
    writeFileSync(join(dir, 'tracked.txt'), 'base\n');
    writeFileSync(join(dir, '.gitignore'), '.agent-runner/\n.pids\nout/\n');
    execFileSync('git', ['-C', dir, 'add', '-A']);
    execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'init']);
  }
  return {
    dir,
    project: basename(dir),
    logDir,
    config,
    pidsFile,
    testId,
    cleanup() {
      killServe(logDir, config);
      killByTestId(testId);
      // A process killed a moment ago may still be closing files in it.
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    },
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run the built CLI to completion. */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = startCli(args, opts);
  return finish(child, opts.timeoutMs ?? 60_000);
}

export function startCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess & { t0: number } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { t0: number };
  child.t0 = Date.now();
  return child;
}

export function finish(child: ChildProcess & { t0?: number }, timeoutMs = 60_000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, ms: Date.now() - (child.t0 ?? Date.now()) });
    });
  });
}

/** Where a monitor of this project (and a probe of it) keeps its own state and events: never in the project. */
export function monitorDirOf(p: Project): string {
  return localMonitorDir(p.config);
}

export interface EventLine {
  ts: string;
  event: string;
  [k: string]: unknown;
}

export function readEvents(logDir: string): EventLine[] {
  if (!existsSync(logDir)) return [];
  const out: EventLine[] = [];
  for (const f of readdirSync(logDir).filter((n) => /^events-.*\.jsonl$/.test(n)).sort()) {
    for (const line of readFileSync(join(logDir, f), 'utf8').split('\n')) if (line.trim()) out.push(JSON.parse(line) as EventLine);
  }
  return out;
}

export function kinds(events: EventLine[]): string[] {
  return events.map((e) => e.event);
}

/** State of a pid from /proc: undefined when gone. */
export function procState(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  const s = procState(pid);
  return s !== undefined && s !== 'Z' && s !== 'X';
}

/** Live processes whose environment carries FAKE_TEST_ID=<id>: the whole fake agent family. */
export function survivorsOf(testId: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1');
      if (env.split('\0').includes(`FAKE_TEST_ID=${testId}`) && alive(pid)) out.push(pid);
    } catch {
      /* gone or not ours */
    }
  }
  return out;
}

export function recordedPids(p: Project): number[] {
  return existsSync(p.pidsFile) ? readFileSync(p.pidsFile, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

/** A detached serve (from `start`) outlives its test unless killed: by its pid file, if it is ours. */
function killServe(logDir: string, config: string): void {
  let pid: number;
  try {
    pid = Number(readFileSync(join(logDir, 'serve.pid'), 'utf8').trim());
  } catch {
    return;
  }
  if (!pid || !alive(pid)) return;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes(config)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

function killByTestId(testId: string): void {
  for (const pid of survivorsOf(testId)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Poll until `fn` returns (or resolves to) a truthy value or the deadline passes. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, what: string, timeoutMs = 15_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function readJson<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/**
 * The projects and CLI children of one test file, cleaned up after every test: children by pid
 * (continued first, in case a test stopped one), then any serve a project still runs, then the
 * project's processes and files.
 */
export function useProjects(): { project(opts?: ProjectOptions): Project; track<T extends ChildProcess>(child: T): T } {
  const projects: Project[] = [];
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      try {
        process.kill(c.pid!, 'SIGCONT');
      } catch {
        /* gone */
      }
      c.kill('SIGKILL');
    }
    for (const p of projects.splice(0)) {
      if (existsSync(join(p.logDir, 'serve.pid'))) await runCli(['kill', '--config', p.config], { cwd: p.dir }).catch(() => undefined);
      p.cleanup();
    }
  });
  return {
    project(opts: ProjectOptions = {}) {
      const p = makeProject(opts);
      projects.push(p);
      return p;
    },
    track(child) {
      children.push(child);
      return child;
    },
  };
}
