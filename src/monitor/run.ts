import { formatCursor } from '../events/reader.js';
import type { EventSink } from '../events/writer.js';
import { alertKey, autoStopDecision, stepAlerts, type AlertRecord, type AlertSet, type AutoStopOutcome } from './alerts.js';
import type { EvaluatedCondition, ProbeResult } from './probe.js';
import { LocalSource, RemoteSource, type PollSource } from './sources.js';
import { RemoteFailure } from './remote-diagnosis.js';
import { stepRemoteFailure } from './remote-alerts.js';
import { readMonitorState, writeMonitorState, type MonitorStateFile } from './state-file.js';
import { sleep } from '../util/sleep.js';
import { STATUS_EXIT, statusOf } from './contract.js';

/**
 * The witness loop: poll, turn conditions into alert transitions, act on the auto-stop list,
 * persist, print. It never reports a host healthy when it could not look: a failed poll makes the
 * host unknown (an alert of its own) until a poll succeeds again.
 */
export interface MonitorOptions {
  source: PollSource;
  events: EventSink;
  statePath: string;
  target: MonitorStateFile['target'];
  once: boolean;
  intervalS: number;
  toleranceS: number;
  autoStop: boolean;
  signal: AbortSignal;
  print: (r: AlertRecord) => void;
  warn: (line: string) => void;
  /** Called once at the end with the alerts still firing. */
  onExit?: (alerts: AlertSet) => void;
  /** Every alert transition (fired, severity changed, resolved), as printed: notifications. */
  onTransition?: (r: AlertRecord) => void;
  /** After every cycle, polled or not (a failed poll: host unknown): heartbeat, digest, the state line. */
  afterCycle?: (alerts: AlertSet, polled: boolean, result?: ProbeResult, transitions?: Transitions) => Promise<void>;
  mode: string;
  logDir: string | null;
  /** Save a state that did not change (alerts, read position) at most this often (default 30 s). */
  unchangedSaveS?: number;
}

/** What one cycle changed, as printed: alerts that fired (or changed severity) and resolved. */
export interface Transitions {
  fired: AlertRecord[];
  resolved: AlertRecord[];
  /** Alerts as they stand, though not news (a remote failure already paged): their full record for the state line. */
  standing?: AlertRecord[];
}

/** How often a state that did not change is saved anyway (its poll count and time). */
const UNCHANGED_SAVE_S = 30;

/** Back-off between reconnect attempts (upstream's schedule), capped by what is left of the tolerance. */
const BACKOFF_S = [1, 2, 4, 8, 16, 30];

export async function runMonitor(o: MonitorOptions): Promise<number> {
  const loaded = readMonitorState(o.statePath);
  if (loaded.problem) o.warn(loaded.problem);
  let alerts: AlertSet = loaded.state?.alerts ?? {};
  let polls = loaded.state?.polls ?? 0;
  const host = o.source.host;
  o.events.emit('monitor_started', { host, resolved: o.target.resolved ?? null, interval_s: o.intervalS, log_dir: o.logDir, mode: o.mode, once: o.once, pid: process.pid });

  let outage: { since: number; attempts: number } | undefined;
  let stopReason = 'signal';
  let exitCode: number = STATUS_EXIT.healthy;
  let persistProblem: string | undefined;
  let saved = { key: '', at: 0 };
  const unchangedSaveS = o.unchangedSaveS ?? UNCHANGED_SAVE_S;
  const persist = () => {
    // An unchanged state is saved only now and then: each save is two fsyncs, and sixty targets of
    // a fleet polled every second would spend the event loop (and the disk) on them.
    const at = o.source instanceof RemoteSource ? o.source.cursor : o.source instanceof LocalSource && o.source.history ? formatCursor(o.source.history.cursor) : null;
    const key = JSON.stringify([alerts, at]);
    if (key === saved.key && Date.now() - saved.at < unchangedSaveS * 1000) return;
    saved = { key, at: Date.now() };
    const problem = writeMonitorState(o.statePath, {
      v: 1,
      target: o.target,
      alerts,
      ...(o.source instanceof LocalSource && o.source.history
        ? { history: { cursor: formatCursor(o.source.history.cursor), log: o.source.history.log } }
        : {}),
      ...(o.source instanceof RemoteSource && o.source.cursor ? { remote_cursor: o.source.cursor } : {}),
      polls,
      updated_at: new Date().toISOString(),
    });
    // Said once per spell, not once per poll.
    if (problem && !persistProblem) o.warn(`cannot save the monitor state (${problem}); alerts are kept in memory`);
    persistProblem = problem;
  };

  try {
    while (!o.signal.aborted) {
      let result: ProbeResult;
      try {
        result = await o.source.poll();
      } catch (e) {
        if (!(e instanceof RemoteFailure)) throw e;
        // Interrupted mid-poll: an ending, not an outage.
        if (o.signal.aborted) break;
        const now = Date.now();
        outage ??= { since: now, attempts: 0 };
        outage.attempts++;
        const elapsed = (now - outage.since) / 1000;
        const step = stepRemoteFailure(alerts, e.diagnosis, host, new Date(now).toISOString(), { attempt: outage.attempts, cap_s: o.toleranceS });
        alerts = step.next;
        for (const rec of [...step.resolved, ...step.fired]) {
          if (rec.state === 'firing') o.events.emit('monitor_alert_emitted', { detector: rec.detector, subject: '', severity: 'unknown', message: rec.message, auto_action: 'none', host });
          else o.events.emit('monitor_alert_resolved', { detector: rec.detector, subject: '', severity: rec.severity, host, since: rec.since, duration_s: rec.context['duration_s'] ?? null });
          o.print(rec);
          o.onTransition?.(rec);
        }
        // A one-shot check always says why it could not look, even when an earlier run paged it.
        if (o.once && step.fired.length === 0) o.print(step.current);
        persist();
        await o.afterCycle?.(alerts, false, undefined, { fired: step.fired, resolved: step.resolved, standing: [step.current] });
        if (o.once) {
          stopReason = 'once';
          return (exitCode = STATUS_EXIT.unknown);
        }
        if (elapsed >= o.toleranceS) {
          o.events.emit('monitor_remote_giveup', { host, total_attempts: outage.attempts, total_elapsed_s: Math.round(elapsed), cap_s: o.toleranceS, final_error: e.message });
          o.warn(`giving up on ${host}: unreachable for ${Math.round(elapsed)}s (remote_failure_tolerance_s = ${o.toleranceS}): ${e.message}`);
          stopReason = 'giveup';
          return (exitCode = STATUS_EXIT.unknown);
        }
        const nextSleep = Math.max(0.1, Math.min(BACKOFF_S[Math.min(outage.attempts - 1, BACKOFF_S.length - 1)]!, o.toleranceS - elapsed));
        o.events.emit('monitor_remote_blip', { host, error: e.message, attempt: outage.attempts, elapsed_s: Math.round(elapsed * 10) / 10, cap_s: o.toleranceS, interval_s: o.intervalS, next_sleep_s: nextSleep });
        await sleep(nextSleep * 1000, o.signal);
        continue;
      }
      if (outage) {
        o.events.emit('monitor_remote_recovered', { host, attempts: outage.attempts, outage_s: Math.round((Date.now() - outage.since) / 1000) });
        outage = undefined;
      }
      polls++;
      const step = await afterPoll(o, alerts, result);
      alerts = step.next;
      persist();
      await o.afterCycle?.(alerts, true, result, step);
      if (o.once) {
        stopReason = 'once';
        return (exitCode = STATUS_EXIT[statusOf(alerts, result.halt !== null)]);
      }
      // A change pushed (or seen under a local log_dir) is evaluated now, not at the next poll.
      if (o.source.waitForChange) await o.source.waitForChange(o.intervalS * 1000, o.signal);
      else await sleep(o.intervalS * 1000, o.signal);
    }
    return exitCode;
  } finally {
    o.events.emit('monitor_stopped', { host, reason: stopReason, polls });
    await o.source.close();
    o.onExit?.(alerts);
  }
}

async function afterPoll(o: MonitorOptions, prev: AlertSet, result: ProbeResult): Promise<Transitions & { next: AlertSet }> {
  const nowIso = new Date().toISOString();
  const host = o.source.host;
  const step = stepAlerts(prev, result.conditions, nowIso, host);
  const byKey = new Map(result.conditions.map((c) => [alertKey(c.detector, c.subject), c]));
  const firedKeys = new Set(step.fired.map((r) => alertKey(r.detector, r.subject)));
  const extra: AlertRecord[] = [];

  for (const [key, alert] of Object.entries(step.next)) {
    const cond = byKey.get(key);
    if (!cond || cond.auto_action !== 'stop_service') continue;
    let outcome: AutoStopOutcome;
    if (!o.autoStop) outcome = { result: 'disabled', detail: '--no-auto-stop' };
    else {
      const d = autoStopDecision(alert, cond, result.service, Date.now());
      outcome = d.act ? await performStop(o, cond, result) : d.outcome;
      if (d.act) alert.auto_stopped_at = Date.now();
      // A repeated stop (the service was started again and the condition holds on new evidence)
      // is reported even though the alert itself is not new.
      if (d.act && !firedKeys.has(key)) extra.push({ ...firingRecord(cond, alert.since, nowIso, host), auto_stop: outcome });
    }
    const rec = step.fired.find((r) => alertKey(r.detector, r.subject) === key);
    if (rec) rec.auto_stop = outcome;
  }

  for (const r of step.fired) {
    o.events.emit('monitor_alert_emitted', {
      detector: r.detector,
      subject: r.subject,
      severity: r.severity,
      message: r.message,
      auto_action: r.auto_action,
      host,
      ...(r.previous_severity ? { previous_severity: r.previous_severity } : {}),
    });
    o.print(r);
    o.onTransition?.(r);
  }
  for (const r of extra) o.print(r);
  for (const r of step.resolved) {
    o.events.emit('monitor_alert_resolved', { detector: r.detector, subject: r.subject, severity: r.severity, host, since: r.since, duration_s: r.context['duration_s'] ?? null });
    o.print(r);
    o.onTransition?.(r);
  }
  return { next: step.next, fired: [...step.fired, ...extra], resolved: step.resolved };
}

async function performStop(o: MonitorOptions, cond: EvaluatedCondition, result: ProbeResult): Promise<AutoStopOutcome> {
  const host = o.source.host;
  o.events.emit('monitor_auto_stop_triggered', { detector: cond.detector, host, evidence_ts: new Date(cond.evidence_ms).toISOString() });
  try {
    const r = await o.source.stopService(result);
    o.events.emit('monitor_auto_stop_completed', { detector: cond.detector, host, stopped: r.stopped, seconds: Math.round(r.seconds * 10) / 10, mode: r.mode });
    return r.stopped ? { result: 'stopped', seconds: r.seconds } : { result: 'failed', detail: 'the service still runs after the stop', seconds: r.seconds };
  } catch (e) {
    const error = (e as Error).message;
    o.events.emit('monitor_auto_stop_failed', { detector: cond.detector, host, error });
    return { result: 'failed', detail: error };
  }
}

function firingRecord(c: EvaluatedCondition, since: string, nowIso: string, host: string | null): AlertRecord {
  return { ts: nowIso, host, detector: c.detector, subject: c.subject, severity: c.severity, state: 'firing', message: c.message, context: c.context, auto_action: c.auto_action, since };
}

/** The exit code of `--once` for these alerts, with no halt recorded. */
export function onceExit(alerts: AlertSet): number {
  return STATUS_EXIT[statusOf(alerts, false)];
}
