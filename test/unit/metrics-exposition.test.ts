import { describe, expect, it } from 'vitest';
import { negotiate, renderExposition, type ProjectMetrics } from '../../src/metrics/exposition.js';
import { emptyTotals, foldEvent } from '../../src/metrics/totals.js';
import { parseListen } from '../../src/util/listen.js';

describe('totals', () => {
  it('counts rounds by outcome, buckets durations cumulatively, sums cost, ignores the monitor\'s events for staleness', () => {
    const t = emptyTotals();
    foldEvent(t, { ts: '2026-01-01T00:00:00Z', event: 'round_end', outcome: 'clean', duration_s: 45 });
    foldEvent(t, { ts: '2026-01-01T00:01:00Z', event: 'round_end', outcome: 'timeout', duration_s: 1800 });
    foldEvent(t, { ts: '2026-01-01T00:01:00Z', event: 'agent_exit', cost_usd: 0.125 });
    foldEvent(t, { ts: '2026-01-01T05:00:00Z', event: 'monitor_alert_emitted' });
    foldEvent(t, { ts: '2026-01-01T05:00:00Z', event: 'notify_sent' });
    expect(t.rounds).toEqual({ clean: 1, timeout: 1 });
    // Bounds 10 30 60 120 300 600 1200 1800 3600 7200.
    expect(t.duration.buckets).toEqual([0, 0, 1, 1, 1, 1, 1, 2, 2, 2]);
    expect(t.duration).toMatchObject({ count: 2, sum: 1845 });
    expect(t.cost_usd).toBe(0.125);
    expect(t.last_supervisor_event_s).toBe(Date.parse('2026-01-01T00:01:00Z') / 1000);
  });
});

describe('exposition', () => {
  const p: ProjectMetrics = { project: 'a"b', host: 'pi', up: true, halted: false, alerts: [{ detector: 'hung', severity: 'warning' }], totals: { ...emptyTotals(), rounds: { clean: 3 }, cost_usd: 1.5 } };
  it('the text format names counters with _total; OpenMetrics names the family without it and ends with # EOF', () => {
    const text = renderExposition([p], 'prometheus');
    expect(text).toContain('# TYPE agent_runner_rounds_total counter\nagent_runner_rounds_total{project="a\\"b",host="pi",outcome="clean"} 3\n');
    expect(text).toContain('agent_runner_alert_firing{project="a\\"b",host="pi",detector="hung",severity="warning"} 1');
    expect(text).not.toContain('# EOF');
    const om = renderExposition([p], 'openmetrics');
    expect(om).toContain('# TYPE agent_runner_rounds counter\nagent_runner_rounds_total{');
    expect(om).toContain('# UNIT agent_runner_round_duration_seconds seconds');
    expect(om.endsWith('# EOF\n')).toBe(true);
  });

  it('a project whose state is unknown is up 0 with no halted series and no counters', () => {
    const text = renderExposition([{ project: 'r', host: 'h', up: false, halted: null, alerts: [] }], 'prometheus');
    expect(text).toContain('agent_runner_up{project="r",host="h"} 0');
    expect(text).not.toMatch(/^agent_runner_(halted|rounds_total)\{/m);
  });

  it('negotiates OpenMetrics only when asked; --listen takes HOST:PORT', () => {
    expect(negotiate('application/openmetrics-text; version=1.0.0,text/plain;q=0.5')).toBe('openmetrics');
    expect(negotiate(undefined)).toBe('prometheus');
    expect(parseListen('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseListen(':9464')).toEqual({ host: undefined, port: 9464 });
    expect(() => parseListen('9464')).toThrow(/--listen expects HOST:PORT/);
  });
});
