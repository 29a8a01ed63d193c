import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseCursor } from '../events/reader.js';
import { readJsonFile } from '../state/json-file.js';
import { userStateDir } from '../state/user-state.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import type { AlertSet } from './alerts.js';
import { HISTORY_LOG_VERSION, emptyLog, type HistoryLog } from '../history/log.js';
import type { HistoryState } from '../history/scan.js';

/**
 * monitor-state.json: the firing alerts (so a restarted monitor does not page again), and where
 * reading stopped (the local history log and its cursor, or the remote probe's cursor).
 */
export interface MonitorStateFile {
  v: 1;
  target: { log_dir?: string; host?: string; remote_config?: string; resolved?: string };
  alerts: AlertSet;
  /** The history's fold and the cursor it is valid at (a state of an older version is re-derived). */
  history?: { cursor: string; log: HistoryLog };
  remote_cursor?: string;
  polls: number;
  updated_at: string;
}

export function readMonitorState(path: string): { state: MonitorStateFile | undefined; problem?: string } {
  const r = readJsonFile<MonitorStateFile>(path);
  if (r.kind === 'missing') return { state: undefined };
  if (r.kind === 'corrupt' || r.value.v !== 1 || typeof r.value.alerts !== 'object' || r.value.alerts === null)
    return { state: undefined, problem: `${path} is unreadable (${r.kind === 'corrupt' ? r.error : 'unknown version'}); starting with no firing alerts` };
  return { state: r.value };
}

const DISK_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);

/**
 * Writes the state, or returns why it could not: a monitor whose own disk is full must go on
 * watching (disk_critical is one of the alerts it raises), keeping its state in memory.
 */
export function writeMonitorState(path: string, s: MonitorStateFile): string | undefined {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeJsonAtomic(path, s);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && DISK_ERRORS.has(code)) return `${path}: ${code}`;
    throw err;
  }
}

export function historyFromState(s: MonitorStateFile | undefined): HistoryState | undefined {
  const h = s?.history;
  const cursor = h ? parseCursor(h.cursor) : undefined;
  // A log saved by an older version of this shape lacks the fields added since: they start empty.
  return h && cursor && h.log?.v === HISTORY_LOG_VERSION ? { cursor, log: { ...emptyLog(), ...h.log } } : undefined;
}

/**
 * Where a monitor of a remote host keeps its state and events on this machine:
 * $XDG_STATE_HOME/agent-runner/remote/<host>-<hash of the remote config path>.
 */
export function remoteStateDir(host: string, remoteConfig: string, env: NodeJS.ProcessEnv = process.env): string {
  const tag = createHash('sha256').update(remoteConfig).digest('hex').slice(0, 8);
  return join(userStateDir(env), 'remote', `${host.replace(/[^A-Za-z0-9._-]/g, '_')}-${tag}`);
}
