import { execFile } from 'node:child_process';
import { relative, isAbsolute } from 'node:path';
import type { Config } from '../config/load.js';
import { run, type ExecResult } from '../util/exec.js';

/** Git, always with an argument array, never prompting, never signing our own snapshots. */
export function git(workDir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ExecResult> {
  return run('git', ['-C', workDir, ...args], {
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', ...env },
    timeoutMs: 60_000,
  });
}

export interface RawResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Git with bytes in and out. Path names are bytes, not UTF-8: a name with an invalid byte read as
 * a JS string would come back as U+FFFD and name another file. Callers keep such paths as latin1
 * strings (one char per byte, see `bytes`/`toBytes`) and hand them to git on stdin, NUL-separated.
 */
export function gitRaw(workDir: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: Buffer } = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const child = execFile(
      'git',
      ['-C', workDir, ...args],
      {
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', ...opts.env },
        timeout: 120_000,
        maxBuffer: 512 * 1024 * 1024,
        encoding: 'buffer',
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ exitCode: code, stdout, stderr: stderr.toString('utf8') || (err ? String(err.message) : '') });
      },
    );
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input ?? Buffer.alloc(0));
  });
}

/** A git path as a byte string: one char per byte (latin1), safe for any name. */
export const bytes = (b: Buffer): string => b.toString('latin1');
export const toBytes = (s: string): Buffer => Buffer.from(s, 'latin1');
/** A byte-string path for people (events, messages): UTF-8 where it is UTF-8. */
export const display = (s: string): string => toBytes(s).toString('utf8');

/** The NUL-separated records of a `-z` output. */
export function splitZ(out: Buffer): string[] {
  const recs = bytes(out).split('\0');
  if (recs.at(-1) === '') recs.pop();
  return recs;
}

export async function isGitWorkTree(workDir: string): Promise<boolean> {
  const r = await git(workDir, ['rev-parse', '--is-inside-work-tree']);
  return r.exitCode === 0 && r.stdout.trim() === 'true';
}

/** The commit HEAD names, or null (no commit yet, or not a repository). */
export async function headCommit(workDir: string): Promise<string | null> {
  const r = await git(workDir, ['rev-parse', '--verify', '-q', 'HEAD']);
  return r.exitCode === 0 ? r.stdout.trim() || null : null;
}

/**
 * Commits HEAD gained since `before` (the agent's commits in a round); null when it cannot tell:
 * no commit before, or history rewritten so that `before` is no longer an ancestor.
 */
export async function commitsSince(workDir: string, before: string | null): Promise<number | null> {
  if (before === null) return null;
  const anc = await git(workDir, ['merge-base', '--is-ancestor', before, 'HEAD']);
  if (anc.exitCode !== 0) return null;
  const r = await git(workDir, ['rev-list', '--count', `${before}..HEAD`]);
  const n = Number(r.stdout.trim());
  return r.exitCode === 0 && Number.isInteger(n) ? n : null;
}

/**
 * agent-runner's own paths (log dir, config file) as pathspec exclusions, for those inside the
 * work tree: our state must never be snapshotted, committed or cleaned away with the agent's work.
 */
export function excludeOwned(workDir: string, owned: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of owned) {
    const rel = relative(workDir, p);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue;
    out.push(`:(exclude,literal)${rel}`);
  }
  return out;
}

/** Dirty paths from `git status --porcelain -z` (renames keep the new path). */
export async function dirtyFiles(workDir: string, owned: readonly string[]): Promise<string[]> {
  const r = await git(workDir, ['status', '--porcelain', '-z', '--', '.', ...excludeOwned(workDir, owned)]);
  if (r.exitCode !== 0) throw new Error(`git status failed: ${r.stderr.trim().slice(0, 200)}`);
  const recs = r.stdout.split('\0');
  const files: string[] = [];
  for (let i = 0; i < recs.length; i++) {
    const rec = recs[i]!;
    if (rec.length < 4) continue;
    const xy = rec.slice(0, 2);
    files.push(rec.slice(3));
    if (xy.includes('R') || xy.includes('C')) i++; // skip the old path
  }
  return files;
}

/** agent-runner's inputs and outputs inside the tree: log dir, config, every phase's prompt files. */
export function ownedPaths(cfg: Config): string[] {
  const prompts = [cfg.paths.promptFiles, ...Object.values(cfg.phases.overrides).map((o) => o.promptFiles ?? [])].flat();
  return [...new Set([cfg.paths.logDir, cfg.path, ...prompts])];
}

/**
 * The exclusions for `git add`: an owned path that .gitignore already covers must not be named,
 * or git refuses the whole add ("paths are ignored by one of your .gitignore files").
 */
export async function excludeOwnedForAdd(workDir: string, owned: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const spec of excludeOwned(workDir, owned)) {
    const rel = spec.slice(spec.indexOf(')') + 1);
    const ignored = await git(workDir, ['check-ignore', '-q', '--no-index', '--', rel]);
    if (ignored.exitCode !== 0) out.push(spec);
  }
  return out;
}
