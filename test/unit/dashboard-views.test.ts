import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/events/reader.js';
import { emptyLog, foldEvent } from '../../src/history/log.js';
import { buildHistory, type ModelInput } from '../../src/history/model.js';
import { decideLogEntries } from '../../src/dashboard/log-entries.js';
import { decideCard, decidePage } from '../../src/dashboard/views.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');

/** A history model folded from these events (in the writer's format), with no state files. */
function historyOf(events: Array<Record<string, unknown>>, over: Partial<ModelInput> = {}) {
  const log = emptyLog();
  for (const e of events) {
    const ev = parseEvent(JSON.stringify(e));
    if (ev) foldEvent(log, ev, 500);
  }
  return buildHistory({ log, status: null, serve: null, halt: null, loop: null, now: NOW, timeoutFor: () => 600, processes: { state: () => 'dead' }, rounds: 200, ...over });
}

function round(n: number, day: string, o: { outcome?: string; cost?: number; commits?: number } = {}): Array<Record<string, unknown>> {
  const t = `${day}T10:00:0${n % 10}.000Z`;
  return [
    { ts: t, event: 'round_start', round_num: n, phase: null },
    { ts: t, event: 'agent_exit', round_num: n, exit_code: o.outcome === 'error' ? 1 : 0, duration_s: 4 * n, timed_out: false, outcome: o.outcome ?? 'clean', cost_usd: o.cost ?? 0.5, tool_calls: 2 },
    { ts: t, event: 'agent_usage_recorded', round_num: n, input_tokens: 1000, output_tokens: 100, cached_tokens: 0, cost_usd: o.cost ?? 0.5 },
    { ts: t, event: 'round_end', round_num: n, outcome: o.outcome ?? 'clean', duration_s: 4 * n, commits: o.commits ?? 1 },
  ];
}

describe('dashboard views', () => {
  it('a card shows the halt with its hint, and says halted before anything else', () => {
    const h = historyOf(round(1, '2026-12-02'), { halt: { reason: 'auth_failure', ts: '2026-12-02T11:00:00.000Z', round_num: 1, exit_code: 81, message: '1 round(s) in a row failed to authenticate', hint: 'log the agent CLI in again on this host' } });
    const c = decideCard({ id: 'x', host: 'h', name: 'p', history: h, alerts: [], liveLogMtimeMs: null, now: NOW });
    expect(c.state).toBe('halted');
    expect(c.halt).toEqual({ reason: 'auth_failure', since: '2026-12-02T11:00:00.000Z', message: '1 round(s) in a row failed to authenticate', hint: 'log the agent CLI in again on this host' });
    expect(c.last_round).toMatchObject({ round_num: 1, outcome: 'clean', cost_usd: 0.5 });
  });

  it('a live round reports elapsed time against its timeout and the quiet time of its log', () => {
    const h = historyOf([{ ts: '2026-12-02T11:59:00.000Z', event: 'round_start', round_num: 3, phase: 'build' }]);
    const c = decideCard({ id: 'x', host: 'h', name: 'p', history: h, alerts: [], liveLogMtimeMs: NOW - 7000, now: NOW });
    expect(c.state).toBe('running');
    expect(c.live).toMatchObject({ round_num: 3, phase: 'build', elapsed_s: 60, timeout_s: 600, seconds_since_output: 7, tool_calls: null, output_tokens: null });
  });

  it('a live round\'s tool calls and output tokens so far come from its newest heartbeat; one without tokens leaves them null', () => {
    const start = { ts: '2026-12-02T11:59:00.000Z', event: 'round_start', round_num: 3, phase: null };
    const beat = (ts: string, extra: object) => ({ ts, event: 'round_progress', round_num: 3, log_size_kb: 1, last_write_age_s: 1, wall_age_s: 30, tool_calls: 2, ...extra });
    const card = (events: Array<Record<string, unknown>>) => decideCard({ id: 'x', host: 'h', name: 'p', history: historyOf(events), alerts: [], liveLogMtimeMs: null, now: NOW }).live;
    expect(card([start, beat('2026-12-02T11:59:30.000Z', { output_tokens: 800 }), beat('2026-12-02T11:59:40.000Z', { tool_calls: 5, output_tokens: 1500 })])).toMatchObject({ tool_calls: 5, output_tokens: 1500 });
    expect(card([start, beat('2026-12-02T11:59:30.000Z', {})])).toMatchObject({ tool_calls: 2, output_tokens: null });
  });

  it('the page sums cost, tokens and commits per UTC day, oldest first, and lists rounds oldest first', () => {
    const h = historyOf([...round(1, '2026-11-30', { cost: 1 }), ...round(2, '2026-12-01', { cost: 0.25, commits: 3 }), ...round(3, '2026-12-01', { outcome: 'error', cost: 0.5, commits: 0 })]);
    const card = decideCard({ id: 'x', host: 'h', name: 'p', history: h, alerts: [], liveLogMtimeMs: null, now: NOW });
    const alerts = [{ ts: '2026-12-01T00:00:00Z', event: 'monitor_alert_emitted', detector: 'stuck' }];
    const page = decidePage(card, h, [{ ts: '2026-12-01T00:00:01Z', event: 'round_start' }], alerts);
    expect(page.timeline.map((r) => [r.round_num, r.outcome])).toEqual([[1, 'clean'], [2, 'clean'], [3, 'error']]);
    expect(page.days).toEqual([
      { day: '2026-11-30', rounds: 1, cost_usd: 1, input_tokens: 1000, output_tokens: 100, commits: 1 },
      { day: '2026-12-01', rounds: 2, cost_usd: 0.75, input_tokens: 2000, output_tokens: 200, commits: 3 },
    ]);
    expect(page.alert_events).toEqual(alerts);
    expect(page.events.map((e) => e.event)).toEqual(['round_start']);
  });
});

describe('round log entries', () => {
  it('stream-json becomes assistant text, tool calls, tool results and the result', () => {
    const line = JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'hi' }, { type: 'tool_use', name: 'Bash', input: { command: 'ls' } }] } });
    expect(decideLogEntries(line)).toEqual([{ kind: 'assistant', text: 'hi' }, { kind: 'tool_use', name: 'Bash', input: '{"command":"ls"}' }]);
    const user = JSON.stringify({ type: 'user', message: { content: [{ type: 'tool_result', content: [{ type: 'text', text: 'a.txt' }], is_error: true }] } });
    expect(decideLogEntries(user)).toEqual([{ kind: 'tool_result', text: 'a.txt', is_error: true }]);
    expect(decideLogEntries('{"type":"result","result":"done","is_error":false,"total_cost_usd":0.1,"num_turns":2}')).toEqual([{ kind: 'result', text: 'done', is_error: false, cost_usd: 0.1, turns: 2 }]);
  });

  it('plain output and torn JSON are shown as they are', () => {
    expect(decideLogEntries('compiling…')).toEqual([{ kind: 'text', text: 'compiling…' }]);
    expect(decideLogEntries('{"type":"assis')).toEqual([{ kind: 'text', text: '{"type":"assis' }]);
    expect(decideLogEntries('{"type":"rate_limit_event"}')).toEqual([{ kind: 'json', type: 'rate_limit_event', text: '{"type":"rate_limit_event"}' }]);
  });

  it('a long tool result is cut, saying how much was left out', () => {
    const e = decideLogEntries(JSON.stringify({ type: 'user', message: { content: [{ type: 'tool_result', content: 'x'.repeat(5000) }] } }))[0]!;
    expect(e.kind === 'tool_result' && e.text.endsWith('… (1000 more characters)')).toBe(true);
  });
});
