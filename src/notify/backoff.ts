/**
 * PURE: when to try a failed notification again, and what a rate-limited channel sends now.
 */
import type { Notification, NotifySeverity } from './kinds.js';

/** The first retry waits about this long; each further one doubles it, up to RETRY_MAX_MS. */
export const RETRY_BASE_MS = 2000;
export const RETRY_MAX_MS = 30 * 60_000;

/**
 * Exponential back-off with jitter: attempt 1 waits 1–2 s, attempt 2 2–4 s … capped at 15–30 min.
 * The jitter keeps supervisors that failed together from retrying together.
 */
export function retryDelayMs(attempt: number, random: () => number, retryAfterS?: number): number {
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));
  const delay = Math.round(ceiling / 2 + (ceiling / 2) * random());
  return retryAfterS !== undefined ? Math.max(delay, retryAfterS * 1000) : delay;
}

export type RatePlan =
  /** Send each due notification on its own. */
  | { kind: 'each' }
  /** More are due than the window allows: fold them all into one message. */
  | { kind: 'fold' }
  /** The window is full: nothing may be sent before `untilMs`. */
  | { kind: 'wait'; untilMs: number };

/** `sentMs`: when this channel's recent messages went out (any order). */
export function planRate(due: number, sentMs: readonly number[], limit: number, windowMs: number, nowMs: number): RatePlan {
  const recent = sentMs.filter((t) => t > nowMs - windowMs);
  const room = limit - recent.length;
  if (room <= 0) return { kind: 'wait', untilMs: Math.min(...recent) + windowMs };
  return due <= room ? { kind: 'each' } : { kind: 'fold' };
}

const RANK: Record<NotifySeverity, number> = { info: 0, warning: 1, critical: 2 };

/** One message standing for a burst: the worst severity, every item listed, a key of its own. */
export function foldNotifications(items: readonly Notification[], key: string, nowIso: string): Notification {
  const worst = items.reduce<NotifySeverity>((w, n) => (RANK[n.severity] > RANK[w] ? n.severity : w), 'info');
  const first = items[0]!;
  return {
    key,
    kind: 'folded',
    severity: worst,
    title: `${first.project}: ${items.length} notifications (rate limit reached; folded into one)`,
    message: items.map((n) => n.title).join('\n'),
    hint: null,
    project: first.project,
    host: first.host,
    ts: nowIso,
    details: { count: items.length, keys: items.map((n) => n.key) },
    items: [...items],
  };
}
