import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, sleep } from '../../src/util/sleep.js';

describe('sleep', () => {
  it('sleeps the whole time when nothing aborts it', async () => {
    expect(await sleep(5)).toBe(true);
    expect(await sleep(5, new AbortController().signal)).toBe(true);
    expect(await sleep(0)).toBe(true);
  });

  it('answers false at once for a signal already aborted', async () => {
    const ac = new AbortController();
    ac.abort('SIGTERM');
    expect(await sleep(60_000, ac.signal)).toBe(false);
  });

  it('ends early, without throwing, when the signal aborts', async () => {
    const ac = new AbortController();
    const slept = sleep(60_000, ac.signal);
    ac.abort('SIGTERM');
    expect(await slept).toBe(false);
  });

  it('a wait past the timer limit is chunked, not fired at once (a bare setTimeout would fire in 1 ms)', async () => {
    const ac = new AbortController();
    let settled = false;
    const slept = sleep(MAX_TIMER_MS + 1000, ac.signal).then((r) => ((settled = true), r));
    await sleep(50);
    expect(settled).toBe(false);
    ac.abort();
    expect(await slept).toBe(false);
  });
});
