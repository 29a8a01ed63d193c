import type { ExitRecord } from '../../history/log.js';
import type { Snapshot, Thresholds } from '../types.js';

/** The last `window` agent exits ("the last N rounds"), oldest first. */
export function recentExits(s: Snapshot, t: Thresholds): ExitRecord[] {
  return s.digest.exits.slice(-t.window);
}

/**
 * How many of the window must match: upstream's `count / window >= rate`, computed against the
 * full window even while fewer rounds exist, so two auth failures on a young project count as
 * much as two in a full window (upstream stayed silent until ten rounds had run).
 */
export function needed(window: number, rate: number): number {
  return Math.max(1, Math.ceil(window * rate - 1e-9));
}

export const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;
export const round1 = (x: number): number => Math.round(x * 10) / 10;
