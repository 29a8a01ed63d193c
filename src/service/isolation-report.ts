import { existsSync, readFileSync } from 'node:fs';
import type { Config } from '../config/load.js';
import { killMethod, limitPlacement, readCgroupLayout } from '../isolation/cgroup.js';
import type { CgroupLayout } from '../isolation/cgroup-layout.js';
import { hasLimits } from '../isolation/limits.js';
import { decideCgroupMode } from '../isolation/round-isolation.js';
import { SYSTEMD_SANDBOX_KEYS } from '../isolation/systemd-sandbox.js';
import { sandboxWritablePaths } from '../isolation/writable.js';
import { run, which } from '../util/exec.js';
import type { DoctorFinding } from './doctor.js';
import { detectUnitMode, monitorUnitName, serveUnitName } from './units.js';

/**
 * What isolation this host gives the project's rounds (docs/isolation.md): the cgroup layout and
 * where a round's cgroup comes from, how a round is killed, where each limit is enforced, what the
 * sandbox leaves writable, and `systemd-analyze security` for the installed units.
 */
export async function isolationFindings(cfg: Config, env: NodeJS.ProcessEnv = process.env): Promise<DoctorFinding[]> {
  const layout = readCgroupLayout();
  const unit = detectUnitMode(cfg.project);
  const cg = cgroupFinding(cfg, layout, unit !== undefined, env);
  const out: DoctorFinding[] = [cg.finding];
  out.push(limitsFinding(cfg, layout, cg.perRound));
  out.push(sandboxFinding(cfg, unit?.unitFile));
  if (unit) out.push(...(await securityFindings(unit.unitFile, env)));
  return out;
}

export function describeLayout(l: CgroupLayout): string {
  const v1 = Object.keys(l.v1).filter((c) => ['memory', 'pids', 'cpu', 'blkio'].includes(c));
  if (l.kind === 'unified') return `unified cgroup2 at ${l.v2!.mount}`;
  if (l.kind === 'hybrid') return `hybrid: cgroup2 at ${l.v2!.mount} (the kill), v1 ${v1.join(', ') || 'none'} (the limits)`;
  if (l.kind === 'legacy') return `legacy cgroup v1 only (${v1.join(', ')})`;
  return 'no cgroup hierarchy mounted';
}

/** Informational: a host without a round cgroup still runs rounds, with the sweep as the net. */
function cgroupFinding(cfg: Config, layout: CgroupLayout, installed: boolean, env: NodeJS.ProcessEnv): { finding: DoctorFinding; perRound: boolean } {
  const kill = killMethod(layout);
  const ends = kill === 'cgroup.kill' ? 'a round ends with cgroup.kill' : kill === 'freeze' ? 'a round ends with cgroup.freeze, then SIGKILL to each member (no cgroup.kill before Linux 5.14)' : 'no cgroup kill here: the process-group and marker sweep (fallback)';
  if (cfg.limits.cgroup === 'off') return { finding: { check: 'isolation_cgroup', status: 'ok', detail: `${describeLayout(layout)}; limits.cgroup = "off": rounds use the process-group and marker sweep only (fallback)` }, perRound: false };
  // The installed unit runs rounds in scopes; serve started from a terminal decides as here.
  const scopes = installed && which('systemd-run', env['PATH'] ?? '') !== undefined;
  const service = installed ? (scopes ? 'the installed service runs each round in a systemd scope of its own' : 'the installed service cannot make scopes (systemd-run is not on PATH)') : undefined;
  const here = decideCgroupMode(cfg, { ...env, INVOCATION_ID: '' });
  const local = here.mode === 'direct' ? 'serve outside systemd makes a cgroup2 directory per round' : `serve outside systemd has no per-round cgroup (${here.reason})`;
  const perRound = kill !== 'sweep' && (scopes || here.mode === 'direct');
  return { finding: { check: 'isolation_cgroup', status: 'ok', detail: `${describeLayout(layout)}; ${[service, local].filter(Boolean).join('; ')}; ${perRound ? ends : 'the process-group and marker sweep (fallback)'}` }, perRound };
}

function limitsFinding(cfg: Config, layout: CgroupLayout, perRound: boolean): DoctorFinding {
  const svc = hasLimits(cfg.limits.service) ? '; [limits.service] is rendered into the serve unit by install' : '';
  if (!hasLimits(cfg.limits)) return { check: 'isolation_limits', status: 'ok', detail: `no per-round [limits]${svc}` };
  if (!perRound) return { check: 'isolation_limits', status: 'warn', detail: `[limits] are set, but rounds get no cgroup of their own here: not enforced${svc}`, fix: 'run serve as a systemd service (agent-runner install) or as root with cgroup2' };
  const placed = limitPlacement(cfg.limits, layout);
  const detail = placed.map((p) => `${p.key} → ${p.where}`).join(', ') + svc;
  const missing = placed.filter((p) => p.where === 'nowhere');
  return missing.length
    ? { check: 'isolation_limits', status: 'warn', detail, fix: `this host has no controller for ${missing.map((m) => m.key).join(', ')}: it is not enforced` }
    : { check: 'isolation_limits', status: 'ok', detail };
}

function sandboxFinding(cfg: Config, unitFile: string | undefined): DoctorFinding {
  const w = sandboxWritablePaths(cfg);
  const writable = [...w.required, ...w.optional.map((p) => `${p}${existsSync(p) ? '' : ' (missing: skipped)'}`)].join(', ');
  switch (cfg.sandbox.mode) {
    case 'off':
      return { check: 'isolation_sandbox', status: 'ok', detail: 'off: the agent can write wherever the user can' };
    case 'bwrap':
      return { check: 'isolation_sandbox', status: 'ok', detail: `bwrap: writable ${writable}; the rest read-only; private /tmp and /dev; network ${cfg.sandbox.network ? 'shared' : 'unshared (loopback of its own only)'}` };
    case 'systemd': {
      const base = `systemd: writable ${writable}; the rest read-only, private /tmp, no new privileges`;
      if (!unitFile) return { check: 'isolation_sandbox', status: 'warn', detail: `${base} — but no unit is installed, so no round runs under it`, fix: 'agent-runner install' };
      const text = readFileSync(unitFile, 'utf8');
      const lacking = SYSTEMD_SANDBOX_KEYS.filter((k) => !new RegExp(`^${k}$`, 'm').test(text));
      return lacking.length
        ? { check: 'isolation_sandbox', status: 'warn', detail: `${base} — but ${unitFile} lacks ${lacking.join(', ')}`, fix: 'agent-runner install (re-renders the unit)' }
        : { check: 'isolation_sandbox', status: 'ok', detail: `${base}, in ${unitFile}` };
    }
  }
}

/** `systemd-analyze security --offline` of each installed unit: its overall exposure, 0 (best) to 10. */
async function securityFindings(serveUnitFile: string, env: NodeJS.ProcessEnv): Promise<DoctorFinding[]> {
  if (!which('systemd-analyze', env['PATH'] ?? '')) return [{ check: 'isolation_security', status: 'ok', detail: 'systemd-analyze is not available here' }];
  const dir = serveUnitFile.slice(0, serveUnitFile.lastIndexOf('/'));
  const project = /agent-runner@(.+)\.service$/.exec(serveUnitFile)?.[1] ?? '';
  const files = [serveUnitFile, `${dir}/${monitorUnitName(project)}`].filter((f) => existsSync(f));
  const out: DoctorFinding[] = [];
  for (const f of files) {
    const r = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', f], { timeoutMs: 20_000 });
    const m = /Overall exposure level for (\S+): ([\d.]+) (\S+)/.exec(r.stdout);
    const name = f.slice(f.lastIndexOf('/') + 1);
    out.push(
      m
        ? { check: 'isolation_security', status: 'ok', detail: `${m[1]}: exposure ${m[2]} ${m[3]} (systemd-analyze security; ${name === serveUnitName(project) ? 'sandbox.mode = "systemd" lowers it' : 'the monitor runs no agent code'})` }
        : { check: 'isolation_security', status: 'ok', detail: `${name}: systemd-analyze security gave no verdict (${(r.stderr || r.stdout).trim().split('\n')[0] || `exit ${r.exitCode}`})` },
    );
  }
  return out;
}
