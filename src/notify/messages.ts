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

/** An alert as the monitor reports it (monitor/alerts.ts AlertRecord, the fields a message needs). */
export interface AlertFact {
  detector: string;
  subject: string;
  severity: 'info' | 'warning' | 'critical' | 'unknown';
  state: 'firing' | 'resolved';
  message: string;
  since: string;
  ts: string;
  host: string | null;
  auto_action: 'stop_service' | 'none';
  previous_severity?: string | undefined;
  context: Record<string, unknown>;
}

/**
 * An alert firing (or changing severity) and resolved. Keyed by the alert's start: a monitor that
 * is restarted and sees the same alert again queues nothing new. A resolution keeps the alert's
 * severity, so a channel that was paged for a critical alert also hears it is over.
 */
export function alertNotification(o: Origin, a: AlertFact): Notification {
  const where = a.host ? `${o.project} on ${a.host}` : o.project;
  const what = `${a.detector}${a.subject ? ` (${a.subject})` : ''}`;
  const severity: NotifySeverity = a.severity === 'unknown' ? 'critical' : a.severity;
  const firing = a.state === 'firing';
  return {
    key: `alert:${a.host ?? '-'}:${a.detector}:${a.subject}:${a.since}:${firing ? a.severity : 'resolved'}`,
    kind: firing ? 'alert_firing' : 'alert_resolved',
    severity,
    title: firing ? `${where}: ${what} ${a.severity}${a.previous_severity ? ` (was ${a.previous_severity})` : ''}` : `${where}: ${what} resolved`,
    message: firing ? a.message : `${what} is no longer firing (it fired at ${a.since})`,
    hint: firing ? `agent-runner peek${a.host ? ` (or monitor --host ${a.host} --once)` : ''}; docs/witness.md lists what each detector means${a.auto_action === 'stop_service' ? '; the service is being stopped (auto_stop_on)' : ''}` : null,
    project: o.project,
    host: a.host ?? o.host,
    ts: a.ts,
    details: { detector: a.detector, subject: a.subject, severity: a.severity, since: a.since, auto_action: a.auto_action, context: a.context },
  };
}

/** serve waits out a usage limit: when it started, and the reset time it waits for. */
export function usageLimitWaitNotification(o: Origin, f: { ts: string; round_num: number; until: string; reset_at_epoch: number | null; agent: string }): Notification {
  const resetAt = f.reset_at_epoch !== null ? new Date(f.reset_at_epoch * 1000).toISOString() : null;
  return {
    key: `usage_limit_wait:${o.project}:${f.round_num}:${f.until}`,
    kind: 'usage_limit_wait',
    severity: 'info',
    title: `${o.project}: ${f.agent} hit its usage limit; waiting until ${f.until}`,
    message: `Round ${f.round_num} stopped on a usage limit${resetAt ? ` that resets at ${resetAt}` : ' (no reset time reported: backing off)'}. No round runs before ${f.until}.`,
    hint: null,
    project: o.project,
    host: o.host,
    ts: f.ts,
    details: { round_num: f.round_num, until: f.until, reset_at: resetAt, agent: f.agent },
  };
}

export function usageLimitEndNotification(o: Origin, f: { ts: string; round_num: number; waited_s: number; agent: string }): Notification {
  return {
    key: `usage_limit_end:${o.project}:${f.round_num}`,
    kind: 'usage_limit_end',
    severity: 'info',
    title: `${o.project}: usage-limit wait over; rounds resume`,
    message: `Waited ${f.waited_s}s after round ${f.round_num}.`,
    hint: null,
    project: o.project,
    host: o.host,
    ts: f.ts,
    details: { round_num: f.round_num, waited_s: f.waited_s, agent: f.agent },
  };
}

export interface DigestFacts {
  /** The local date the digest is for (YYYY-MM-DD): one digest per project and day. */
  date: string;
  ts: string;
  rounds: Record<string, number>;
  cost_usd: number;
  commits: number | null;
  halts: string[];
  alerts_firing: string[];
}

/**
 * The daily digest: rounds by outcome, cost, commits, halts, what is firing now. `remote`: a
 * project watched over ssh, named with its host (`o.host` is then the monitor's alias for it).
 */
export function digestNotification(o: Origin, d: DigestFacts, remote = false): Notification {
  const total = Object.values(d.rounds).reduce((a, b) => a + b, 0);
  const byOutcome = Object.entries(d.rounds).map(([k, n]) => `${n} ${k}`).join(', ');
  const lines = [
    `Rounds: ${total}${total ? ` (${byOutcome})` : ''}`,
    `Cost: $${d.cost_usd.toFixed(2)}`,
    `Commits: ${d.commits ?? 'unknown'}`,
    ...(d.halts.length ? [`Halts: ${d.halts.join(', ')}`] : []),
    `Firing now: ${d.alerts_firing.length ? d.alerts_firing.join(', ') : 'nothing'}`,
  ];
  return {
    key: remote ? `digest:${o.host}:${o.project}:${d.date}` : `digest:${o.project}:${d.date}`,
    kind: 'digest',
    severity: 'info',
    title: `${remote ? `${o.project} on ${o.host}` : o.project}: daily digest for the 24 h to ${d.ts}`,
    message: lines.join('\n'),
    hint: null,
    project: o.project,
    host: o.host,
    ts: d.ts,
    details: { date: d.date, rounds: d.rounds, cost_usd: d.cost_usd, commits: d.commits, halts: d.halts, alerts_firing: d.alerts_firing },
  };
}
