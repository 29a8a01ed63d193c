import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config/load.js';

/**
 * What a sandboxed round may write: the work dir, the log dir, the repository's git directory
 * when it lies outside the work dir (a work dir below the repository root, or a `git worktree`,
 * whose objects and refs live in the main checkout: without it the agent cannot commit), and the
 * agent's own state dirs from `sandbox.writable_paths`. Both sandboxes use this one list.
 */
export interface WritablePaths {
  /** Bound or listed as they are: they must exist. */
  required: string[];
  /** Skipped when missing (an agent's state dir it has not created yet). */
  optional: string[];
}

export function sandboxWritablePaths(cfg: Config): WritablePaths {
  const required = uniq([cfg.paths.workDir, cfg.paths.logDir, ...gitDirsOutside(cfg.paths.workDir)]);
  return { required, optional: uniq(cfg.paths.writablePaths).filter((p) => !required.includes(p)) };
}

/** The git directories of the repository holding `workDir` that are not inside it. */
export function gitDirsOutside(workDir: string): string[] {
  const found = findDotGit(workDir);
  if (!found) return [];
  const dirs = [found.gitDir];
  // A worktree's own git dir names the main repository's in `commondir`.
  const common = readLine(join(found.gitDir, 'commondir'));
  if (common) dirs.push(resolve(found.gitDir, common));
  return uniq(dirs).filter((d) => !inside(d, workDir));
}

function findDotGit(from: string): { gitDir: string } | undefined {
  for (let d = resolve(from); ; d = dirname(d)) {
    const dotGit = join(d, '.git');
    if (existsSync(dotGit)) {
      try {
        if (statSync(dotGit).isDirectory()) return { gitDir: dotGit };
      } catch {
        return undefined;
      }
      // A file: `gitdir: <path>` (worktrees, submodules).
      const line = readLine(dotGit);
      const m = line ? /^gitdir:\s*(.+)$/.exec(line) : null;
      return m ? { gitDir: resolve(d, m[1]!) } : undefined;
    }
    if (dirname(d) === d) return undefined;
  }
}

function readLine(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').split('\n')[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}
