import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { monoMs } from '../util/time.js';
import type { RepetitionOptions } from './repetition.js';
import { feedLine, newStreamState, type StreamState } from './stream-json.js';

/**
 * Follows the round log while the agent writes it through its own descriptor (never a pipe to
 * us: a grandchild holding a pipe would keep the round open). Each poll reads only the new bytes,
 * feeds complete lines to the stream-json reader, notes when output last grew, and keeps the file
 * under its cap by eliding the middle (head and tail survive, with a marker saying how much went).
 */
const MAX_READ_PER_POLL = 4 * 1024 * 1024;
const MAX_LINE = 1024 * 1024;

export class LogFollower {
  readonly stream: StreamState;
  /** Monotonic ms of the last growth of the log. */
  lastActivity = monoMs();
  elidedBytes = 0;
  /** Holds the agent's processes still while the log is rewritten; returns the release. */
  holdWriters?: () => (() => void) | undefined;
  private offset = 0;
  private partial = '';
  private dropLine = false;
  private readonly fd: number;
  private readonly head: number;
  private readonly tail: number;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly onTruncate?: (elided: number) => void,
    repetition?: RepetitionOptions,
  ) {
    this.stream = newStreamState(repetition);
    this.fd = openSync(path, 'r+');
    this.head = Math.floor(maxBytes / 2);
    this.tail = Math.floor(maxBytes / 4);
  }

  get size(): number {
    try {
      return fstatSync(this.fd).size;
    } catch {
      return this.offset;
    }
  }

  poll(): void {
    let size = this.size;
    if (size > this.offset) this.lastActivity = monoMs();
    if (size > this.maxBytes) size = this.capSize(size);
    if (size > this.offset + MAX_READ_PER_POLL) {
      // A flood: skip to recent output; the skipped region is only ever elided anyway.
      this.offset = size - MAX_READ_PER_POLL;
      this.partial = '';
      this.dropLine = true;
    }
    while (this.offset < size) {
      const len = Math.min(size - this.offset, 1024 * 1024);
      const buf = Buffer.alloc(len);
      const n = readSync(this.fd, buf, 0, len, this.offset);
      if (n <= 0) break;
      this.offset += n;
      this.consume(buf.subarray(0, n).toString('utf8'));
    }
  }

  private consume(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) break;
      const piece = chunk.slice(start, nl);
      if (!this.dropLine) feedLine(this.stream, this.partial + piece);
      this.partial = '';
      this.dropLine = false;
      start = nl + 1;
    }
    if (!this.dropLine) {
      this.partial += chunk.slice(start);
      // A 200 MB line without a newline must not become 200 MB of memory.
      if (this.partial.length > MAX_LINE) {
        this.partial = '';
        this.dropLine = true;
      }
    }
  }

  /**
   * Keep [0, head) and the last `tail` bytes; replace the middle with a marker. The agent keeps
   * appending meanwhile: with `holdWriters` (the round's cgroup freezer) it is held still for the
   * rewrite; without it, the tail is read again until the size stands still, which narrows the
   * window in which an append could be lost to the truncate call itself.
   */
  private capSize(seen: number): number {
    const thaw = this.holdWriters?.();
    try {
      return this.rewrite(seen);
    } finally {
      thaw?.();
    }
  }

  private rewrite(seen: number): number {
    const buf = Buffer.alloc(this.tail);
    let size = Math.max(seen, this.size);
    let tailStart = size - this.tail;
    let n = readSync(this.fd, buf, 0, this.tail, tailStart);
    for (let i = 0; i < 5 && this.size !== size; i++) {
      size = this.size;
      tailStart = size - this.tail;
      n = readSync(this.fd, buf, 0, this.tail, tailStart);
    }
    const elided = tailStart - this.head;
    this.elidedBytes += elided;
    const marker = Buffer.from(`\n[agent-runner: ${this.elidedBytes} bytes elided to keep this log under round_log_max_bytes=${this.maxBytes}]\n`);
    ftruncateSync(this.fd, this.head);
    // The agent's descriptor is O_APPEND: its next write lands after what we put back.
    writeSync(this.fd, marker, 0, marker.length, this.head);
    writeSync(this.fd, buf, 0, n, this.head + marker.length);
    const newSize = this.head + marker.length + n;
    // The kept tail may hold output not read yet (the agent's final result line, often): reading
    // resumes where it stood within the tail. If the elided middle held unread bytes, the first
    // line of the tail may be a fragment: it is dropped.
    if (this.offset < tailStart) {
      this.partial = '';
      this.dropLine = true;
    }
    this.offset = this.head + marker.length + Math.max(0, this.offset - tailStart);
    this.onTruncate?.(this.elidedBytes);
    return newSize;
  }

  /** The last `bytes` of the log, for text classification and peek. */
  tailText(bytes = 16384): string {
    const size = this.size;
    const len = Math.min(size, bytes);
    const buf = Buffer.alloc(len);
    const n = readSync(this.fd, buf, 0, len, size - len);
    return buf.subarray(0, n).toString('utf8');
  }

  /** Read what is left; a final line without a newline is still the agent's last word. */
  finish(): void {
    this.poll();
    if (this.partial && !this.dropLine) feedLine(this.stream, this.partial);
    this.partial = '';
  }

  close(): void {
    closeSync(this.fd);
  }
}
