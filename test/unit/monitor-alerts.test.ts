import { describe, expect, it } from 'vitest';
import { autoStopDecision, stepAlerts, worstSeverity, type AlertSet } from '../../src/monitor/alerts.js';
import type { EvaluatedCondition } from '../../src/monitor/probe.js';
import { onceExit } from '../../src/monitor/run.js';
import { stateLine, statusOf, STATUS_EXIT } from '../../src/monitor/contract.js';

const cond = (detector: string, severity: 'warning' | 'critical' | 'info', extra: Partial<EvaluatedCondition> = {}): EvaluatedCondition =>
  ({ detector, subject: '', severity, message: `${detector} holds`, context: { n: Math.random() }, evidence_ms: 1000, auto_action: 'none', ...extra }) as EvaluatedCondition;

describe('alert lifecycle', () => {
  it('fires once when a condition starts, not again while it holds (whatever its context does)', () => {
    const a = stepAlerts({}, [cond('timeout_rate', 'warning')], '2026-11-21T00:00:00.000Z', null);
    expect(a.fired.map((r) => [r.detector, r.state])).toEqual([['timeout_rate', 'firing']]);
    const b = stepAlerts(a.next, [cond('timeout_rate', 'warning')], '2026-11-21T00:01:00.000Z', null);
    expect(b.fired).toEqual([]);
    expect(b.resolved).toEqual([]);
    expect(b.next['timeout_rate|']!.since).toBe('2026-11-21T00:00:00.000Z');
  });

  it('re-emits on a severity change, keeping when it began', () => {
    const a = stepAlerts({}, [cond('x', 'warning')], '2026-11-21T00:00:00.000Z', 'pi');
    const b = stepAlerts(a.next, [cond('x', 'critical')], '2026-11-21T00:05:00.000Z', 'pi');
    expect(b.fired).toHaveLength(1);
    expect(b.fired[0]).toMatchObject({ severity: 'critical', previous_severity: 'warning', since: '2026-11-21T00:00:00.000Z', host: 'pi' });
  });

  it('emits a resolved record when the condition clears, with how long it lasted', () => {
    const a = stepAlerts({}, [cond('x', 'warning'), cond('y', 'critical')], '2026-11-21T00:00:00.000Z', null);
    const b = stepAlerts(a.next, [cond('y', 'critical')], '2026-11-21T00:02:00.000Z', null);
    expect(b.resolved).toHaveLength(1);
    expect(b.resolved[0]).toMatchObject({ detector: 'x', state: 'resolved', context: { duration_s: 120 } });
    expect(Object.keys(b.next)).toEqual(['y|']);
  });

  it('keys on detector and subject: two filesystems, two alerts', () => {
    const a = stepAlerts({}, [cond('disk_warning', 'warning', { subject: 'log_dir' }), cond('disk_warning', 'warning', { subject: 'work_dir' })], '2026-11-21T00:00:00.000Z', null);
    expect(a.fired).toHaveLength(2);
  });

  it('--once exit codes: 0 healthy or info, 1 warning, 2 critical, 3 unknown', () => {
    const set = (...sev: string[]): AlertSet => Object.fromEntries(sev.map((s, i) => [`d${i}|`, { detector: `d${i}`, subject: '', severity: s, since: '', message: '', auto_action: 'none' }])) as AlertSet;
    expect(onceExit({})).toBe(0);
    expect(onceExit(set('info'))).toBe(0);
    expect(onceExit(set('info', 'warning'))).toBe(1);
    expect(onceExit(set('warning', 'critical'))).toBe(2);
    expect(onceExit(set('critical', 'unknown'))).toBe(3);
    expect(worstSeverity(set('info'))).toBe('info');
  });

  it('status: unknown over critical over halted over warning; the state line lists firing and just-resolved alerts with their news', () => {
    const set = (...sev: string[]): AlertSet => Object.fromEntries(sev.map((s, i) => [`d${i}|`, { detector: `d${i}`, subject: '', severity: s, since: '2026-11-21T00:00:00.000Z', message: '', auto_action: 'none' }])) as AlertSet;
    expect(statusOf({}, false)).toBe('healthy');
    expect(statusOf(set('info'), false)).toBe('healthy');
    expect(statusOf(set('warning'), true)).toBe('halted');
    expect(statusOf(set('critical'), true)).toBe('critical');
    expect(statusOf(set('critical', 'unknown'), true)).toBe('unknown');
    expect(STATUS_EXIT.halted).toBe(1);

    const a = stepAlerts({}, [cond('x', 'warning'), cond('y', 'critical')], '2026-11-21T00:00:00.000Z', null);
    const b = stepAlerts(a.next, [cond('y', 'critical', { context: { n: 7 } })], '2026-11-21T00:02:00.000Z', null);
    const line = stateLine({ nowIso: '2026-11-21T00:02:00.000Z', host: null, project: 'p', alerts: b.next, fired: b.fired, resolved: b.resolved, conditions: [cond('y', 'critical', { context: { n: 7 } })], halt: null, cursor: 'v1:x' });
    expect(line).toMatchObject({ type: 'state', status: 'critical', exit_code: 2, cursor: 'v1:x', error: null });
    expect(line.alerts.map((x) => [x.detector, x.state, x.new, x.context])).toEqual([['y', 'firing', false, { n: 7 }], ['x', 'resolved', true, { duration_s: 120 }]]);
  });
});

describe('auto-stop decision', () => {
  const alert = { detector: 'oauth_fail', subject: '', severity: 'critical' as const, since: '', message: '', auto_action: 'stop_service' as const };
  const stop = cond('oauth_fail', 'critical', { auto_action: 'stop_service', evidence_ms: 100_000 });
  it('acts on fresh evidence while the service runs', () => {
    expect(autoStopDecision(alert, stop, { active: true, uptime_s: 10 }, 105_000)).toEqual({ act: true });
  });
  it('never when the service is not running, or the detector is not on the list', () => {
    expect(autoStopDecision(alert, stop, { active: false, uptime_s: null }, 105_000)).toMatchObject({ act: false, outcome: { result: 'not_running' } });
    expect(autoStopDecision(alert, { ...stop, auto_action: 'none' }, { active: true, uptime_s: 10 }, 105_000)).toMatchObject({ act: false, outcome: { result: 'disabled' } });
  });
  it('never on evidence older than the service\'s current run', () => {
    expect(autoStopDecision(alert, stop, { active: true, uptime_s: 2 }, 105_000)).toMatchObject({ act: false, outcome: { result: 'skipped_stale' } });
  });
  it('never twice for the same evidence', () => {
    expect(autoStopDecision({ ...alert, auto_stopped_at: 101_000 }, stop, { active: true, uptime_s: 100 }, 105_000)).toMatchObject({ act: false, outcome: { result: 'already_stopped' } });
    expect(autoStopDecision({ ...alert, auto_stopped_at: 99_000 }, stop, { active: true, uptime_s: 100 }, 105_000)).toEqual({ act: true });
  });
});
