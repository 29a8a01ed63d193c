import { chmodSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { promptFilesFor } from '../config/load.js';
import { sampleDisk } from '../metrics/host.js';
import { which } from '../util/exec.js';
import { isGitWorkTree } from './git.js';
import { assemblePromptBody, stripFrontmatter } from './prompt.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  reason?: string;
  hint?: string;
}

/**
 * The startup battery, run before anything is spawned: each check is named and reported, and a
 * failure means the round cannot succeed however often it is retried (exit 78).
 */
export async function runStartupChecks(cfg: Config, phase: string | undefined, env: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  const results: CheckResult[] = [{ name: 'config_valid', ok: true }];
  const add = (name: string, fn: () => string | undefined, hint: string) => {
    let reason: string | undefined;
    try {
      reason = fn();
    } catch (err) {
      reason = (err as Error).message;
    }
    results.push(reason ? { name, ok: false, reason, hint } : { name, ok: true });
    return !reason;
  };

  add(
    'log_dir_writable',
    () => {
      ensureLogDir(cfg.paths.logDir);
      const probe = join(cfg.paths.logDir, '.write_probe');
      writeFileSync(probe, 'x');
      unlinkSync(probe);
      return undefined;
    },
    `fix the permissions of ${cfg.paths.logDir} or change runtime.log_dir in ${cfg.path}`,
  );

  add(
    'agent_cli_in_path',
    () => (which(cfg.agent.command[0]!, env['PATH']) ? undefined : `"${cfg.agent.command[0]}" is not an executable on PATH`),
    `install the agent CLI or put its absolute path in agent.command (${cfg.path})`,
  );

  const gitOk = await isGitWorkTree(cfg.paths.workDir).catch(() => false);
  results.push(
    gitOk
      ? { name: 'work_dir_is_git_repo', ok: true }
      : { name: 'work_dir_is_git_repo', ok: false, reason: `${cfg.paths.workDir} is not inside a git work tree`, hint: 'run `git init` there, or point runtime.work_dir at a repository' },
  );

  const files = promptFilesFor(cfg, phase);
  const filesOk = add(
    'prompt_files_exist',
    () => {
      for (const [i, f] of files.entries()) {
        let text: string;
        try {
          if (!statSync(f).isFile()) return `${f} is not a file`;
          text = readFileSync(f, 'utf8');
        } catch {
          return `${f} does not exist`;
        }
        if (text.trim() === '') return `${f} is empty`;
        if (i === 0 && cfg.prompt.strip_yaml_frontmatter && stripFrontmatter(text).trim() === '') return `${f} is empty once its YAML frontmatter is stripped`;
      }
      return undefined;
    },
    'create the prompt file, or fix prompt.file / prompt.files (or the phase\'s prompt.files)',
  );

  if (filesOk) {
    add(
      'prompt_smoke_passes',
      () => {
        const body = assemblePromptBody({ files, separator: cfg.prompt.concat_separator, stripFrontmatter: cfg.prompt.strip_yaml_frontmatter });
        const bytes = Buffer.byteLength(body);
        if (bytes < cfg.prompt.min_bytes) return `prompt is ${bytes} bytes < ${cfg.prompt.min_bytes} minimum (prompt.min_bytes)`;
        // Over argv a leading dash or blank is parsed by the agent as a flag (the 123-round burn).
        if (cfg.agent.prompt_delivery === 'argv' && /^[-\s]/.test(body)) return 'prompt starts with "-" or whitespace, which the agent would read as a flag';
        return undefined;
      },
      'write a real prompt (frontmatter, if any, must be closed with ---)',
    );
  }

  add(
    'disk_headroom',
    () => {
      const critical = cfg.monitor.host_health.disk_critical_pct;
      for (const dir of new Set([cfg.paths.logDir, cfg.paths.workDir])) {
        const d = sampleDisk(dir);
        if (d && d.used_pct >= critical) return `${dir} filesystem is ${d.used_pct}% used (critical: ${critical}%)`;
      }
      return undefined;
    },
    'free disk space, or raise monitor.host_health.disk_critical_pct',
  );
  return results;
}

/** log_dir is 0700: round logs and events can hold what the agent printed, secrets included. */
export function ensureLogDir(logDir: string): void {
  mkdirSync(join(logDir, 'rounds'), { recursive: true, mode: 0o700 });
  if ((statSync(logDir).mode & 0o077) !== 0) chmodSync(logDir, 0o700);
}
