import { appendFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cursorAtEnd, eventLinesBackward, formatCursor, kindOf, linesBackward, parseCursor, readSince, tsOfLine,
} from '../../src/events/reader.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ar-reader-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const line = (n: number, extra = '') => `{"ts": "2026-11-21T00:00:${String(n % 60).padStart(2, '0')}.000Z", "event": "round_end", "round_num": ${n}${extra}}`;

describe('reading back from the end', () => {
  it('yields every complete line newest first, across chunk boundaries, skipping an unfinished last line', () => {
    const d = tmp();
    const f = join(d, 'events-2026-11.jsonl');
    // Lines of varied length so that many straddle the 64 KiB chunk boundaries.
    const all = Array.from({ length: 5000 }, (_, i) => line(i, `, "pad": "${'x'.repeat((i * 37) % 200)}"`));
    writeFileSync(f, all.join('\n') + '\n' + '{"ts": "2026-11-21T00:00:00.000Z", "event": "partial');
    expect([...linesBackward(f)]).toEqual([...all].reverse());
  });

  it('handles a file without a trailing newline-free tail, empty lines and a single line', () => {
    const d = tmp();
    const f = join(d, 'a');
    writeFileSync(f, 'one\n\ntwo\n');
    expect([...linesBackward(f)]).toEqual(['two', 'one']);
    writeFileSync(f, 'only\n');
    expect([...linesBackward(f)]).toEqual(['only']);
    writeFileSync(f, '');
    expect([...linesBackward(f)]).toEqual([]);
    expect([...linesBackward(join(d, 'missing'))]).toEqual([]);
  });

  it('stops at the byte budget, and starts exactly at a cursor', () => {
    const d = tmp();
    writeFileSync(join(d, 'events-2026-10.jsonl'), [line(1), line(2)].join('\n') + '\n');
    writeFileSync(join(d, 'events-2026-11.jsonl'), [line(3), line(4)].join('\n') + '\n');
    const cur = cursorAtEnd(d);
    appendFileSync(join(d, 'events-2026-11.jsonl'), line(5) + '\n');
    writeFileSync(join(d, 'events-2026-12.jsonl'), line(6) + '\n');
    const upToCursor = [...eventLinesBackward(d, { bytes: Infinity }, cur)].map((l) => JSON.parse(l).round_num);
    expect(upToCursor).toEqual([4, 3, 2, 1]);
    const budget = { bytes: 10 };
    expect([...eventLinesBackward(d, budget)].length).toBeLessThan(3);
  });

  it('reads kind and ts without parsing', () => {
    expect(kindOf(line(1))).toBe('round_end');
    expect(kindOf('{"ts":"x","event":"agent_exit"}')).toBe('agent_exit');
    expect(kindOf('garbage')).toBe(undefined);
    expect(tsOfLine(line(7))).toBe(Date.parse('2026-11-21T00:00:07.000Z'));
    expect(Number.isNaN(tsOfLine('{}'))).toBe(true);
  });
});

describe('reading forward from a cursor', () => {
  it('returns only complete lines appended since, across a month change and a late write to the old month', () => {
    const d = tmp();
    const oct = join(d, 'events-2026-10.jsonl');
    const nov = join(d, 'events-2026-11.jsonl');
    writeFileSync(oct, line(1) + '\n');
    let c = cursorAtEnd(d);
    appendFileSync(oct, line(2) + '\n' + line(3).slice(0, 10));
    let r = readSince(d, c);
    expect(r.lines.map((l) => JSON.parse(l).round_num)).toEqual([2]);
    c = r.cursor;
    appendFileSync(oct, line(3).slice(10) + '\n');
    writeFileSync(nov, line(4) + '\n');
    r = readSince(d, c);
    expect(r.lines.map((l) => JSON.parse(l).round_num)).toEqual([3, 4]);
    c = r.cursor;
    appendFileSync(oct, line(5) + '\n'); // late writer
    appendFileSync(nov, line(6) + '\n');
    r = readSince(d, c);
    expect(r.lines.map((l) => JSON.parse(l).round_num)).toEqual([5, 6]);
    expect(readSince(d, r.cursor).lines).toEqual([]);
  });

  it('re-reads a truncated or replaced file from its start and says so', () => {
    const d = tmp();
    const f = join(d, 'events-2026-11.jsonl');
    writeFileSync(f, line(1) + '\n' + line(2) + '\n');
    const c = cursorAtEnd(d);
    truncateSync(f, 0);
    appendFileSync(f, line(3) + '\n');
    const r = readSince(d, c);
    expect(r.reset).toBe(true);
    expect(r.lines.map((l) => JSON.parse(l).round_num)).toEqual([3]);
  });

  it('refuses a backlog past maxBytes without reading it', () => {
    const d = tmp();
    writeFileSync(join(d, 'events-2026-11.jsonl'), '');
    const c = cursorAtEnd(d);
    appendFileSync(join(d, 'events-2026-11.jsonl'), (line(1) + '\n').repeat(100));
    const r = readSince(d, c, 1000);
    expect(r.lines).toEqual([]);
    expect(r.pendingBytes).toBeGreaterThan(1000);
    expect(r.cursor).toEqual(c);
  });

  it('cursors round-trip through their text form and reject anything else', () => {
    const c = { files: [{ month: '2026-10', offset: 12, ino: 34 }, { month: '2026-11', offset: 0, ino: 56 }] };
    expect(parseCursor(formatCursor(c))).toEqual(c);
    expect(parseCursor('v1:')).toEqual({ files: [] });
    for (const bad of ['', 'v2:2026-10@1@2', 'v1:2026-10@1', 'v1:2026-10@1@2;;', 'v1:x@1@2', 'v1:2026-10@-1@2']) expect(parseCursor(bad), bad).toBe(undefined);
  });
});
