import { UsageError } from '../errors.js';

/** Option parsing shared by peek, watch, events, monitor and probe: one-line usage errors (exit 2). */

export function positiveSeconds(flag: string, text: string, min = 0.05): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${flag} expects a number of seconds >= ${min}, got "${text}"`);
  return n;
}

export function nonNegativeInt(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`${flag} expects a whole number >= 0, got "${text}"`);
  return n;
}

export function roundArg(text: string): number | 'latest' {
  if (text === 'latest') return 'latest';
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || !Number.isSafeInteger(n)) throw new UsageError(`--round expects a round number or "latest", got "${text}"`);
  return n;
}

/**
 * A point in time: ISO-8601 (`2026-11-21T07:37:33Z`, a bare date is midnight UTC), epoch seconds,
 * or an age such as `90s`, `15m`, `2h`, `7d` (that long ago). Returns epoch ms.
 */
export function parseSince(text: string, now = Date.now()): number {
  const t = text.trim();
  const rel = /^(\d+(?:\.\d+)?)([smhd])$/.exec(t);
  if (rel) return now - Number(rel[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  if (/^\d{9,11}(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    const iso = t.length === 10 ? `${t}T00:00:00Z` : /Z|[+-]\d{2}:?\d{2}$/.test(t) ? t : `${t}Z`;
    const ms = Date.parse(iso.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(`--since expects an ISO time (2026-11-21T07:00:00Z), epoch seconds or an age like 15m / 2h / 7d, got "${text}"`);
}
