import { cursorAtEnd, eventLinesBackward, followLines, kindOf, tsOfLine, type Cursor } from '../events/reader.js';

/**
 * The `events` verb: matching lines exactly as stored (so `jq` pipelines see upstream's format),
 * read back from the end, or followed as they are appended.
 */
export interface EventsQuery {
  kinds?: ReadonlySet<string>;
  sinceMs?: number;
  /** Newest N matches; undefined = all since `sinceMs`. */
  window?: number;
}

/** Writers on several processes append concurrently: tolerate timestamps this far out of order. */
const ORDER_SLACK_MS = 60_000;

export function matches(line: string, q: EventsQuery): boolean {
  if (q.kinds) {
    const k = kindOf(line);
    if (k === undefined || !q.kinds.has(k)) return false;
  }
  if (q.sinceMs !== undefined && !(tsOfLine(line) >= q.sinceMs)) return false;
  return true;
}

/** Matching lines up to `until` (default: the current end), oldest first. */
export function lastMatching(logDir: string, q: EventsQuery, until?: Cursor): string[] {
  const out: string[] = [];
  const limit = q.window ?? Infinity;
  for (const line of eventLinesBackward(logDir, { bytes: Infinity }, until ?? cursorAtEnd(logDir))) {
    if (out.length >= limit) break;
    if (q.sinceMs !== undefined && tsOfLine(line) < q.sinceMs - ORDER_SLACK_MS) break;
    if (matches(line, q)) out.push(line);
  }
  return out.reverse();
}

/** Print matches since `q.sinceMs` (if any), then follow; nothing is printed twice or skipped. */
export async function tailMatching(logDir: string, q: EventsQuery, print: (line: string) => void, signal: AbortSignal, intervalMs = 200): Promise<void> {
  const start = cursorAtEnd(logDir);
  if (q.sinceMs !== undefined) for (const line of lastMatching(logDir, { ...q, window: undefined }, start)) print(line);
  await followLines(logDir, start, (line) => matches(line, { ...q, sinceMs: undefined }) && print(line), signal, intervalMs) ;
}
