import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { RunnerError } from '../errors.js';
import { ensureLogDirOrFail } from '../round/checks.js';
import { run } from '../util/exec.js';
import { renderUnits } from './render.js';
import { systemctl } from './systemctl.js';
import { currentUser, lingerEnabled, monitorUnitName, serveUnitName, SYSTEM_UNIT_DIR, userUnitDir, validateProjectName } from './units.js';

export interface InstallOptions {
  monitor: boolean;
  system: boolean;
  dryRun: boolean;
  linger: boolean;
  envFile?: string;
  memoryMax?: string;
  packageDir: string;
  cliEntry: string;
}

export interface InstallResult {
  scope: 'user' | 'system';
  units: Array<{ name: string; path: string; text: string }>;
  started: boolean;
  linger: boolean | null;
  warnings: string[];
}

export function defaultEnvFile(project: string, system: boolean): string {
  return system ? `/etc/agent-runner/${project}.env` : join(process.env['XDG_CONFIG_HOME'] || join(process.env['HOME'] || homedir(), '.config'), 'agent-runner', `${project}.env`);
}

export async function install(cfg: Config, opts: InstallOptions): Promise<InstallResult> {
  validateProjectName(cfg.project);
  const scope = opts.system ? 'system' : 'user';
  if (opts.system && process.getuid?.() !== 0 && !opts.dryRun) throw new RunnerError('--system writes to /etc/systemd/system: run it as root (sudo -E agent-runner install --system)', 'needs_root');
  const user = currentUser();
  const rendered = renderUnits({
    cfg,
    packageDir: opts.packageDir,
    cliEntry: opts.cliEntry,
    nodePath: process.execPath,
    pathEnv: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    envFile: opts.envFile ?? defaultEnvFile(cfg.project, opts.system),
    system: opts.system,
    user,
    ...(opts.memoryMax ? { memoryMax: opts.memoryMax } : {}),
  });
  const dir = opts.system ? SYSTEM_UNIT_DIR : userUnitDir();
  const units = [rendered.serve, ...(opts.monitor ? [rendered.monitor] : [])].map((u) => ({ ...u, path: join(dir, u.name) }));
  const warnings: string[] = [];
  if (cfg.sandbox.mode === 'systemd') {
    // PrivateTmp= gives the unit a /tmp of its own: nothing under the host's /tmp is there.
    const hidden = [cfg.paths.workDir, cfg.paths.logDir, opts.cliEntry, process.execPath].filter((p) => /^\/(var\/)?tmp\//.test(p));
    if (hidden.length) warnings.push(`sandbox.mode = "systemd" gives the unit a private /tmp, which hides ${hidden.join(', ')}: move them out of /tmp and /var/tmp`);
  }
  const linger = opts.system ? null : lingerEnabled(user);
  if (opts.dryRun) return { scope, units, started: false, linger, warnings };

  // Preflight: a user manager must be reachable, or nothing below can work.
  const probe = await systemctl(scope, ['show-environment']);
  if (probe.exitCode !== 0) {
    throw new RunnerError(
      `cannot reach the systemd ${scope} manager (${probe.stderr.trim().split('\n')[0] || `exit ${probe.exitCode}`})` +
        (scope === 'user' ? ': run from a login session, enable lingering (sudo loginctl enable-linger ' + user + '), or use --system' : ''),
      'systemd_unreachable',
    );
  }
  // ReadWritePaths= needs the log dir to exist, or the sandboxed unit cannot start.
  if (cfg.sandbox.mode === 'systemd') ensureLogDirOrFail(cfg);
  mkdirSync(dir, { recursive: true });
  for (const u of units) writeFileSync(u.path, u.text, { mode: 0o644 });
  await systemctl(scope, ['daemon-reload'], { check: true });
  for (const u of units) {
    await systemctl(scope, ['enable', u.name], { check: true });
    await systemctl(scope, ['start', u.name], { check: true });
  }
  let lingerNow = linger;
  if (!opts.system && linger === false) {
    if (opts.linger) {
      const r = await run('loginctl', ['enable-linger', user]);
      lingerNow = r.exitCode === 0 ? true : false;
      if (r.exitCode !== 0) warnings.push(`could not enable lingering (${String(r.stderr).trim().split('\n')[0]}): run \`sudo loginctl enable-linger ${user}\``);
    } else {
      warnings.push(`lingering is off for ${user}: the units stop when you log out. Fix: sudo loginctl enable-linger ${user} (or re-run install with --linger)`);
    }
  }
  return { scope, units, started: true, linger: lingerNow, warnings };
}

export async function uninstall(cfg: Config, opts: { system: boolean }): Promise<{ removed: string[] }> {
  validateProjectName(cfg.project);
  const scopes: Array<'user' | 'system'> = opts.system ? ['system'] : ['user'];
  const removed: string[] = [];
  for (const scope of scopes) {
    const dir = scope === 'system' ? SYSTEM_UNIT_DIR : userUnitDir();
    const present = [monitorUnitName(cfg.project), serveUnitName(cfg.project)].filter((n) => existsSync(join(dir, n)));
    if (!present.length) continue;
    for (const name of present) {
      await systemctl(scope, ['stop', name]);
      await systemctl(scope, ['disable', name]);
      rmSync(join(dir, name), { force: true });
      removed.push(join(dir, name));
    }
    await systemctl(scope, ['daemon-reload']);
    await systemctl(scope, ['reset-failed', ...present]);
  }
  return { removed };
}
