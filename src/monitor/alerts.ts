/**
 * PURE: the alert lifecycle. An alert fires once when its condition starts, is emitted again only
 * when its severity changes, and emits a resolved record when the condition clears. The firing set
 * is the persisted state, so a restarted monitor knows what it already paged about.
 */
import type { EvaluatedCondition } from './probe.js';
import type { Severity } from './types.js';

export type AlertSeverity = Severity | 'unknown';

export interface AlertState {
  detector: string;
  subject: string;
  severity: AlertSeverity;
  since: string;
  message: string;
  auto_action: 'stop_service' | 'none';
  /** Epoch ms of this monitor's last auto-stop for this alert. */
  auto_stopped_at?: number;
  /** What to do about it, for the alerts that say why a remote host could not be polled. */
  fix?: string;
}

export type AlertSet = Record<string, AlertState>;

export interface AutoStopOutcome {
  result: 'stopped' | 'failed' | 'not_running' | 'skipped_stale' | 'already_stopped' | 'disabled';
  detail?: string;
  seconds?: number;
}

/** One line of `monitor --json`. */
export interface AlertRecord {
  ts: string;
  host: string | null;
  detector: string;
  subject: string;
  severity: AlertSeverity;
  state: 'firing' | 'resolved';
  message: string;
  context: Record<string, unknown>;
  auto_action: 'stop_service' | 'none';
  since: string;
  previous_severity?: AlertSeverity;
  auto_stop?: AutoStopOutcome;
  /** What to do about it (the alerts of a failed remote poll). */
  fix?: string;
}

export const alertKey = (detector: string, subject: string): string => `${detector}|${subject}`;

export interface Step {
  next: AlertSet;
  /** New alerts and severity changes, in detector order. */
  fired: AlertRecord[];
  resolved: AlertRecord[];
}

/**
 * Compare what holds now with what was firing. `keep` lists keys that must neither fire nor
 * resolve this time (their input is unknown, e.g. during a remote outage).
 */
export function stepAlerts(prev: AlertSet, conditions: EvaluatedCondition[], nowIso: string, host: string | null): Step {
  const next: AlertSet = {};
  const fired: AlertRecord[] = [];
  const resolved: AlertRecord[] = [];
  for (const c of conditions) {
    const key = alertKey(c.detector, c.subject);
    if (next[key]) continue; // one alert per key per poll
    const was = prev[key];
    const state: AlertState = {
      detector: c.detector,
      subject: c.subject,
      severity: c.severity,
      since: was ? was.since : nowIso,
      message: c.message,
      auto_action: c.auto_action,
      ...(was?.auto_stopped_at !== undefined ? { auto_stopped_at: was.auto_stopped_at } : {}),
    };
    next[key] = state;
    if (!was || was.severity !== c.severity) {
      fired.push({
        ts: nowIso,
        host,
        detector: c.detector,
        subject: c.subject,
        severity: c.severity,
        state: 'firing',
        message: c.message,
        context: c.context,
        auto_action: c.auto_action,
        since: state.since,
        ...(was ? { previous_severity: was.severity } : {}),
      });
    }
  }
  for (const [key, was] of Object.entries(prev)) {
    if (next[key]) continue;
    resolved.push(resolvedRecord(was, nowIso, host));
  }
  return { next, fired, resolved };
}

export function resolvedRecord(was: AlertState, nowIso: string, host: string | null): AlertRecord {
  const duration = Math.max(0, Math.round((Date.parse(nowIso) - Date.parse(was.since)) / 1000));
  return {
    ts: nowIso,
    host,
    detector: was.detector,
    subject: was.subject,
    severity: was.severity,
    state: 'resolved',
    message: `resolved after ${duration}s: ${was.message}`,
    context: { duration_s: Number.isFinite(duration) ? duration : null },
    auto_action: 'none',
    since: was.since,
  };
}

/**
 * Whether to stop the service for a firing alert now. Never on data older than the service's
 * current run (evidence from before a restart is what the operator already acted on), never twice
 * for the same evidence, never when it is not running.
 */
export function autoStopDecision(
  alert: AlertState,
  cond: EvaluatedCondition,
  service: { active: boolean; uptime_s: number | null },
  nowMs: number,
): { act: true } | { act: false; outcome: AutoStopOutcome } {
  if (cond.auto_action !== 'stop_service') return { act: false, outcome: { result: 'disabled' } };
  if (!service.active) return { act: false, outcome: { result: 'not_running', detail: 'the service is not running' } };
  if (alert.auto_stopped_at !== undefined && cond.evidence_ms <= alert.auto_stopped_at)
    return { act: false, outcome: { result: 'already_stopped', detail: 'already stopped once for this evidence' } };
  if (service.uptime_s !== null) {
    const startedMs = nowMs - service.uptime_s * 1000;
    // One second of slack: uptime is whole seconds.
    if (cond.evidence_ms < startedMs - 1000)
      return { act: false, outcome: { result: 'skipped_stale', detail: `the evidence (${new Date(cond.evidence_ms).toISOString()}) predates the service's current run` } };
  }
  return { act: true };
}

export function worstSeverity(set: AlertSet): AlertSeverity | 'none' {
  const sev = Object.values(set).map((a) => a.severity);
  if (sev.includes('unknown')) return 'unknown';
  if (sev.includes('critical')) return 'critical';
  if (sev.includes('warning')) return 'warning';
  if (sev.includes('info')) return 'info';
  return 'none';
}
