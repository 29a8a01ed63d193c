import { describeInert, type Config } from '../config/load.js';
import type { EventSink } from '../events/writer.js';
import { readHalt } from '../loop/halt.js';
import { runStartupChecks } from '../round/checks.js';
import { readFileSync } from 'node:fs';
import { LOGIN_WARN_AHEAD_MS, readLoginExpiry } from '../agents/credentials.js';
import { probeAgentVersion } from '../agents/version.js';
import { promptFilesFor } from '../config/load.js';
import { dirtyFiles, git, ownedPaths } from '../round/git.js';
import { hasTemplateGoal } from '../round/template-goal.js';
import { which } from '../util/exec.js';
import { isolationFindings } from './isolation-report.js';
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

  out.push(promptGoalFinding(cfg));
  const login = readLoginExpiry(cfg, env);
  if (login?.renewable) {
    const at = new Date(login.expiresAtMs).toISOString();
    out.push({ check: 'login_expiry', status: 'ok', detail: `the ${login.cli} login renews itself (a refresh token is stored); its access token ${login.expiresAtMs > Date.now() ? 'expires' : 'expired'} at ${at}, and the CLI renews it on its next run` });
  } else if (login && login.expiresAtMs > Date.now()) {
    const at = new Date(login.expiresAtMs).toISOString();
    out.push(
      login.expiresAtMs - Date.now() < LOGIN_WARN_AHEAD_MS
        ? { check: 'login_expiry', status: 'warn', detail: `the ${login.cli} login in ${login.file} expires at ${at}, within 24 h`, fix: cfg.monitor.auth_fail_hint || `log the ${login.cli} CLI in again on this host` }
        : { check: 'login_expiry', status: 'ok', detail: `the ${login.cli} login expires at ${at}` },
    );
  }

  const bin = which(cfg.agent.command[0]!, env['PATH']);
  if (bin) {
    // The version is recorded so a CLI that updated itself between runs is visible in the history.
    const v = await probeAgentVersion(bin, env, { timeoutMs: cfg.agent.version_timeout_s * 1000, graceMs: cfg.runtime.kill_grace_s * 1000 });
    if (v.kind === 'ok') {
      out.push({ check: 'agent_version', status: 'ok', detail: `${bin}: ${v.version}` });
      events.emit('agent_version_recorded', { command: bin, version: v.version });
    } else if (v.kind === 'timeout') {
      out.push({ check: 'agent_version', status: 'warn', detail: `${bin} --version timed out after ${v.timeoutS}s (its process tree was killed)`, fix: 'check that the agent CLI runs at all on this host (a first-run prompt, a hung update, no network), or raise agent.version_timeout_s' });
    } else {
      out.push({ check: 'agent_version', status: 'warn', detail: `${bin} --version ${v.exitCode !== null ? `exited ${v.exitCode}` : v.signal ? `was killed by ${v.signal}` : 'failed'}: ${v.detail}`, fix: 'check that the agent CLI runs at all on this host' });
    }
  }

  const head = await git(cfg.paths.workDir, ['rev-parse', '--abbrev-ref', 'HEAD']);
  if (head.exitCode === 0) {
    const branch = head.stdout.trim();
    out.push(branch === 'HEAD' ? { check: 'git_head', status: 'warn', detail: 'detached HEAD: the agent\'s commits belong to no branch', fix: 'git switch -c <branch>' } : { check: 'git_head', status: 'ok', detail: `on branch ${branch}` });
    // The same view the round's dirty-tree handling has: it never touches agent-runner's own files
    // (config, prompts, log dir), so they are no reason to warn.
    const dirty = await dirtyFiles(cfg.paths.workDir, ownedPaths(cfg)).catch(() => []);
    if (dirty.length) out.push({ check: 'git_clean', status: 'warn', detail: `${dirty.length} uncommitted path(s) (${dirty.slice(0, 3).join(', ')}${dirty.length > 3 ? ', …' : ''}): the first round's dirty-tree handling (${cfg.vcs.dirty_action}) will apply to them`, fix: 'commit or stash your own work first' });
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
  out.push(...(await isolationFindings(cfg, env)));
  return out;
}

/** A prompt still holding the template's goal line was never edited: fail before a round is spent on it. */
function promptGoalFinding(cfg: Config): DoctorFinding {
  for (const phase of [undefined, ...cfg.phases.list]) {
    for (const f of promptFilesFor(cfg, phase)) {
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch {
        continue; // prompt_files_exist reports it
      }
      if (hasTemplateGoal(text)) return { check: 'prompt_goal_set', status: 'fail', detail: `${f} still holds the template's placeholder goal`, fix: `edit ${f}: replace the "Goal:" paragraph with what the agent should do` };
    }
  }
  return { check: 'prompt_goal_set', status: 'ok', detail: 'the prompt states its own goal' };
}
