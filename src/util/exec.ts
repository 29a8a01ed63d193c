import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { EXIT, FOREIGN_EXIT } from '../exit-codes.js';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a short-lived command with an argument array (never a shell string) and collect its
 * output: git on the round's hot path, systemctl, loginctl. Every one of them is a plain
 * run-to-completion, which execFile does in a few lines; execa (the original design's choice) would
 * add 23 packages and its import time to every `round` and `peek` (docs/dependencies.md). The agent
 * itself and ssh are spawned directly, by the modules that supervise them.
 */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : err.code === 'ENOENT' ? FOREIGN_EXIT.NOT_FOUND : EXIT.FAILURE) : EXIT.OK;
        resolve({ exitCode: code, stdout, stderr: stderr || (err && !stderr ? String(err.message) : '') });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Absolute path of an executable on PATH (or the path itself when it contains a slash). */
export function which(cmd: string, pathEnv = process.env['PATH'] ?? ''): string | undefined {
  const { accessSync, constants, statSync } = fs;
  const isExec = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) return isExec(cmd) ? cmd : undefined;
  for (const dir of pathEnv.split(':')) {
    if (!dir) continue;
    const p = `${dir}/${cmd}`;
    if (isExec(p)) return p;
  }
  return undefined;
}
