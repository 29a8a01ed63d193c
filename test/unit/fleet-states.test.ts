import { describe, expect, it } from 'vitest';
import { remoteCard } from '../../src/dashboard/fleet-source.js';
import { FleetStates } from '../../src/monitor/fleet-states.js';
import type { ProbeResult } from '../../src/monitor/probe.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');

function probe(over: Partial<ProbeResult> = {}): ProbeResult {
  return {
    v: 1,
    kind: 'agent-runner.probe',
    ts: new Date(NOW - 5000).toISOString(),
    hostname: 'pi',
    project: 'web',
    config: '/srv/web/agent-runner.toml',
    log_dir: '/srv/web/logs',
    cursor: '',
    bootstrap: false,
    lines_read: 0,
    health: 'healthy',
    conditions: [],
    auto_stop_on: [],
    service: { mode: 'none', active: false, pid: null, uptime_s: null },
    serve: { state: null, process: 'alive', pid: 42, until: null, wait_reason: null },
    halt: null,
    live_round: { round_num: 7, phase: 'agent', elapsed_s: 60, supervisor: 'serve' },
    last_supervisor_event: { ts: '2026-12-02T11:59:00Z', event: 'round_start' },
    history: { rounds: 6, last_round: { round_num: 6, outcome: 'clean', ended_at: '2026-12-02T11:58:00Z', duration_s: 90, cost_usd: 0.5 }, wait: null, usage_limit: null, cost: { today_usd: 1.25, today_complete: true, total_usd: 9 } },
    memory: null,
    disks: [],
    ...over,
  };
}

const T = { host: 'pi', remoteConfig: '/srv/web/agent-runner.toml', project: 'web' };

describe('a fleet\'s states', () => {
  it('each target\'s last answer becomes its metrics; a failed poll keeps the answer but makes it up 0 with halted unknown', () => {
    const s = new FleetStates();
    s.report(T, { 'hung|': { detector: 'hung', subject: '', severity: 'warning', since: '', message: '', auto_action: 'none' } }, true, probe());
    expect(s.metrics()).toEqual([
      { project: 'web', host: 'pi', up: true, halted: false, alerts: [{ detector: 'hung', severity: 'warning' }], last_supervisor_event_s: Date.parse('2026-12-02T11:59:00Z') / 1000, last_round_end_s: Date.parse('2026-12-02T11:58:00Z') / 1000 },
    ]);
    s.report(T, { 'host_unreachable|': { detector: 'host_unreachable', subject: '', severity: 'unknown', since: '', message: '', auto_action: 'none' } }, false, undefined);
    expect(s.metrics()[0]).toMatchObject({ up: false, halted: null, alerts: [] });
    expect(s.list()[0]!.result?.project).toBe('web');
  });

  it('a host\'s stand-in leaves when handed over; a target that gave up stays, down', () => {
    const s = new FleetStates();
    s.report({ host: 'pi', remoteConfig: '', project: null }, {}, false, undefined);
    s.report(T, {}, true, probe());
    s.ended({ host: 'pi', remoteConfig: '' }, true);
    s.ended(T, false);
    expect(s.metrics().map((m) => [m.project, m.up])).toEqual([['web', false]]);
  });
});

describe('a remote project\'s card', () => {
  it('says what the probe says: the live round (its clock moved on since the answer), the last round, today\'s cost', () => {
    const states = new FleetStates();
    states.report(T, {}, true, probe());
    const c = remoteCard('id', states.list()[0]!, NOW);
    expect(c).toMatchObject({ state: 'running', host: 'pi', name: 'web', rounds: 6, cost_today_usd: 1.25, remote: { up: true, answered_at: new Date(NOW - 5000).toISOString() } });
    expect(c.live).toMatchObject({ round_num: 7, elapsed_s: 65, timeout_s: null, started_at: new Date(NOW - 65_000).toISOString() });
    expect(c.last_round).toMatchObject({ round_num: 6, outcome: 'clean' });
  });

  it('a live round carries the timeout, the output age (moved on since the answer), the tool calls and the tokens so far the probe reports', () => {
    const states = new FleetStates();
    const live = { round_num: 7, phase: 'agent', elapsed_s: 60, supervisor: 'serve', timeout_s: 600, seconds_since_output: 3, last_output_at: new Date(NOW - 8000).toISOString(), tool_calls: 4, output_tokens: 1500 };
    states.report(T, {}, true, probe({ live_round: live }));
    expect(remoteCard('id', states.list()[0]!, NOW).live).toEqual({
      round_num: 7, phase: 'agent', started_at: new Date(NOW - 65_000).toISOString(), elapsed_s: 65, timeout_s: 600, seconds_since_output: 8, last_output_at: new Date(NOW - 8000).toISOString(), tool_calls: 4, output_tokens: 1500,
    });
    states.report(T, {}, true, probe({ live_round: { ...live, seconds_since_output: null, last_output_at: null, tool_calls: null } }));
    expect(remoteCard('id', states.list()[0]!, NOW).live).toMatchObject({ seconds_since_output: null, last_output_at: null, tool_calls: null });
  });

  it('an older remote\'s live round, without those figures, still makes a card: they are left out, nothing is made up', () => {
    const states = new FleetStates();
    const old = JSON.parse(JSON.stringify(probe())) as ProbeResult;
    expect(Object.keys(old.live_round!)).toEqual(['round_num', 'phase', 'elapsed_s', 'supervisor']);
    states.report(T, {}, true, old);
    const live = remoteCard('id', states.list()[0]!, NOW).live!;
    expect(live).toMatchObject({ round_num: 7, elapsed_s: 65, timeout_s: null, seconds_since_output: null, last_output_at: null });
    // No tool_calls at all: the card's renderer leaves the output row out rather than say 0.
    expect('tool_calls' in live).toBe(false);
    expect(JSON.parse(JSON.stringify(live))).not.toHaveProperty('tool_calls');
    expect('output_tokens' in live).toBe(false);
  });

  it('a halt carries its hint (or where to find it, from an older remote); an unreachable host is unknown', () => {
    const states = new FleetStates();
    states.report(T, {}, true, probe({ live_round: null, halt: { reason: 'auth_failure', ts: 'x', message: 'm', hint: 'log in again' } }));
    expect(remoteCard('id', states.list()[0]!, NOW)).toMatchObject({ state: 'halted', halt: { reason: 'auth_failure', hint: 'log in again' } });
    states.report(T, {}, true, probe({ live_round: null, halt: { reason: 'auth_failure', ts: 'x', message: 'm' } }));
    expect(remoteCard('id', states.list()[0]!, NOW).halt?.hint).toMatch(/ssh pi agent-runner status/);
    states.report(T, {}, false, undefined);
    expect(remoteCard('id', states.list()[0]!, NOW).state).toBe('unknown');
  });
});
