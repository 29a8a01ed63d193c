/**
 * PURE: what `monitor --json` prints, the documented contract (docs/schemas/monitor-line.schema.json).
 * Two kinds of line: a `state` line, the whole picture of one watched project (printed once by
 * `--once`, and once at start before the transitions of a running monitor), and an `alert` line
 * per transition (fired, severity changed, resolved).
 */
import { EXIT } from '../exit-codes.js';
import { alertKey, type AlertRecord, type AlertSet } from './alerts.js';
import type { EvaluatedCondition } from './probe.js';

/** How a watched project stands, worst first: what the exit code of `--once` says too. */
export type MonitorStatus = 'unknown' | 'critical' | 'halted' | 'warning' | 'healthy';

/** `--once` exit codes (Nagios-style): 0 healthy (or info only), 1 warning or halted, 2 critical, 3 unknown. */
export const STATUS_EXIT: Record<MonitorStatus, number> = {
  healthy: EXIT.OK,
  warning: EXIT.FAILURE,
  halted: EXIT.FAILURE,
  critical: EXIT.USAGE,
  unknown: EXIT.MONITOR_UNKNOWN,
};

/**
 * The status of a project from its firing alerts and whether a halt is recorded. A host that could
 * not be polled is unknown, never healthy; a critical alert outranks a halt (an auth-failure halt is
 * oauth_fail, critical); a halt outranks warnings (nothing runs until someone resumes it).
 */
export function statusOf(alerts: AlertSet, halted: boolean): MonitorStatus {
  const sev = new Set(Object.values(alerts).map((a) => a.severity));
  if (sev.has('unknown')) return 'unknown';
  if (sev.has('critical')) return 'critical';
  if (halted) return 'halted';
  if (sev.has('warning')) return 'warning';
  return 'healthy';
}

/** One alert in a state line: an alert line's fields, plus whether it is news of this poll. */
export type StateAlert = AlertRecord & { project: string | null; new: boolean };

export interface MonitorStateLine {
  type: 'state';
  ts: string;
  host: string | null;
  project: string | null;
  status: MonitorStatus;
  /** What `--once` exits with for this status. */
  exit_code: number;
  /** Firing alerts, then those that resolved at this poll. */
  alerts: StateAlert[];
  /** Where reading the evidence (the events history) stopped: pass to `probe --since`; null before any poll succeeded. */
  cursor: string | null;
  halt: { reason: string; ts: string } | null;
  /** Why the project could not be looked at (status unknown), else null. */
  error: string | null;
}

export type MonitorAlertLine = AlertRecord & { type: 'alert'; project: string | null };

export interface StateInput {
  nowIso: string;
  host: string | null;
  project: string | null;
  alerts: AlertSet;
  /** This poll's transitions, as printed. */
  fired: AlertRecord[];
  resolved: AlertRecord[];
  /** This poll's conditions (their context), when it succeeded. */
  conditions: EvaluatedCondition[];
  halt: { reason: string; ts: string } | null;
  cursor: string | null;
}

export function stateLine(i: StateInput): MonitorStateLine {
  const fired = new Map(i.fired.map((r) => [alertKey(r.detector, r.subject), r]));
  const conds = new Map(i.conditions.map((c) => [alertKey(c.detector, c.subject), c]));
  const alerts: StateAlert[] = Object.entries(i.alerts).map(([key, a]) => {
    const news = fired.get(key);
    if (news) return { ...withProject(news, i.project), new: true };
    return {
      ts: i.nowIso,
      host: i.host,
      project: i.project,
      detector: a.detector,
      subject: a.subject,
      severity: a.severity,
      state: 'firing',
      message: a.message,
      context: conds.get(key)?.context ?? {},
      auto_action: a.auto_action,
      since: a.since,
      ...(a.fix ? { fix: a.fix } : {}),
      new: false,
    };
  });
  for (const r of i.resolved) alerts.push({ ...withProject(r, i.project), new: true });
  const status = statusOf(i.alerts, i.halt !== null);
  const unreachable = Object.values(i.alerts).find((a) => a.severity === 'unknown');
  return {
    type: 'state',
    ts: i.nowIso,
    host: i.host,
    project: i.project,
    status,
    exit_code: STATUS_EXIT[status],
    alerts,
    cursor: i.cursor,
    halt: i.halt,
    error: unreachable ? unreachable.message : null,
  };
}

export function alertLineJson(r: AlertRecord, project: string | null): MonitorAlertLine {
  return { type: 'alert', ...withProject(r, project) };
}

function withProject(r: AlertRecord, project: string | null): AlertRecord & { project: string | null } {
  const { ts, host, ...rest } = r;
  // host and project first: a reader of many lines sees at once which project each is about.
  return { ts, host, project, ...rest };
}
