import { describe, expect, it } from 'vitest';
import { duration, ServeNarrator } from '../../src/cli/serve-narrator.js';

function narrate() {
  const lines: string[] = [];
  let now = Date.parse('2026-01-01T00:00:00Z');
  const n = new ServeNarrator({ write: (l) => lines.push(l), paint: (style, text) => `<${style}>${text}</${style}>`, now: () => now });
  return { n, lines, tick: (s: number) => (now += s * 1000) };
}

const exit = (round_num: number, outcome: 'clean' | 'timeout' | 'error', cost_usd: number | null, transient: 'usage_limit' | null = null) =>
  ({ round_num, exit_code: 0, signal: null, duration_s: 1, timed_out: outcome === 'timeout', exit_cause: outcome, outcome, transient, reset_at_epoch: null, leftovers_killed: 0, tool_calls: 0, cost_usd });

describe('serve narrator', () => {
  it('tells each round from its events, each wait once however many heartbeats, and sums up', () => {
    const { n, lines, tick } = narrate();
    n.observe('round_start', { round_num: 1, phase: 'build', checks: [] });
    tick(12.34);
    n.observe('agent_exit', exit(1, 'clean', 0.25));
    n.observe('round_end', { round_num: 1, outcome: 'clean', duration_s: 12.34, commits: 2 });
    n.observe('round_start', { round_num: 2, phase: null, checks: [] });
    n.observe('agent_exit', exit(2, 'error', null, 'usage_limit'));
    n.observe('round_end', { round_num: 2, outcome: 'error', duration_s: 75, commits: null });
    const until = new Date(Date.parse('2026-01-01T00:00:12.340Z') + 3600_000).toISOString();
    n.observe('serve_waiting', { reason: 'usage_limit', until, seconds: 3600, round_num: 2 });
    tick(60);
    n.observe('serve_waiting', { reason: 'usage_limit', until, seconds: 3540, round_num: 2 });
    n.observe('halt_recorded', { reason: 'budget', exit_code: 82, round_num: 2, hint: 'raise the budget' });
    n.observe('serve_stopped', { reason: 'budget', rounds_completed: 2, exit_code: 82 });
    expect(lines).toEqual([
      'round 1 (build): <green>clean</green> in 12s, $0.25, 2 commits',
      'round 2: <yellow>error</yellow> (usage_limit) in 1m15s',
      `<cyan>waiting 1h00m (usage_limit) until ${until}</cyan>`,
      '<bold>summary</bold>: 2 rounds (1 clean, 1 error), $0.25, 2 commits in 1m12s; stopped: <red>halted (budget)</red>, exit 82',
    ]);
  });

  it('writes every event through to the real sink, and forwards its write error', () => {
    const { n } = narrate();
    const seen: string[] = [];
    const failure = new Error('ENOSPC');
    const sink = n.tee({ emit: (kind) => seen.push(kind), writeError: failure });
    sink.emit('serve_reload', { config: '/x' });
    expect(seen).toEqual(['serve_reload']);
    expect(sink.writeError).toBe(failure);
  });

  it('formats durations for short rounds and long waits', () => {
    expect([0.04, 9.96, 12.4, 59.6, 61, 3599, 3600, 86399].map(duration)).toEqual(['0.0s', '10s', '12s', '1m00s', '1m01s', '59m59s', '1h00m', '23h59m']);
  });
});
