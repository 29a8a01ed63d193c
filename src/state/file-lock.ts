import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { isAlive, readStat } from '../proc/procfs.js';
import { sleep } from '../util/sleep.js';

/**
 * A short-held lock for a read-modify-write of a small file that several supervisors share: an
 * O_EXCL `<file>.lock` holding the holder's pid and start time. The project lock's flock(1) helper
 * is built to be held for a whole serve; this one lives for a few milliseconds, so a helper process
 * per write would cost more than the write. A holder that died (or whose pid was reused), or a lock
 * older than `staleMs`, is taken over: a crash can delay a writer, never block it for good.
 */
export async function withFileLock<T>(lockPath: string, fn: () => T | Promise<T>, opts: { timeoutMs?: number; staleMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  const staleMs = opts.staleMs ?? 30_000;
  const me = readStat(process.pid);
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid} ${me?.starttime ?? ''}`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (isStale(lockPath, staleMs)) {
        try {
          unlinkSync(lockPath);
        } catch {
          /* another waiter took it over first */
        }
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lockPath} is held by another process (waited ${opts.timeoutMs ?? 10_000} ms)`, { cause: err });
      await sleep(20);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(lockPath);
    } catch {
      /* taken over as stale: nothing of ours left to remove */
    }
  }
}

function isStale(lockPath: string, staleMs: number): boolean {
  try {
    const [pid, start] = readFileSync(lockPath, 'utf8').trim().split(' ');
    if (Date.now() - statSync(lockPath).mtimeMs > staleMs) return true;
    // An empty file is a holder between create and write: not stale yet.
    if (!pid) return false;
    return !isAlive(Number(pid), start ? Number(start) : undefined);
  } catch {
    return false; // gone already: the next open decides
  }
}
