/**
 * PURE: a failed remote poll as alert transitions. The host's state is unknown, so the alerts
 * that were firing stay as they are; only the diagnosis alert changes. When the reason changes
 * (the host came back but now refuses the key), the old diagnosis resolves and the new one fires.
 */
import { alertKey, resolvedRecord, type AlertRecord, type AlertSet } from './alerts.js';
import { REMOTE_FAILURES, type Diagnosis } from './remote-diagnosis.js';

export interface RemoteFailureStep {
  next: AlertSet;
  fired: AlertRecord[];
  resolved: AlertRecord[];
  /** The diagnosis as a firing record, whether it is new or was firing already (what `--once` reports). */
  current: AlertRecord;
}

export function isRemoteFailureAlert(detector: string): boolean {
  return Object.hasOwn(REMOTE_FAILURES, detector);
}

export function stepRemoteFailure(
  prev: AlertSet,
  d: Diagnosis,
  host: string | null,
  nowIso: string,
  outage: { attempt: number; cap_s: number },
): RemoteFailureStep {
  const next: AlertSet = {};
  const resolved: AlertRecord[] = [];
  for (const [key, a] of Object.entries(prev)) {
    if (isRemoteFailureAlert(a.detector) && a.detector !== d.kind) resolved.push(resolvedRecord(a, nowIso, host));
    else next[key] = a;
  }
  const key = alertKey(d.kind, '');
  const was = next[key];
  const where = host ?? 'the project';
  const since = was?.since ?? nowIso;
  const current: AlertRecord = {
    ts: nowIso,
    host,
    detector: d.kind,
    subject: '',
    severity: 'unknown',
    state: 'firing',
    message: `cannot poll ${where}: ${d.message}; its state is unknown`,
    context: { error: d.message, exit_code: d.exitCode, attempt: outage.attempt, cap_s: outage.cap_s },
    auto_action: 'none',
    since,
    fix: d.fix,
  };
  if (was) return { next, fired: [], resolved, current };
  next[key] = { detector: d.kind, subject: '', severity: 'unknown', since, message: `cannot poll ${where}: ${d.message}`, auto_action: 'none', fix: d.fix };
  return { next, fired: [current], resolved, current };
}
