import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isEventKind } from './kinds.js';
import type { EventRecord, StoredEvent } from './payloads.js';
import { monthOfEventsFile } from '../state/files.js';
import { sleep } from '../util/sleep.js';

export type { EventRecord, StoredEvent } from './payloads.js';

/**
 * Reading the events files without ever reading a whole history: newest-first by seeking back
 * from the end in chunks (peek, bootstrap of the monitor, `events --window`), and forward from a
 * persisted byte cursor (monitor polls, `events --tail`). Cost depends on what is asked for, never
 * on how long the history is.
 */

const CHUNK = 64 * 1024;

/** Monthly events files, oldest first (the month is in the name, so a string sort is a time sort). */
export function listEventFiles(logDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(logDir);
  } catch {
    return [];
  }
  return names.filter((n) => monthOfEventsFile(n) !== undefined).sort();
}

/** The kind of a stored line without parsing it: lines are written by one serialiser, `"event": "<kind>"`. */
export function kindOf(line: string): string | undefined {
  let i = line.indexOf('"event":');
  if (i < 0) return undefined;
  i += 8;
  while (line.charCodeAt(i) === 32) i++;
  if (line.charCodeAt(i) !== 34) return undefined;
  const end = line.indexOf('"', i + 1);
  return end > i ? line.slice(i + 1, end) : undefined;
}

/**
 * Any stored line as it is, whatever its kind (for showing events: `peek --events`, narrate).
 * undefined for a torn or foreign line: readers skip those, as upstream's do.
 */
export function parseRecord(line: string): EventRecord | undefined {
  if (line.charCodeAt(0) !== 123 /* { */) return undefined;
  try {
    const v = JSON.parse(line) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v) && typeof (v as EventRecord).event === 'string' && typeof (v as EventRecord).ts === 'string') return v as EventRecord;
  } catch {
    /* a torn line (a write in progress, a crash mid-write) or not JSON at all */
  }
  return undefined;
}

/**
 * A stored line as one member of the kind union: `switch (ev.event)` gives each kind's fields.
 * undefined for a torn line, a line that is not an event, and a kind this version does not write
 * (another version's, upstream's plugins'): history is shared with other writers, and a reader
 * that decides something must only decide from kinds whose meaning it knows. Fields may be
 * missing (older writers), so readers check them before use.
 */
export function parseEvent(line: string): StoredEvent | undefined {
  const rec = parseRecord(line);
  return rec && isEventKind(rec.event) ? (rec as StoredEvent) : undefined;
}

/**
 * Lines of one file, newest first, read backwards in 64 KiB chunks. A final line without its
 * newline (a write in progress) is skipped: it will be read whole next time.
 */
export function* linesBackward(path: string, budget: { bytes: number } = { bytes: Infinity }, end?: number): Generator<string> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return;
  }
  try {
    let pos = Math.min(fstatSync(fd).size, end ?? Infinity);
    // The start of a line whose beginning lies in an earlier (not yet read) chunk.
    let carry: Buffer | undefined;
    // Until the first newline is seen, bytes belong to an unfinished last line.
    let inTail = true;
    while (pos > 0 && budget.bytes > 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.allocUnsafe(len);
      readSync(fd, buf, 0, len, pos);
      budget.bytes -= len;
      let data: Buffer;
      let stop: number; // exclusive end of the newest line not yet emitted
      if (inTail) {
        const lastNl = buf.lastIndexOf(10);
        if (lastNl < 0) continue;
        inTail = false;
        data = buf;
        stop = lastNl;
      } else {
        data = carry ? Buffer.concat([buf, carry]) : buf;
        stop = data.length;
      }
      while (stop > 0) {
        const nl = data.lastIndexOf(10, stop - 1);
        if (nl < 0) break;
        if (stop > nl + 1) yield data.toString('utf8', nl + 1, stop);
        stop = nl;
      }
      carry = stop > 0 ? data.subarray(0, stop) : undefined;
      if (pos === 0 && carry) yield carry.toString('utf8');
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Lines of every events file, newest first, within a byte budget shared across files. With
 * `until`, reading starts exactly at that cursor, so a state derived backwards from it and then
 * advanced forwards from it sees every line exactly once.
 */
export function* eventLinesBackward(logDir: string, budget: { bytes: number } = { bytes: Infinity }, until?: Cursor): Generator<string> {
  const files = listEventFiles(logDir);
  const newest = until?.files.at(-1)?.month;
  for (let i = files.length - 1; i >= 0 && budget.bytes > 0; i--) {
    const month = monthOfEventsFile(files[i]!)!;
    if (until && (newest === undefined || month > newest)) continue;
    const end = until?.files.find((f) => f.month === month)?.offset;
    yield* linesBackward(join(logDir, files[i]!), budget, end);
  }
}

// ---- forward reading from a cursor ---------------------------------------------------------

/** Where a reader stopped in one monthly file: just after the last complete line it consumed. */
export interface FilePosition {
  month: string;
  offset: number;
  ino: number;
}

/**
 * A position in the events history: the newest two monthly files, so a line a writer appends to
 * last month's file just after the month turned is still read, not dropped.
 */
export interface Cursor {
  files: FilePosition[];
}

const CURSOR_RE = /^v1:((?:\d{4}-\d{2}@\d+@\d+)(?:;\d{4}-\d{2}@\d+@\d+)?)?$/;

export function formatCursor(c: Cursor): string {
  return 'v1:' + c.files.map((f) => `${f.month}@${f.offset}@${f.ino}`).join(';');
}

/** undefined when the text is not a cursor this version writes. */
export function parseCursor(text: string): Cursor | undefined {
  if (!CURSOR_RE.test(text)) return undefined;
  const body = text.slice(3);
  if (body === '') return { files: [] };
  return {
    files: body.split(';').map((part) => {
      const [month, offset, ino] = part.split('@');
      return { month: month!, offset: Number(offset), ino: Number(ino) };
    }),
  };
}

/** A cursor at the current end of the history. */
export function cursorAtEnd(logDir: string): Cursor {
  const files = listEventFiles(logDir).slice(-2);
  const out: FilePosition[] = [];
  for (const name of files) {
    const path = join(logDir, name);
    const st = statOf(path);
    if (st) out.push({ month: monthOfEventsFile(name)!, offset: endOfLastLine(path, st.size), ino: st.ino });
  }
  return { files: out };
}

/**
 * Just after the last newline at or before `size`: a line still being written is not behind the
 * cursor, so a reader that starts there reads it whole once it is complete.
 */
function endOfLastLine(path: string, size: number): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return size;
  }
  try {
    let pos = size;
    const buf = Buffer.allocUnsafe(CHUNK);
    while (pos > 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const n = readSync(fd, buf, 0, len, pos);
      const nl = buf.subarray(0, n).lastIndexOf(10);
      if (nl >= 0) return pos + nl + 1;
    }
    return 0;
  } finally {
    closeSync(fd);
  }
}

export interface ReadSince {
  lines: string[];
  cursor: Cursor;
  /** Bytes that were appended since the cursor (read or not). */
  pendingBytes: number;
  /** A file the cursor pointed into shrank or was replaced: its reading restarted at 0. */
  reset: boolean;
}

/**
 * Every complete line appended since `cursor`, in write order, and the cursor after them.
 * When more than `maxBytes` are pending nothing is read and `lines` is empty with
 * pendingBytes > maxBytes, so a caller can re-derive its state from the end instead.
 */
export function readSince(logDir: string, cursor: Cursor, maxBytes = Infinity): ReadSince {
  const known = new Map(cursor.files.map((f) => [f.month, f]));
  const oldest = cursor.files[0]?.month;
  const names = listEventFiles(logDir).filter((n) => oldest === undefined || monthOfEventsFile(n)! >= oldest);
  const plan: Array<{ path: string; month: string; from: number; size: number; ino: number }> = [];
  let pending = 0;
  let reset = false;
  for (const name of names) {
    const month = monthOfEventsFile(name)!;
    const path = join(logDir, name);
    const st = statOf(path);
    if (!st) continue;
    const prev = known.get(month);
    let from = 0;
    if (prev) {
      if (prev.ino === st.ino && st.size >= prev.offset) from = prev.offset;
      else reset = true; // truncated, or replaced by another file: its content is all new
    }
    pending += st.size - from;
    plan.push({ path, month, from, size: st.size, ino: st.ino });
  }
  if (pending > maxBytes) return { lines: [], cursor, pendingBytes: pending, reset };
  const lines: string[] = [];
  const positions: FilePosition[] = [];
  for (const p of plan) {
    const consumed = readLinesForward(p.path, p.from, p.size, lines);
    positions.push({ month: p.month, offset: p.from + consumed, ino: p.ino });
  }
  // Older months receive no more writes: the newest two positions are the whole cursor.
  return { lines, cursor: { files: positions.slice(-2) }, pendingBytes: pending, reset };
}

/** Appends complete lines of path[from, to) to `out`; returns the bytes consumed (through the last newline). */
function readLinesForward(path: string, from: number, to: number, out: string[]): number {
  if (to <= from) return 0;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 0;
  }
  try {
    let pos = from;
    // Absolute offset where the not-yet-complete line (`carry`) starts.
    let lineStart = from;
    let carry: Buffer | undefined;
    while (pos < to) {
      const len = Math.min(1024 * 1024, to - pos);
      const buf = Buffer.allocUnsafe(len);
      const n = readSync(fd, buf, 0, len, pos);
      if (n <= 0) break;
      pos += n;
      const data = carry ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      let start = 0;
      for (;;) {
        const nl = data.indexOf(10, start);
        if (nl < 0) break;
        if (nl > start) out.push(data.toString('utf8', start, nl));
        start = nl + 1;
      }
      lineStart += start;
      carry = start < data.length ? Buffer.from(data.subarray(start)) : undefined;
    }
    return lineStart - from;
  } finally {
    closeSync(fd);
  }
}

function statOf(path: string): { size: number; ino: number } | undefined {
  try {
    const st = statSync(path);
    return { size: st.size, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** The `ts` of a stored line as epoch ms, without parsing the line (NaN when absent). */
export function tsOfLine(line: string): number {
  const i = line.indexOf('"ts":');
  if (i < 0) return NaN;
  const q = line.indexOf('"', i + 5);
  const end = q < 0 ? -1 : line.indexOf('"', q + 1);
  return end > q ? Date.parse(line.slice(q + 1, end)) : NaN;
}

/**
 * Follow the history from `cursor`: every complete line appended after it, once, in order, across
 * monthly rotation (the previous month's file is still read for late writes) and truncation (a file
 * that shrank or was replaced is read again from its start). Resolves when `signal` aborts.
 */
export async function followLines(logDir: string, cursor: Cursor, onLine: (line: string) => void, signal: AbortSignal, intervalMs = 200): Promise<Cursor> {
  let at = cursor;
  while (!signal.aborted) {
    const r = readSince(logDir, at);
    for (const line of r.lines) onLine(line);
    at = r.cursor;
    await sleep(intervalMs, signal);
  }
  return at;
}
