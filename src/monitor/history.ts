import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import {
  cursorAtEnd, eventLinesBackward, formatCursor, kindOf, parseEvent, readSince, tsOfLine, type Cursor,
} from '../events/reader.js';
import { isLogOfRound, stateFiles } from '../state/files.js';
import { DIGEST_KINDS, emptyDigest, fold, isMonitorKind, logPathOf, noteKind, type Digest } from './digest.js';

/**
 * The monitor's view of the events history: a digest plus the cursor it is valid at. A poll
 * advances it with only the lines appended since the cursor; with no usable previous state (first
 * poll, another client's cursor, a month of backlog) it is re-derived from the end of the history,
 * which reads a bounded amount. Either way the cost does not depend on the history's length.
 */
export interface HistoryState {
  cursor: Cursor;
  digest: Digest;
}

/** A backlog larger than this is not replayed: the digest is re-derived from the end instead. */
const MAX_REPLAY_BYTES = 4 * 1024 * 1024;
/** How far back a bootstrap may read at most. */
const MAX_BOOTSTRAP_BYTES = 8 * 1024 * 1024;

export interface AdvanceOptions {
  /** Records kept per list (≥ the detectors' window). */
  keep: number;
  authPatterns: RegExp[];
  networkPatterns: RegExp[];
}

export interface Advanced {
  state: HistoryState;
  bootstrap: boolean;
  linesRead: number;
}

export function advanceHistory(logDir: string, prev: HistoryState | undefined, opts: AdvanceOptions): Advanced {
  if (prev) {
    const r = readSince(logDir, prev.cursor, MAX_REPLAY_BYTES);
    if (r.pendingBytes <= MAX_REPLAY_BYTES && !r.reset) {
      const digest = structuredClone(prev.digest);
      for (const line of r.lines) foldLine(digest, line, opts.keep);
      classifyUnclassified(logDir, digest, opts);
      return { state: { cursor: r.cursor, digest }, bootstrap: false, linesRead: r.lines.length };
    }
  }
  return bootstrapHistory(logDir, opts);
}

function foldLine(d: Digest, line: string, keep: number): void {
  const kind = kindOf(line);
  if (kind === undefined) return;
  if (!DIGEST_KINDS.has(kind)) {
    noteKind(d, kind, tsOfLine(line));
    d.folded++;
    return;
  }
  const ev = parseEvent(line);
  if (ev) fold(d, ev, keep);
}

/** Derive the digest from the newest lines, reading back only until every list is full. */
export function bootstrapHistory(logDir: string, opts: AdvanceOptions): Advanced {
  const cursor = cursorAtEnd(logDir);
  const picked: string[] = [];
  let exits = 0;
  let attempts = 0;
  let supervisorSeen = false;
  let lines = 0;
  const budget = { bytes: MAX_BOOTSTRAP_BYTES };
  for (const line of eventLinesBackward(logDir, budget, cursor)) {
    lines++;
    const kind = kindOf(line);
    if (kind === undefined) continue;
    if (DIGEST_KINDS.has(kind)) {
      picked.push(line);
      if (kind === 'agent_exit') exits++;
      else if (kind === 'round_start' || kind === 'smoke_check_failed') attempts++;
    } else if (!supervisorSeen && !isMonitorKind(kind)) {
      picked.push(line);
    }
    if (!isMonitorKind(kind)) supervisorSeen = true;
    // Enough for every list, plus the round_end/round_start that bound the oldest kept round.
    if (exits > opts.keep && attempts > opts.keep && supervisorSeen) break;
  }
  const digest = emptyDigest();
  for (let i = picked.length - 1; i >= 0; i--) foldLine(digest, picked[i]!, opts.keep);
  classifyUnclassified(logDir, digest, opts);
  return { state: { cursor, digest }, bootstrap: true, linesRead: lines };
}

export function cursorText(s: HistoryState): string {
  return formatCursor(s.cursor);
}

// ---- the text fallback for exits no supervisor classified --------------------------------

const TAIL_BYTES = 16 * 1024;

/**
 * History written by a supervisor that never classified its rounds (upstream's) carries no
 * `transient`; for those failed short exits only, match the configured patterns against the last
 * lines of the round's log, as upstream did. Each log is read once: the verdict is kept.
 */
function classifyUnclassified(logDir: string, d: Digest, opts: AdvanceOptions): void {
  let names: string[] | undefined;
  for (const x of d.exits) {
    if (!x.unclassified || x.text_match !== undefined) continue;
    const failedShort = x.exit_code !== 0 && x.exit_code !== null && !x.timed_out && (x.duration_s ?? 0) < 60;
    if (!failedShort || x.round_num === null) {
      x.text_match = null;
      continue;
    }
    let path = logPathOf(d, x.round_num);
    if (!path) {
      names ??= listRoundLogs(stateFiles(logDir).rounds);
      const roundNum = x.round_num;
      const name = names.find((n) => isLogOfRound(n, roundNum));
      path = name ? join(stateFiles(logDir).rounds, name) : undefined;
    }
    const tail = path ? readTail(path, TAIL_BYTES).split('\n').slice(-50).join('\n') : '';
    x.text_match = opts.authPatterns.some((re) => re.test(tail)) ? 'auth_failure' : opts.networkPatterns.some((re) => re.test(tail)) ? 'network' : null;
  }
}

function listRoundLogs(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => n.startsWith('R'));
  } catch {
    return [];
  }
}

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
