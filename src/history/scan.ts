import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import {
  cursorAtEnd, eventLinesBackward, kindOf, parseEvent, parseRecord, readSince, tsOfLine, type Cursor, type EventRecord,
} from '../events/reader.js';
import { isLogOfRound, roundOfLogName, stateFiles } from '../state/files.js';
import { HISTORY_KINDS, emptyLog, foldEvent, isMonitorKind, logPathOf, noteKind, type HistoryLog } from './log.js';

/**
 * Reading the events history into a HistoryLog: derived from the end of the history (reading back
 * only until every list is full), or advanced from a cursor with only the lines appended since.
 * Either way the cost does not depend on the history's length.
 */
export interface HistoryState {
  cursor: Cursor;
  log: HistoryLog;
}

export interface ScanOptions {
  /** Records kept per list (rounds, exits, start attempts). */
  keep: number;
  /**
   * Patterns for the text fallback on exits no supervisor classified (upstream's history): their
   * log tails are read only when these are given.
   */
  authPatterns?: RegExp[];
  networkPatterns?: RegExp[];
  /** How far back a derivation may read at most. */
  budgetBytes?: number;
  /** Also collect the newest N lines as stored (peek --events). */
  events?: number;
  /** Also collect every line of this round as stored (peek --round N), as far back as the budget allows. */
  focusRound?: number;
}

export interface Scanned {
  state: HistoryState;
  bootstrap: boolean;
  linesRead: number;
  /** The newest `events` lines, oldest first. */
  events: EventRecord[];
  /** The focus round's lines, oldest first. */
  roundEvents: EventRecord[];
}

/** A backlog larger than this is not replayed: the log is re-derived from the end instead. */
const MAX_REPLAY_BYTES = 4 * 1024 * 1024;
const DEFAULT_BUDGET_BYTES = 8 * 1024 * 1024;
/** Reading on for the whole of the newest day's spend stops here; the figure is then marked incomplete. */
const DAY_SCAN_BYTES = 2 * 1024 * 1024;
const DAY_MS = 86_400_000;
/** Writers on several processes append concurrently: tolerate timestamps this far out of order. */
const ORDER_SLACK_MS = 60_000;

/** Advance `prev` with what was appended since its cursor, or derive the log from the end. */
export function advanceHistory(logDir: string, prev: HistoryState | undefined, opts: ScanOptions): Scanned {
  if (prev) {
    const r = readSince(logDir, prev.cursor, MAX_REPLAY_BYTES);
    if (r.pendingBytes <= MAX_REPLAY_BYTES && !r.reset) {
      const log = structuredClone(prev.log);
      for (const line of r.lines) foldLine(log, line, opts.keep);
      classifyUnclassified(logDir, log, opts);
      return { state: { cursor: r.cursor, log }, bootstrap: false, linesRead: r.lines.length, events: [], roundEvents: [] };
    }
  }
  return bootstrapHistory(logDir, opts);
}

export function foldLine(h: HistoryLog, line: string, keep: number): void {
  const kind = kindOf(line);
  if (kind === undefined) return;
  if (!HISTORY_KINDS.has(kind)) {
    noteKind(h, kind, tsOfLine(line));
    h.folded++;
    return;
  }
  // Unknown kinds, torn lines and lines that are not events fold to nothing.
  const ev = parseEvent(line);
  if (ev) foldEvent(h, ev, keep);
}

/** Derive the log from the newest lines, reading back only until every list is full. */
export function bootstrapHistory(logDir: string, opts: ScanOptions): Scanned {
  const cursor = cursorAtEnd(logDir);
  const keep = opts.keep;
  const wantEvents = opts.events ?? 0;
  const focusRe = opts.focusRound !== undefined ? new RegExp(`"round_num": ?${opts.focusRound}[,}]`) : undefined;
  const picked: string[] = [];
  const events: EventRecord[] = [];
  const roundEvents: EventRecord[] = [];
  let focusStarted = opts.focusRound === undefined;
  let exits = 0;
  let starts = 0;
  let supervisorSeen = false;
  let windowDone = false;
  // The newest day's spend: every costed exit of that UTC day, read on past the window if need be.
  let day: string | null = null;
  let dayStartMs = NaN;
  let dayDone = false;
  let dayUsd = 0;
  let dayRounds = 0;
  let windowEndBudget = NaN;
  let lines = 0;
  const budget = { bytes: opts.budgetBytes ?? DEFAULT_BUDGET_BYTES };
  for (const line of eventLinesBackward(logDir, budget, cursor)) {
    lines++;
    const kind = kindOf(line);
    if (kind === undefined) continue;
    if (events.length < wantEvents) {
      const rec = parseRecord(line);
      if (rec) events.push(rec);
    }
    if (focusRe && !focusStarted && focusRe.test(line)) {
      const rec = parseRecord(line);
      if (rec) roundEvents.push(rec);
      if (kind === 'round_start') focusStarted = true;
    }
    const folds = HISTORY_KINDS.has(kind);
    if (folds && day === null) {
      const ts = tsOfLine(line);
      if (Number.isFinite(ts)) {
        day = new Date(ts).toISOString().slice(0, 10);
        dayStartMs = Date.parse(`${day}T00:00:00.000Z`);
      }
    }
    if (!dayDone && kind === 'agent_exit') {
      // Numbers compared, nothing parsed but the cost: this part may run over a whole day of rounds.
      const ts = tsOfLine(line);
      if (ts < dayStartMs - ORDER_SLACK_MS) dayDone = true;
      else if (ts >= dayStartMs && ts < dayStartMs + DAY_MS) {
        const cost = costOfLine(line);
        if (cost !== undefined) {
          dayUsd = Math.round((dayUsd + cost) * 1e6) / 1e6;
          dayRounds++;
        }
      }
    }
    if (!windowDone) {
      if (folds) {
        picked.push(line);
        if (kind === 'agent_exit') exits++;
        else if (kind === 'round_start') starts++;
      } else if (!supervisorSeen && !isMonitorKind(kind)) {
        picked.push(line);
      }
      if (!isMonitorKind(kind)) supervisorSeen = true;
      // Enough for every list, plus the round_start that opens the oldest kept round.
      if (exits > keep && starts > keep && supervisorSeen) {
        windowDone = true;
        windowEndBudget = budget.bytes;
      }
    }
    const dayOver = dayDone || (windowDone && windowEndBudget - budget.bytes > DAY_SCAN_BYTES);
    if (windowDone && dayOver && events.length >= wantEvents && focusStarted) break;
  }
  const log = emptyLog();
  for (let i = picked.length - 1; i >= 0; i--) foldLine(log, picked[i]!, keep);
  // The fold counted the window's spend; the backward read counted the whole day.
  if (day !== null && log.cost.day === day) {
    const exhausted = budget.bytes <= 0 || (windowDone && windowEndBudget - budget.bytes > DAY_SCAN_BYTES);
    log.cost = { day, usd: dayUsd, rounds: dayRounds, complete: dayDone || !exhausted };
  }
  classifyUnclassified(logDir, log, opts);
  return { state: { cursor, log }, bootstrap: true, linesRead: lines, events: events.reverse(), roundEvents: roundEvents.reverse() };
}

const COST_RE = /"cost_usd": ?(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)[,}]/;

/** agent_exit's cost_usd without parsing the line (undefined when null or absent). */
function costOfLine(line: string): number | undefined {
  const m = COST_RE.exec(line);
  const v = m ? Number(m[1]) : NaN;
  return Number.isFinite(v) ? v : undefined;
}

// ---- the text fallback for exits no supervisor classified --------------------------------

const TAIL_BYTES = 16 * 1024;

/**
 * History written by a supervisor that never classified its rounds (upstream's) carries no
 * `transient`; for those failed short exits only, match the configured patterns against the last
 * lines of the round's log, as upstream did. Each log is read once: the verdict is kept.
 */
function classifyUnclassified(logDir: string, h: HistoryLog, opts: ScanOptions): void {
  if (!opts.authPatterns && !opts.networkPatterns) return;
  const auth = opts.authPatterns ?? [];
  const network = opts.networkPatterns ?? [];
  let names: string[] | undefined;
  for (const x of h.exits) {
    if (!x.unclassified || x.text_match !== undefined) continue;
    const failedShort = x.exit_code !== 0 && x.exit_code !== null && !x.timed_out && (x.duration_s ?? 0) < 60;
    if (!failedShort || x.round_num === null) {
      x.text_match = null;
      continue;
    }
    let path = logPathOf(h, x.round_num);
    if (!path) {
      names ??= listRoundLogs(stateFiles(logDir).rounds);
      const roundNum = x.round_num;
      const name = names.find((n) => isLogOfRound(n, roundNum));
      path = name ? join(stateFiles(logDir).rounds, name) : undefined;
    }
    const tail = path ? readTail(path, TAIL_BYTES).split('\n').slice(-50).join('\n') : '';
    x.text_match = auth.some((re) => re.test(tail)) ? 'auth_failure' : network.some((re) => re.test(tail)) ? 'network' : null;
  }
}

function listRoundLogs(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => roundOfLogName(n) !== undefined);
  } catch {
    return [];
  }
}

/** The last `bytes` of a file ('' when it cannot be read). */
export function readTail(path: string, bytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, bytes);
    const buf = Buffer.alloc(len);
    const n = readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}
