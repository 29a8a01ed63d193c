import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

/**
 * Tells when something a probe reads under log_dir changed: the events files, status.json,
 * serve-state.json, halt.json… One inotify watch on the directory (not recursive: round logs
 * grow all round long and the probe does not read them), plus a slow poll of the files' sizes and
 * times for what inotify misses: a log_dir that does not exist yet, one deleted and made again
 * (the watch stays on the old inode), and filesystems that do not report changes (NFS, some FUSE).
 * Bursts are coalesced: one call per `debounceMs`, however many writes a round makes in it.
 */
export interface ChangeWatcherOptions {
  /** Changes closer together than this make one call (default 50 ms). */
  debounceMs?: number;
  /** How often the slow poll compares sizes and times (default 2 s). */
  fallbackMs?: number;
  /** Never use inotify: the slow poll only (filesystems where it is unreliable; tests). */
  pollOnly?: boolean;
}

export const DEFAULT_DEBOUNCE_MS = 50;
export const DEFAULT_FALLBACK_MS = 2000;

// Written and renamed by atomic writes (the rename reports the real name), or never read by a probe.
const IGNORED = /^\.|\.tmp$|^metrics-|\.lock$/;

export class ChangeWatcher {
  private watcher: FSWatcher | undefined;
  private readonly poller: NodeJS.Timeout;
  private debounce: NodeJS.Timeout | undefined;
  private signature: string;
  /** The inode of the directory the watch is on. */
  private watchedIno = '';
  private closed = false;
  private readonly debounceMs: number;

  constructor(
    readonly dir: string,
    private readonly onChange: () => void,
    private readonly opts: ChangeWatcherOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.signature = signatureOf(dir);
    this.arm();
    this.poller = setInterval(() => this.check(), opts.fallbackMs ?? DEFAULT_FALLBACK_MS);
    // A watcher never keeps a process alive by itself: the probe lives as long as its stdin.
    this.poller.unref();
  }

  /** Whether changes are reported by the kernel (else by the slow poll alone). */
  get watching(): boolean {
    return this.watcher !== undefined;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.poller);
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Watch the directory if it is not watched yet; whether a new watch was set. */
  private arm(): boolean {
    if (this.opts.pollOnly || this.watcher || this.closed) return false;
    try {
      const ino = statSync(this.dir).ino;
      const w = watch(this.dir, { persistent: false }, (_type, name) => {
        if (typeof name === 'string' && IGNORED.test(name)) return;
        this.changed();
      });
      // The directory went away (or the watch broke): the slow poll takes over until it is back.
      w.on('error', () => this.disarm(w));
      this.watcher = w;
      this.watchedIno = String(ino);
      return true;
    } catch {
      /* no such directory yet, or no inotify here: the slow poll covers it */
      return false;
    }
  }

  private disarm(w: FSWatcher): void {
    w.close();
    if (this.watcher === w) this.watcher = undefined;
  }

  /** The slow poll: a change inotify did not report, and a directory that (re)appeared. */
  private check(): void {
    const sig = signatureOf(this.dir);
    // A directory made again is another inode: the old watch would never fire.
    if (this.watcher && sig.split('|')[0] !== this.watchedIno) this.disarm(this.watcher);
    const rearmed = this.arm();
    if (rearmed || sig !== this.signature) this.changed();
  }

  private changed(): void {
    if (this.closed || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      if (this.closed) return;
      // Taken before the call: a change made while the caller reads is seen by the next check.
      this.signature = signatureOf(this.dir);
      this.onChange();
    }, this.debounceMs);
    this.debounce.unref();
  }
}

/** The directory's identity, and each file's size and modification time (a few dozen stats). */
function signatureOf(dir: string): string {
  let names: string[];
  let ino: number;
  try {
    ino = statSync(dir).ino;
    names = readdirSync(dir).filter((n) => !IGNORED.test(n)).sort();
  } catch {
    return 'absent';
  }
  const parts = [String(ino)];
  for (const n of names) {
    try {
      const s = statSync(join(dir, n));
      if (s.isFile()) parts.push(`${n}:${s.size}:${s.mtimeMs}`);
    } catch {
      /* removed while listing */
    }
  }
  return parts.join('|');
}
