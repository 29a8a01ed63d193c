import type { ExitRecord } from '../../history/log.js';
import type { Condition, Snapshot, Thresholds } from '../types.js';
import { needed, pct, recentExits } from './window.js';

/** A structured classification first; the log-tail text match only for exits nobody classified. */
function classOf(x: ExitRecord): string | null {
  return x.transient ?? (x.unclassified ? (x.text_match ?? null) : null);
}

export function timeoutRate(s: Snapshot, t: Thresholds): Condition[] {
  const exits = recentExits(s, t);
  const hits = exits.filter((x) => x.timed_out);
  if (hits.length < needed(t.window, t.rate_threshold)) return [];
  return [
    {
      detector: 'timeout_rate',
      subject: '',
      severity: 'warning',
      message: `${hits.length}/${exits.length} recent rounds timed out (threshold ${pct(t.rate_threshold)} of the last ${t.window})`,
      context: { timed_out: hits.length, rounds: exits.length, rate: hits.length / t.window, threshold: t.rate_threshold, window: t.window, last_round: hits.at(-1)!.round_num },
      evidence_ms: hits.at(-1)!.ts,
    },
  ];
}

/**
 * The window's exits that are still evidence of a failure class: those after the newest `resume`
 * (the operator acknowledged what came before) and, with `overBy`, after the newest exit that
 * shows the failure is over.
 */
function standingExits(s: Snapshot, t: Thresholds, overBy?: (x: ExitRecord) => boolean): ExitRecord[] {
  const exits = recentExits(s, t);
  const resumedMs = s.digest.resumed_at !== null ? Date.parse(s.digest.resumed_at) : NaN;
  let from = 0;
  exits.forEach((x, i) => {
    if (x.ts <= resumedMs || overBy?.(x)) from = i + 1;
  });
  return exits.slice(from);
}

/** A round got past authentication: it did not fail on it, nor fail to reach the API at all. */
const authenticated = (x: ExitRecord): boolean => classOf(x) !== 'auth_failure' && classOf(x) !== 'network';

export function oauthFail(s: Snapshot, t: Thresholds): Condition[] {
  const exits = recentExits(s, t);
  const hits = standingExits(s, t, authenticated).filter((x) => classOf(x) === 'auth_failure');
  const last = exits.at(-1);
  // serve halts on the first auth failure by default, so one failure followed by that halt is the
  // whole story: page on it rather than wait for a second round that will never run.
  const haltedOnIt = s.halt?.reason === 'auth_failure' && last !== undefined && hits.at(-1) === last;
  if (hits.length < needed(t.window, t.rate_threshold) && !haltedOnIt) return [];
  return [
    {
      detector: 'oauth_fail',
      subject: '',
      severity: 'critical',
      message: `${hits.length}/${exits.length} recent rounds failed to authenticate${haltedOnIt ? '; serve halted on it' : ''}`,
      context: {
        matches: hits.length,
        rounds: exits.length,
        window: t.window,
        threshold: t.rate_threshold,
        last_round: hits.at(-1)!.round_num,
        halted: haltedOnIt,
        hint: t.auth_hint || 'log the agent CLI in again on that host (e.g. `claude /login`), then `agent-runner resume` and `agent-runner start`',
      },
      evidence_ms: hits.at(-1)!.ts,
    },
  ];
}

export function networkFail(s: Snapshot, t: Thresholds): Condition[] {
  const exits = recentExits(s, t);
  const hits = standingExits(s, t).filter((x) => classOf(x) === 'network');
  if (hits.length < needed(t.window, t.rate_threshold)) return [];
  return [
    {
      detector: 'network_fail',
      subject: '',
      severity: 'warning',
      message: `${hits.length}/${exits.length} recent rounds failed on network or upstream server errors`,
      context: { matches: hits.length, rounds: exits.length, window: t.window, threshold: t.rate_threshold, last_round: hits.at(-1)!.round_num, hint: 'check the API provider\'s status page, DNS, VPN or proxy on that host' },
      evidence_ms: hits.at(-1)!.ts,
    },
  ];
}
