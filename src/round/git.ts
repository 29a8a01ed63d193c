import { relative, isAbsolute } from 'node:path';
import { run, type ExecResult } from '../util/exec.js';

/** Git, always with an argument array, never prompting, never signing our own snapshots. */
export function git(workDir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ExecResult> {
  return run('git', ['-C', workDir, ...args], {
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', ...env },
    timeoutMs: 60_000,
  });
}

export async function isGitWorkTree(workDir: string): Promise<boolean> {
  const r = await git(workDir, ['rev-parse', '--is-inside-work-tree']);
  return r.exitCode === 0 && r.stdout.trim() === 'true';
}

/** The log dir as a pathspec exclusion, when it lives inside the work tree. */
export function excludeLogDir(workDir: string, logDir: string): string[] {
  const rel = relative(workDir, logDir);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return [];
  return [`:(exclude)${rel}`];
}

/** Dirty paths from `git status --porcelain -z` (renames keep the new path). */
export async function dirtyFiles(workDir: string, logDir: string): Promise<string[]> {
  const r = await git(workDir, ['status', '--porcelain', '-z', '--', '.', ...excludeLogDir(workDir, logDir)]);
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
