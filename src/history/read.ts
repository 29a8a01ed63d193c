import { statSync } from 'node:fs';
import { timeoutFor, type Config } from '../config/load.js';
import type { EventRecord } from '../events/reader.js';
import { readHalt } from '../loop/halt.js';
import type { LoopState } from '../loop/loop-state.js';
import { readServeState } from '../loop/serve-state.js';
import { isAlive, readStat } from '../proc/procfs.js';
import { stateFiles } from '../state/files.js';
import { readJsonOr } from '../state/json-file.js';
import { readStatus } from '../state/status.js';
import { buildHistory, type LoopFigures, type ProcessProbe, type ProcessState, type ProjectHistory } from './model.js';
import { advanceHistory, type HistoryState } from './scan.js';

/**
 * The reader of the history model: the events (from the end, or from where a previous read
 * stopped) plus the state files, joined by the pure model. Reading changes nothing. Its cost
 * depends on what is asked for, never on how long the history is.
 */
export interface ReadHistoryOptions {
  /** How many recent rounds to list (default 10). */
  rounds?: number;
  /** Also return the newest N events as stored. */
  events?: number;
  /** Also return every event of this round as stored. */
  focusRound?: number;
  /** Continue from a previous read: only what was appended since is read. */
  since?: HistoryState;
  /** Classify exits that no supervisor classified by their log tails (the monitor's fallback). */
  textFallback?: boolean;
  /** Bytes a derivation from the end may read at most. */
  budgetBytes?: number;
  now?: number;
}

export interface HistoryRead {
  history: ProjectHistory;
  /** Pass back as `since` to read only what comes after. */
  state: HistoryState;
  /** The events were derived from the end (no usable `since`). */
  bootstrap: boolean;
  linesRead: number;
  events: EventRecord[];
  roundEvents: EventRecord[];
}

export const DEFAULT_ROUNDS = 10;

/** Records every reader keeps: the same for peek and the monitor, so both fold the same lines. */
export function keepFor(cfg: Config, rounds = DEFAULT_ROUNDS): number {
  return Math.max(rounds, cfg.monitor.window, DEFAULT_ROUNDS);
}

/** When the live round's log last changed (epoch ms); null with no live round or no log found. */
export function liveLogMtimeMs(h: ProjectHistory): number | null {
  const path = h.live?.log_path;
  if (!path) return null;
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

export const processes: ProcessProbe = { state: processState };

/** A process identified by pid (and start time when known): running, stopped (SIGSTOP, traced) or gone. */
export function processState(pid: number, startTime?: number): ProcessState {
  if (!isAlive(pid, startTime)) return 'dead';
  const st = readStat(pid);
  return st && (st.state === 'T' || st.state === 't') ? 'stopped' : 'alive';
}

export function readProjectHistory(cfg: Config, opts: ReadHistoryOptions = {}): HistoryRead {
  const logDir = cfg.paths.logDir;
  const now = opts.now ?? Date.now();
  const rounds = opts.rounds ?? DEFAULT_ROUNDS;
  const scanned = advanceHistory(logDir, opts.since, {
    keep: keepFor(cfg, rounds),
    ...(opts.textFallback
      ? { authPatterns: cfg.monitor.auth_fail_patterns.map((p) => new RegExp(p, 'i')), networkPatterns: cfg.monitor.network_fail_patterns.map((p) => new RegExp(p, 'i')) }
      : {}),
    ...(opts.budgetBytes !== undefined ? { budgetBytes: opts.budgetBytes } : {}),
    ...(opts.events ? { events: opts.events } : {}),
    ...(opts.focusRound !== undefined ? { focusRound: opts.focusRound } : {}),
  });
  const st = readStatus(logDir);
  const history = buildHistory({
    log: scanned.state.log,
    status: st.kind === 'ok' ? st.value : null,
    serve: readServeState(logDir) ?? null,
    halt: readHalt(logDir) ?? null,
    loop: readLoopFigures(logDir),
    now,
    timeoutFor: (phase) => timeoutFor(cfg, phase ?? undefined),
    processes,
    rounds,
  });
  return { history, state: scanned.state, bootstrap: scanned.bootstrap, linesRead: scanned.linesRead, events: scanned.events, roundEvents: scanned.roundEvents };
}

function readLoopFigures(logDir: string): LoopFigures | null {
  const s = readJsonOr<Partial<LoopState>>(stateFiles(logDir).loopState);
  if (!s) return null;
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : 0);
  return { budget_started_at: typeof s.budget_started_at === 'string' ? s.budget_started_at : null, rounds: n(s.rounds), cost_usd: n(s.cost_usd), consecutive_failures: n(s.consecutive_failures) };
}
