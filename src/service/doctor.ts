import { describeInert, type Config } from '../config/load.js';
import type { EventSink } from '../events/writer.js';
import { readHalt } from '../loop/halt.js';
import { runStartupChecks } from '../round/checks.js';
import { git } from '../round/git.js';
import { run, which } from '../util/exec.js';
import { serviceStatus } from './status.js';

export interface DoctorFinding {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

/**
 * Everything that can stop a project from running unattended, checked at once, each with the fix.
 * `fail` means a round cannot succeed; `warn` means it can, but something will bite later.
 */
export async function doctor(cfg: Config, events: EventSink): Promise<DoctorFinding[]> {
  const out: DoctorFinding[] = [{ check: 'config', status: 'ok', detail: `${cfg.path} is valid (project ${cfg.project})` }];
  for (const f of cfg.inert) out.push({ check: 'config_inert', status: 'warn', detail: describeInert(cfg, f), fix: `remove ${f.key} (it loads, so upstream files work, but changes nothing)` });
  const env = { ...process.env, ...cfg.agent.env };
  for (const c of await runStartupChecks(cfg, [undefined, ...cfg.phases.list], env)) {
    if (c.name === 'config_valid') continue;
    out.push(c.ok ? { check: c.name, status: 'ok', detail: 'ok' } : { check: c.name, status: 'fail', detail: c.reason ?? 'failed', ...(c.hint ? { fix: c.hint } : {}) });
  }

  const bin = which(cfg.agent.command[0]!, env['PATH']);
  if (bin) {
    // The version is recorded so a CLI that updated itself between runs is visible in the history.
    const v = await run(bin, ['--version'], { env, timeoutMs: 15_000 });
    const version = (v.stdout || v.stderr).trim().split('\n')[0]?.slice(0, 200) ?? '';
    out.push(v.exitCode === 0 && version ? { check: 'agent_version', status: 'ok', detail: `${bin}: ${version}` } : { check: 'agent_version', status: 'warn', detail: `${bin} --version exited ${v.exitCode}`, fix: 'check that the agent CLI runs at all on this host' });
    if (v.exitCode === 0) events.emit('agent_version_recorded', { command: bin, version });
  }

  const head = await git(cfg.paths.workDir, ['rev-parse', '--abbrev-ref', 'HEAD']);
  if (head.exitCode === 0) {
    const branch = head.stdout.trim();
    out.push(branch === 'HEAD' ? { check: 'git_head', status: 'warn', detail: 'detached HEAD: the agent\'s commits belong to no branch', fix: 'git switch -c <branch>' } : { check: 'git_head', status: 'ok', detail: `on branch ${branch}` });
    const dirty = await git(cfg.paths.workDir, ['status', '--porcelain']);
    if (dirty.stdout.trim()) out.push({ check: 'git_clean', status: 'warn', detail: `${dirty.stdout.trim().split('\n').length} uncommitted path(s): the first round's dirty-tree handling (${cfg.vcs.dirty_action}) will apply to them`, fix: 'commit or stash your own work first' });
    else out.push({ check: 'git_clean', status: 'ok', detail: 'work tree clean' });
  }

  const halt = readHalt(cfg.paths.logDir);
  if (halt) out.push({ check: 'halt', status: 'warn', detail: `halted (${halt.reason}) since ${halt.ts}: ${halt.message}`, fix: `${halt.hint}; then agent-runner resume` });

  const svc = await serviceStatus(cfg);
  out.push({ check: 'service', status: 'ok', detail: `${svc.mode}${svc.active ? `, active (pid ${svc.pid})` : ', not running'}${'sub_state' in svc && svc.sub_state ? ` [${svc.active_state}/${svc.sub_state}]` : ''}` });
  if (svc.mode === 'systemd-user') {
    if (svc.linger === false) out.push({ check: 'linger', status: 'warn', detail: 'lingering is off: the user units stop at logout', fix: 'sudo loginctl enable-linger $USER' });
    else out.push({ check: 'linger', status: 'ok', detail: svc.linger === null ? 'unknown (no logind state on this host)' : 'on' });
    if (svc.active_state === 'failed') out.push({ check: 'unit', status: 'warn', detail: `${svc.unit} failed`, fix: 'agent-runner status; then resume/start' });
  }
  return out;
}
