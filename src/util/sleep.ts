import { setTimeout as delay } from 'node:timers/promises';

/** The furthest ahead a Node timer can fire (2^31 − 1 ms, about 24.8 days); longer waits are chunked. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The one sleep: resolves after `ms` on libuv's monotonic timer clock, or as soon as `signal`
 * aborts. It never rejects on abort; it answers whether it slept the whole time. Waits past Node's
 * timer limit are re-armed in chunks instead of firing at once.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  let left = ms;
  while (left > 0) {
    if (signal?.aborted) return false;
    const chunk = Math.min(left, MAX_TIMER_MS);
    try {
      await delay(chunk, undefined, signal ? { signal } : undefined);
    } catch (err) {
      if (signal?.aborted) return false;
      throw err;
    }
    left -= chunk;
  }
  return !signal?.aborted;
}
