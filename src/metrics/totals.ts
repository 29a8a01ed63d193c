/**
 * PURE: the all-time counters of a project, folded one event at a time (forwards, from a cursor),
 * so a long-running exporter reads only what was appended since its last scrape.
 */
import { EVENT_KINDS, isEventKind } from '../events/kinds.js';
import type { EventRecord } from '../events/payloads.js';

/** Upper bounds (seconds) of the round-duration histogram: rounds last seconds to hours. */
export const DURATION_BUCKETS_S = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200] as const;

export interface Totals {
  /** round_end outcomes (clean, error, timeout …) → rounds. */
  rounds: Record<string, number>;
  /** Cumulative counts per bound of DURATION_BUCKETS_S, then the count and sum of all. */
  duration: { buckets: number[]; count: number; sum: number };
  cost_usd: number;
  /** epoch seconds */
  last_round_end_s: number | null;
  /** The newest event of the round or the loop (not the monitor's, not notifications'): epoch seconds. */
  last_supervisor_event_s: number | null;
}

export function emptyTotals(): Totals {
  return { rounds: {}, duration: { buckets: DURATION_BUCKETS_S.map(() => 0), count: 0, sum: 0 }, cost_usd: 0, last_round_end_s: null, last_supervisor_event_s: null };
}

const isSupervisorKind = (kind: string) => !isEventKind(kind) || (EVENT_KINDS[kind].layer !== 'monitor' && EVENT_KINDS[kind].layer !== 'notify');

export function foldEvent(t: Totals, e: EventRecord): void {
  const ts = Date.parse(e.ts) / 1000;
  if (!Number.isFinite(ts)) return;
  if (isSupervisorKind(e.event)) t.last_supervisor_event_s = Math.max(t.last_supervisor_event_s ?? 0, ts);
  if (e.event === 'round_end') {
    const outcome = typeof e['outcome'] === 'string' ? e['outcome'] : 'unknown';
    t.rounds[outcome] = (t.rounds[outcome] ?? 0) + 1;
    t.last_round_end_s = Math.max(t.last_round_end_s ?? 0, ts);
    const d = e['duration_s'];
    if (typeof d === 'number' && d >= 0) {
      DURATION_BUCKETS_S.forEach((bound, i) => {
        if (d <= bound) t.duration.buckets[i]!++;
      });
      t.duration.count++;
      t.duration.sum += d;
    }
  } else if (e.event === 'agent_exit' && typeof e['cost_usd'] === 'number' && e['cost_usd'] > 0) {
    t.cost_usd += e['cost_usd'];
  }
}
