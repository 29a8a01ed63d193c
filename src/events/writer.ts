import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Redactor } from '../util/redact.js';
import { eventsFile } from '../state/files.js';
import { isoNow } from '../util/time.js';
import { EVENT_KINDS } from './kinds.js';
import { toJsonLine } from './json-line.js';
import type { EventPayloads, KnownKind } from './payloads.js';

/** No single event may approach the page size; oversized strings are cut, never the line. */
const MAX_STRING = 2000;

type LoosePayload = Record<string, unknown>;

export interface EventSink {
  /** The payload's type is the kind's (payloads.ts): a missing or misspelt field fails the type check. */
  emit<K extends KnownKind>(kind: K, payload: EventPayloads[K]): void;
  /** The first failed write (disk full, I/O error), if any: events are never worth a crash mid-round. */
  readonly writeError?: Error | undefined;
}

/**
 * Appends one JSON line per event to `events-YYYY-MM.jsonl` (UTC month). Each line is one write()
 * on an O_APPEND descriptor, so concurrent writers (round, serve, monitor) never interleave.
 */
export class EventWriter implements EventSink {
  writeError: Error | undefined;

  constructor(
    readonly logDir: string,
    private readonly redactor: Redactor = new Redactor(),
    private readonly clock: () => number = Date.now,
  ) {}

  emit<K extends KnownKind>(kind: K, payload: EventPayloads[K]): void {
    // The type check covers callers in this code base; this covers everything else (casts, JS).
    if (!Object.hasOwn(EVENT_KINDS, kind)) throw new Error(`unknown event kind: ${kind}`);
    const now = this.clock();
    const record = { ts: isoNow(now), event: kind, ...this.redactor.value(clip(payload as LoosePayload)) };
    try {
      appendLine(eventsFile(this.logDir, now), toJsonLine(record));
    } catch (err) {
      // A full disk must not crash a supervisor that still has an agent tree to clean up: the
      // caller checks writeError at a safe point and stops cleanly.
      this.writeError ??= err as Error;
    }
  }
}

export function appendLine(path: string, line: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    fd = openSync(path, 'a', 0o600);
  }
  try {
    const buf = Buffer.from(line);
    const n = writeSync(fd, buf);
    // A short write on a regular file means the disk is full; never leave half a line behind silently.
    if (n !== buf.length) throw Object.assign(new Error(`short write to ${path}`), { code: 'ENOSPC' });
  } finally {
    closeSync(fd);
  }
}

function clip(x: LoosePayload): LoosePayload {
  const out: LoosePayload = {};
  for (const [k, v] of Object.entries(x)) out[k] = typeof v === 'string' && v.length > MAX_STRING ? v.slice(0, MAX_STRING) + '…' : v;
  return out;
}
