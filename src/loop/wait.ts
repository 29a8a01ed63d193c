import { sleep } from '../util/sleep.js';

/**
 * An abortable wait until a wall-clock instant. It sleeps in chunks of at most `beatMs`, re-reading
 * the clock each time: waits longer than Node's 24.8-day timer limit work, a clock jump (suspend,
 * NTP) is honoured, and `onBeat` can emit heartbeats so the witness can tell waiting from stuck.
 */
export async function waitUntil(untilMs: number, signal: AbortSignal, onBeat?: () => void, beatMs = 60_000): Promise<'done' | 'aborted'> {
  while (!signal.aborted) {
    const left = untilMs - Date.now();
    if (left <= 0) return 'done';
    if (!(await sleep(Math.min(left, beatMs), signal))) return 'aborted';
    if (untilMs - Date.now() > 0) onBeat?.();
  }
  return 'aborted';
}
