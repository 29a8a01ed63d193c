import { chmodSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { promptFilesFor } from '../config/load.js';
import { readLoginExpiry } from '../agents/credentials.js';
import { sampleDisk } from '../metrics/host.js';
import { bwrapProbeArgv } from '../isolation/bwrap.js';
import { run, which } from '../util/exec.js';
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
export async function runStartupChecks(
  cfg: Config,
  phases: Array<string | undefined>,
  env: NodeJS.ProcessEnv,
  cache?: Set<string>,
): Promise<CheckResult[]> {
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

  // Within one serve these cannot change between rounds (serve re-checks after a reload).
  if (cache?.has('agent_cli_in_path')) results.push({ name: 'agent_cli_in_path', ok: true });
  else if (
    add(
      'agent_cli_in_path',
      () => (which(cfg.agent.command[0]!, env['PATH']) ? undefined : `"${cfg.agent.command[0]}" is not an executable on PATH`),
      `install the agent CLI or put its absolute path in agent.command (${cfg.path})`,
    )
  )
    cache?.add('agent_cli_in_path');

  if (cfg.sandbox.mode === 'bwrap') {
    if (cache?.has('sandbox_available')) results.push({ name: 'sandbox_available', ok: true });
    else {
      const r = await bwrapUnavailable(cfg, env);
      results.push(r ? { name: 'sandbox_available', ok: false, reason: r, hint: `install bubblewrap (Debian: apt-get install bubblewrap), or set sandbox.mode = "off" in ${cfg.path}` } : { name: 'sandbox_available', ok: true });
      if (!r) cache?.add('sandbox_available');
    }
  }

  const gitOk = cache?.has('work_dir_is_git_repo') || (await isGitWorkTree(cfg.paths.workDir).catch(() => false));
  if (gitOk) cache?.add('work_dir_is_git_repo');
  results.push(
    gitOk
      ? { name: 'work_dir_is_git_repo', ok: true }
      : { name: 'work_dir_is_git_repo', ok: false, reason: `${cfg.paths.workDir} is not inside a git work tree`, hint: 'run `git init` there, or point runtime.work_dir at a repository' },
  );

  const fileSets = [...new Map(phases.map((ph) => [promptFilesFor(cfg, ph).join('\0'), { phase: ph, files: promptFilesFor(cfg, ph) }])).values()];
  for (const { phase, files } of fileSets) checkPrompt(cfg, phase, files, add);

  // An expired login fails every round in seconds (and can look like a 2-second success):
  // halt before spending one (anthropics/claude-code-action#1501). One with a refresh token is
  // renewed by the CLI itself; halting on its access token's expiry would stop a working loop.
  const login = readLoginExpiry(cfg, env);
  if (login && !login.renewable) {
    add(
      'login_not_expired',
      () => (login.expiresAtMs <= Date.now() ? `the ${login.cli} login in ${login.file} expired at ${new Date(login.expiresAtMs).toISOString()}` : undefined),
      cfg.monitor.auth_fail_hint || `log the ${login.cli} CLI in again on this host`,
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

/** Why `sandbox.mode = "bwrap"` cannot run here: bwrap missing, or unable to make its namespaces. */
async function bwrapUnavailable(cfg: Config, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const bin = which('bwrap', env['PATH']);
  if (!bin) return 'sandbox.mode = "bwrap" but bwrap is not on PATH';
  const [, ...args] = bwrapProbeArgv(cfg.sandbox.network);
  const r = await run(bin, args, { timeoutMs: 10_000 });
  if (r.exitCode === 0) return undefined;
  // Typically unprivileged user namespaces switched off (kernel.unprivileged_userns_clone=0).
  return `${bin} cannot make its sandbox here (exit ${r.exitCode}: ${r.stderr.trim().split('\n')[0] || 'no message'})`;
}

function checkPrompt(cfg: Config, phase: string | undefined, files: string[], add: (name: string, fn: () => string | undefined, hint: string) => boolean): void {
  const where = (r: string | undefined) => (r && phase ? `phase ${phase}: ${r}` : r);
  const filesOk = add(
    'prompt_files_exist',
    () => {
      for (const [i, f] of files.entries()) {
        let text: string;
        try {
          if (!statSync(f).isFile()) return where(`${f} is not a file`);
          text = readFileSync(f, 'utf8');
        } catch {
          return where(`${f} does not exist`);
        }
        if (text.trim() === '') return where(`${f} is empty`);
        if (i === 0 && cfg.prompt.strip_yaml_frontmatter && stripFrontmatter(text).trim() === '') return where(`${f} is empty once its YAML frontmatter is stripped`);
      }
      return undefined;
    },
    'create the prompt file, or fix prompt.file / prompt.files (or the phase\'s prompt.files)',
  );
  if (!filesOk) return;
  add(
    'prompt_smoke_passes',
    () => {
      const body = assemblePromptBody({ files, separator: cfg.prompt.concat_separator, stripFrontmatter: cfg.prompt.strip_yaml_frontmatter });
      const bytes = Buffer.byteLength(body);
      if (bytes < cfg.prompt.min_bytes) return where(`prompt is ${bytes} bytes < ${cfg.prompt.min_bytes} minimum (prompt.min_bytes)`);
      // Over argv a leading dash or blank is parsed by the agent as a flag (the 123-round burn).
      if (cfg.agent.prompt_delivery === 'argv' && /^[-\s]/.test(body)) return where('prompt starts with "-" or whitespace, which the agent would read as a flag');
      return undefined;
    },
    'write a real prompt (frontmatter, if any, must be closed with ---)',
  );
}

/** log_dir is 0700: round logs and events can hold what the agent printed, secrets included. */
export function ensureLogDir(logDir: string): void {
  mkdirSync(join(logDir, 'rounds'), { recursive: true, mode: 0o700 });
  if ((statSync(logDir).mode & 0o077) !== 0) chmodSync(logDir, 0o700);
}

/** ensureLogDir for verbs that run before the startup battery: a failure is a config error (78). */
export function ensureLogDirOrFail(cfg: Config): void {
  try {
    ensureLogDir(cfg.paths.logDir);
  } catch (err) {
    throw new ConfigError(
      cfg.path,
      undefined,
      `startup check log_dir_writable failed: cannot create ${cfg.paths.logDir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}) | how to fix: fix its permissions or change runtime.log_dir`,
    );
  }
}
