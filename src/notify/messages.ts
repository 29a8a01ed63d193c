/**
 * PURE: the notification for each fact worth telling a human. Keys are built from the fact itself
 * (its time, its round), so a producer that restarts and reports the same fact again queues nothing.
 */
import type { HaltReason } from '../loop/policy.js';
import type { Notification, NotifySeverity } from './kinds.js';

export interface Origin {
  project: string;
  host: string;
}

const HALT_SEVERITY: Partial<Record<HaltReason, NotifySeverity>> = { done: 'info', stop_file: 'info', budget: 'warning' };

export interface HaltFact {
  reason: HaltReason;
  ts: string;
  message: string;
  hint: string;
  exit_code: number;
  round_num: number | null;
}

/** A halt: serve will not run again until `agent-runner resume`. A spent budget has a kind of its own. */
export function haltNotification(o: Origin, h: HaltFact): Notification {
  const budget = h.reason === 'budget';
  return {
    key: `halt:${o.project}:${h.ts}:${h.reason}`,
    kind: budget ? 'budget_exhausted' : 'halt',
    severity: HALT_SEVERITY[h.reason] ?? 'critical',
    title: budget ? `${o.project}: budget exhausted, serve halted` : `${o.project} halted: ${h.reason}`,
    message: h.message,
    hint: `${h.hint}; then run \`agent-runner resume\``,
    project: o.project,
    host: o.host,
    ts: h.ts,
    details: { reason: h.reason, exit_code: h.exit_code, round_num: h.round_num },
  };
}

export function testNotification(o: Origin, channel: string, nowIso: string, nonce: string): Notification {
  return {
    key: `test:${channel}:${nonce}`,
    kind: 'test',
    severity: 'info',
    title: `${o.project}: test notification from agent-runner`,
    message: `If you can read this, channel "${channel}" works.`,
    hint: null,
    project: o.project,
    host: o.host,
    ts: nowIso,
    details: { channel },
  };
}

/** serve ended in a way no halt explains (an internal error, a full disk). */
export function serveExitNotification(o: Origin, f: { ts: string; exit_code: number; error: string }): Notification {
  return {
    key: `serve_exit:${o.project}:${f.ts}`,
    kind: 'serve_exit',
    severity: 'critical',
    title: `${o.project}: serve exited unexpectedly (exit ${f.exit_code})`,
    message: f.error,
    hint: 'read the service log (journalctl --user -u agent-runner-<project>) and `agent-runner status`',
    project: o.project,
    host: o.host,
    ts: f.ts,
    details: { exit_code: f.exit_code, error: f.error },
  };
}
