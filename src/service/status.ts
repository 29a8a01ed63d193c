import { readFileSync } from 'node:fs';
import type { Config } from '../config/load.js';
import { readServeState } from '../loop/serve-state.js';
import { isAlive, processStartEpochMs, readCmdline, readStat } from '../proc/procfs.js';
import { stateFiles } from '../state/files.js';
import { showUnit } from './systemctl.js';
import { detectUnitMode, lingerEnabled, serveUnitName, type ServiceMode } from './units.js';

export interface ServiceStatus {
  mode: ServiceMode;
  active: boolean;
  pid: number | null;
  uptime_s: number | null;
  unit_file: string | null;
  unit?: string;
  active_state?: string;
  sub_state?: string;
  n_restarts?: number;
  /** systemd user units only: whether they survive logout. null when unknown. */
  linger?: boolean | null;
}

/** The real state of the serve process, from the service manager when one owns it. */
export async function serviceStatus(cfg: Config): Promise<ServiceStatus> {
  const unitMode = detectUnitMode(cfg.project);
  if (unitMode) {
    const scope = unitMode.mode === 'systemd-user' ? 'user' : 'system';
    const unit = serveUnitName(cfg.project);
    const show = await showUnit(scope, unit, ['ActiveState', 'SubState', 'MainPID', 'NRestarts', 'LoadState']);
    const pid = show && Number(show['MainPID']) > 0 ? Number(show['MainPID']) : null;
    const active = show?.['ActiveState'] === 'active' || show?.['ActiveState'] === 'activating' || show?.['ActiveState'] === 'deactivating';
    return {
      mode: unitMode.mode,
      active,
      pid,
      uptime_s: pid ? uptimeOf(pid) : null,
      unit_file: unitMode.unitFile,
      unit,
      ...(show ? { active_state: show['ActiveState'] ?? 'unknown', sub_state: show['SubState'] ?? 'unknown', n_restarts: Number(show['NRestarts'] ?? 0) } : { active_state: 'unknown' }),
      ...(unitMode.mode === 'systemd-user' ? { linger: lingerEnabled() } : {}),
    };
  }
  const pid = readServePid(cfg.paths.logDir);
  if (pid !== undefined) {
    const live = isOurServe(cfg, pid);
    return { mode: 'pid-file', active: live, pid: live ? pid : null, uptime_s: live ? uptimeOf(pid) : null, unit_file: null };
  }
  return { mode: 'none', active: false, pid: null, uptime_s: null, unit_file: null };
}

export function readServePid(logDir: string): number | undefined {
  try {
    const n = Number(readFileSync(stateFiles(logDir).servePid, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function uptimeOf(pid: number): number | null {
  const st = readStat(pid);
  const start = st ? processStartEpochMs(st.starttime) : undefined;
  return start ? Math.max(0, Math.round((Date.now() - start) / 1000)) : null;
}

/**
 * A pid file is only a claim: stop and kill act on it only when the process provably is this
 * project's serve (its recorded start time, or its command line naming serve and this config).
 */
export function isOurServe(cfg: Config, pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return false;
  const st = readServeState(cfg.paths.logDir);
  if (st?.pid === pid && st.start_time !== undefined) return isAlive(pid, st.start_time);
  if (!isAlive(pid)) return false;
  const argv = readCmdline(pid);
  return argv.includes('serve') && argv.some((a) => a === cfg.path || a.endsWith(`/${cfg.path.split('/').pop()}`));
}
