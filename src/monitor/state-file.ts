import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseCursor } from '../events/reader.js';
import { stateFiles } from '../state/files.js';
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
 * The files a monitor keeps for one watched project, all in its own directory under the user's
 * state dir: watching a project never writes into it (a read-only check must not change what it
 * watches). The directory also holds the monitor's own events (events-YYYY-MM.jsonl).
 */
export const monitorFiles = (dir: string) => ({
  dir,
  /** Firing alerts and read positions. */
  state: join(dir, 'monitor-state.json'),
  /** The probe's digest, keyed by the cursor it printed (a one-shot `probe --since`). */
  probeState: join(dir, 'probe-state.json'),
  /** Notifications of alert transitions, queued before they are sent (notify/outbox.ts). */
  outbox: join(dir, 'outbox'),
});

/**
 * A project's stable id on this machine: its directory's name, for a reader, and a hash of its
 * config file's real path, so two projects never share one and the same project (however its
 * config is named on the command line) always has the same.
 */
export function projectStateId(configPath: string): string {
  const abs = resolve(configPath);
  let real = abs;
  try {
    real = realpathSync(abs);
  } catch {
    /* a config that is gone keeps the id of its last path */
  }
  const tag = createHash('sha256').update(real).digest('hex').slice(0, 12);
  return `${basename(dirname(real)).replace(/[^A-Za-z0-9._-]/g, '_')}-${tag}`;
}

/** Where a monitor (or probe) of the project with this config keeps its bookkeeping: $XDG_STATE_HOME/agent-runner/monitor/<id>. */
export function localMonitorDir(configPath: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(userStateDir(env), 'monitor', projectStateId(configPath));
}

/**
 * The firing alerts a monitor of this project saw at its last poll: its own state, or the file an
 * older version kept in log_dir (read, never written or removed: that is the project's).
 */
export function readLocalMonitorState(configPath: string, logDir: string): ReturnType<typeof readMonitorState> {
  const own = readMonitorState(monitorFiles(localMonitorDir(configPath)).state);
  if (own.state || own.problem) return own;
  return readMonitorState(stateFiles(logDir).legacyMonitorState);
}

/**
 * A monitor's first start after an upgrade: the state an earlier version kept in the project's
 * log_dir becomes the starting point (so nothing firing is paged again). The old file is left
 * as it is: it is the project's, and the monitor no longer writes there.
 */
export function adoptLegacyState(statePath: string, legacyPath: string): void {
  if (existsSync(statePath) || !existsSync(legacyPath)) return;
  const old = readMonitorState(legacyPath).state;
  if (old) writeMonitorState(statePath, old);
}

/**
 * Where a monitor of a remote host keeps its state and events on this machine:
 * $XDG_STATE_HOME/agent-runner/remote/<host>-<hash of the remote config path>.
 */
export function remoteStateDir(host: string, remoteConfig: string, env: NodeJS.ProcessEnv = process.env): string {
  const tag = createHash('sha256').update(remoteConfig).digest('hex').slice(0, 8);
  return join(userStateDir(env), 'remote', `${host.replace(/[^A-Za-z0-9._-]/g, '_')}-${tag}`);
}
