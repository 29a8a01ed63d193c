import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { decideLogEntries, type LogEntry } from './log-entries.js';

/** Bytes one page of a round log holds at most: a large log is read a page at a time, never whole. */
export const LOG_PAGE_BYTES = 64 * 1024;

export interface LogPage {
  round_num: number;
  /** The log file's size when this page was read (it grows while the round runs). */
  size: number;
  /** Where this page starts and where the next one does (null at the end of what is written). */
  offset: number;
  next_offset: number | null;
  /** Where the page before this one starts (null at the start of the file). */
  prev_offset: number | null;
  /** stream-json when any line of the page is a JSON object, else text. */
  format: 'stream-json' | 'text';
  entries: LogEntry[];
}

export { findRoundLog } from '../state/files.js';

/**
 * One page of the log from `offset` (bytes; 'tail' for the last page), cut at line ends so an
 * entry is never split: a page ends after its last complete line, unless one line is longer than
 * a page, which is then shown cut.
 */
export function readLogPage(path: string, roundNum: number, offset: number | 'tail'): LogPage {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    let from = offset === 'tail' ? Math.max(0, size - LOG_PAGE_BYTES) : Math.min(Math.max(0, offset), size);
    const buf = Buffer.allocUnsafe(Math.min(LOG_PAGE_BYTES, size - from));
    const n = buf.length ? readSync(fd, buf, 0, buf.length, from) : 0;
    let data = buf.subarray(0, n);
    if (offset === 'tail' && from > 0) {
      // Start at the first whole line of the tail.
      const nl = data.indexOf(10);
      if (nl >= 0 && nl < data.length - 1) {
        data = data.subarray(nl + 1);
        from += nl + 1;
      }
    }
    let end = from + data.length;
    if (end < size) {
      const nl = data.lastIndexOf(10);
      if (nl >= 0) {
        data = data.subarray(0, nl + 1);
        end = from + nl + 1;
      }
    }
    const lines = data.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    const entries = lines.flatMap((l) => decideLogEntries(l));
    return {
      round_num: roundNum,
      size,
      offset: from,
      next_offset: end < size ? end : null,
      prev_offset: from > 0 ? Math.max(0, from - LOG_PAGE_BYTES) : null,
      format: lines.some((l) => l.startsWith('{')) ? 'stream-json' : 'text',
      entries,
    };
  } finally {
    closeSync(fd);
  }
}
