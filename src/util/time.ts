/** ISO-8601 UTC with milliseconds and a trailing Z, as upstream writes it. */
export function isoNow(ms: number = Date.now()): string {
  return new Date(ms).toISOString();
}

/** `YYYYmmddTHHMMSS` in UTC, used in round log names. */
export function compactUtc(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').slice(0, 15);
}

/** `YYYY-MM` in UTC, the month suffix of events and metrics files. */
export function utcMonth(ms: number = Date.now()): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** Monotonic milliseconds: immune to NTP steps and suspend-time clock jumps. */
export function monoMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

export function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
