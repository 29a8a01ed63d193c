import { describe, expect, it } from 'vitest';
import { emptyLog, foldEvent } from '../../src/history/log.js';
import { usageLimit } from '../../src/history/model.js';
import { runDetectors } from '../../src/monitor/detectors/index.js';
import { needed } from '../../src/monitor/detectors/window.js';
import type { Snapshot, Thresholds } from '../../src/monitor/types.js';

// Edge cases of the rules, on snapshots folded from event lines shaped like the round's. Each
// detector is also driven end to end by real rounds in test/e2e/monitor.test.ts.

const T: Thresholds = {
  window: 10, rate_threshold: 0.2, orphan_chain_threshold: 3, no_progress_rounds: 3, disk_warning_pct: 90, disk_critical_pct: 95, mem_avail_min_mb: 200,
  supervisor_stale_threshold_s: 60, hung_factor: 1.5, kill_grace_s: 5, smoke_fail_rate: 0.1, auth_hint: '',
};
const NOW = Date.UTC(2026, 10, 21, 12);
const at = (s: number) => new Date(NOW - s * 1000).toISOString();

function snap(events: Array<Record<string, unknown>>, over: Partial<Snapshot> = {}): Snapshot {
  const d = emptyLog();
  for (const e of events) foldEvent(d, { ts: at(100), ...e } as never);
  const s: Snapshot = {
    now: NOW, digest: d, live: null,
    serve: { present: false, pid: null, process: 'none', state: null, until_ms: null, wait_reason: null }, usage_limit: null,
    service: { mode: 'none', active: false, pid: null, uptime_s: null }, halt: null,
    memory: { total_mb: 8000, available_mb: 4000 }, disks: [{ label: 'log_dir+work_dir', path: '/', used_pct: 40, free_gb: 100, total_gb: 200 }],
    login: null,
    ...over,
  };
  // The usage limit is the history model's verdict, as takeSnapshot gets it.
  return { ...s, usage_limit: usageLimit(s.digest, s.serve, NOW) };
}
const names = (s: Snapshot, t = T) => runDetectors(s, t).map((c) => c.detector).sort();
const exit = (n: number, extra: Record<string, unknown>) => ({ event: 'agent_exit', round_num: n, exit_code: 1, duration_s: 1, timed_out: false, outcome: 'error', transient: null, ...extra });

describe('detector rules', () => {
  it('a rate needs ceil(window × rate) matches, counted against the full window', () => {
    expect(needed(10, 0.2)).toBe(2);
    expect(needed(10, 0.25)).toBe(3);
    expect(needed(4, 0.5)).toBe(2);
    expect(needed(10, 0)).toBe(1);
    expect(names(snap([exit(1, { transient: 'auth_failure' })]))).toEqual([]);
    expect(names(snap([exit(1, { transient: 'auth_failure' }), exit(2, { transient: 'auth_failure' })]))).toEqual(['oauth_fail']);
  });

  it('oauth_fail on a single auth failure when serve halted on it', () => {
    expect(names(snap([exit(1, { transient: 'auth_failure' })], { halt: { reason: 'auth_failure', ts: at(50), message: '' } }))).toEqual(['oauth_fail']);
    // ...but not when the latest exit is something else.
    expect(names(snap([exit(1, { transient: 'auth_failure' }), exit(2, { outcome: 'clean', exit_code: 0 })], { halt: { reason: 'auth_failure', ts: at(50), message: '' } }))).toEqual([]);
  });

  it('oauth_fail and network_fail count only failures after the newest resume; oauth_fail only those after a round that authenticated', () => {
    const auth = (n: number, s: number) => exit(n, { transient: 'auth_failure', ts: at(s) });
    const net = (n: number, s: number) => exit(n, { transient: 'network', ts: at(s) });
    expect(names(snap([auth(1, 90), auth(2, 80)]))).toEqual(['oauth_fail']);
    // resume acknowledged both.
    expect(names(snap([auth(1, 90), auth(2, 80), { event: 'resumed', ts: at(70), halt_reason: 'auth_failure', halt_since: at(85) }]))).toEqual([]);
    // An older version's resume (halt_cleared only) counts too; failures after it are news.
    expect(names(snap([auth(1, 90), { event: 'halt_cleared', ts: at(85), reason: 'auth_failure', since: at(88) }, auth(2, 80), auth(3, 70)]))).toEqual(['oauth_fail']);
    // A round that authenticated (here: a plain error) ends the spell; a network failure proves nothing.
    expect(names(snap([auth(1, 90), exit(2, { ts: at(85) }), auth(3, 80)]))).toEqual([]);
    expect(names(snap([auth(1, 90), net(2, 85), auth(3, 80)]))).toEqual(['oauth_fail']);
    expect(names(snap([net(1, 90), net(2, 80)]))).toEqual(['network_fail']);
    expect(names(snap([net(1, 90), net(2, 80), { event: 'resumed', ts: at(70), halt_reason: null, halt_since: null }]))).toEqual([]);
  });

  it('only unclassified history falls back to the log-tail text match', () => {
    const classified = snap([exit(1, {}), exit(2, {})]);
    classified.digest.exits.forEach((x) => (x.text_match = 'auth_failure'));
    expect(names(classified)).toEqual([]);
    const legacy = snap([{ event: 'agent_exit', round_num: 1, exit_code: 1, duration_s: 2, timed_out: false }, { event: 'agent_exit', round_num: 2, exit_code: 1, duration_s: 2, timed_out: false }]);
    legacy.digest.exits.forEach((x) => (x.text_match = 'network'));
    expect(names(legacy)).toEqual(['network_fail']);
  });

  it('anomaly_repetitive_active while one of the newest 5 rounds reported a stuck tool loop', () => {
    const loop = { event: 'anomaly_repetitive_tool', round_num: 2, tool_name: 'Edit', target: 'src/a.ts', count: 8, window: 10 };
    const start = (n: number) => ({ event: 'round_start', round_num: n });
    const fired = runDetectors(snap([start(1), start(2), loop, start(3)]), T).find((c) => c.detector === 'anomaly_repetitive_active');
    expect(fired?.context).toMatchObject({ count: 8, window_rounds: 5, latest_tool: 'Edit', latest_target: 'src/a.ts', latest_round: 2, events: 1 });
    expect(names(snap([start(2), loop, start(6)]))).toEqual(['anomaly_repetitive_active']);
    // Round 7 is five rounds past round 2: the loop is old news.
    expect(names(snap([start(2), loop, start(7)]))).toEqual([]);
    expect(names(snap([start(1), start(2), start(3)]))).toEqual([]);
  });

  it('orphan_chain counts consecutive snapshotted rounds; a clean round_end resets it', () => {
    const chain = (n: number) => [{ event: 'orphan_stashed', round_num: n }, { event: 'round_end', round_num: n }];
    expect(names(snap([...chain(1), ...chain(2), ...chain(3)]))).toEqual(['orphan_chain']);
    expect(names(snap([...chain(1), ...chain(2), { event: 'round_end', round_num: 3 }, ...chain(4)]))).toEqual([]);
  });

  it('hung: past timeout × 1.5 + grace, with the supervisor\'s state in the message', () => {
    const live = (elapsed: number, supervisor: 'alive' | 'stopped' | 'dead') => ({ round_num: 7, phase: null, started_ms: NOW - elapsed * 1000, timeout_s: 100, supervisor, supervisor_pid: 5, agent_pid: 6, agent_alive: true, started_at: '', log_path: null, source: 'status' as const });
    expect(names(snap([], { live: live(155, 'alive') }))).toEqual([]);
    const c = runDetectors(snap([], { live: live(156, 'stopped') }), T);
    expect(c.map((x) => [x.detector, x.subject])).toEqual([['hung', 'R7']]);
    expect(c[0]!.message).toContain('stopped');
  });

  it('supervisor_stale: not for a halt, a clean stop, an announced wait or a round within its limits; the monitor\'s events never count', () => {
    const old = [{ event: 'round_end', round_num: 1, ts: at(600) }, { event: 'monitor_alert_emitted', ts: at(1) }];
    const serve = (process: 'alive' | 'stopped' | 'dead', extra: Partial<Snapshot['serve']> = {}) => ({ serve: { present: true, pid: 9, process, state: 'running_round', until_ms: null, wait_reason: null, ...extra } });
    expect(names(snap(old, serve('stopped')))).toEqual(['supervisor_stale']);
    expect(names(snap(old, serve('dead')))).toEqual(['supervisor_stale']);
    expect(names(snap(old))).toEqual([]); // nothing supposed to run
    expect(names(snap(old, { ...serve('stopped'), halt: { reason: 'crash_loop', ts: '', message: '' } }))).toEqual([]);
    expect(names(snap(old, serve('alive', { state: 'waiting', until_ms: NOW + 3600_000, wait_reason: 'usage_limit' })))).toEqual(['rate_limit_active']);
    // A frozen serve claiming a wait is still stale.
    expect(names(snap(old, serve('stopped', { state: 'waiting', until_ms: NOW + 3600_000, wait_reason: 'restart_delay' })))).toEqual(['supervisor_stale']);
    expect(names(snap(old, { ...serve('alive'), live: { round_num: 2, phase: null, started_ms: NOW - 500_000, timeout_s: 1800, supervisor: 'alive', supervisor_pid: 9, agent_pid: 10, agent_alive: true, started_at: '', log_path: null, source: 'status' } }))).toEqual([]);
    expect(names(snap(old, serve('stopped')), { ...T, supervisor_stale_threshold_s: 0 })).toEqual([]);
  });

  it('rate_limit_active ends with a clean round or a recovery, and once the reset is past', () => {
    const limited = { event: 'transient_error_detected', round_num: 1, classification: 'usage_limit', reset_at_epoch: Math.round(NOW / 1000) + 600, agent: 'claude' };
    expect(names(snap([limited]))).toEqual(['rate_limit_active']);
    expect(names(snap([limited, { event: 'transient_error_recovered', classification: 'usage_limit' }]))).toEqual([]);
    expect(names(snap([limited, exit(2, { outcome: 'clean', exit_code: 0 })]))).toEqual([]);
    expect(names(snap([{ ...limited, reset_at_epoch: Math.round(NOW / 1000) - 1 }]))).toEqual([]);
  });

  it('disk: per filesystem, warning below critical; smoke_fail_rate over start attempts', () => {
    const disks = [{ label: 'log_dir', path: '/l', used_pct: 96, free_gb: 1, total_gb: 20 }, { label: 'work_dir', path: '/w', used_pct: 91, free_gb: 5, total_gb: 50 }];
    expect(runDetectors(snap([], { disks }), T).map((c) => [c.detector, c.subject])).toEqual([['disk_critical', 'log_dir'], ['disk_warning', 'work_dir']]);
    const starts = Array.from({ length: 10 }, (_, i) => ({ event: 'round_start', round_num: i + 1 }));
    expect(names(snap([{ event: 'smoke_check_failed', check: 'agent_cli_in_path' }, ...starts]))).toEqual([]); // pushed out of the window
    expect(names(snap([...starts, { event: 'smoke_check_failed', check: 'agent_cli_in_path' }]))).toEqual(['smoke_fail_rate']);
  });

  it('credentials_expiring: nothing a day ahead, a warning within 24 h, critical once expired; resolved by a renewed login', () => {
    const login = (hours: number, renewable = false) => ({ login: { cli: 'claude', file: '/h/.claude/.credentials.json', expires_at_ms: NOW + hours * 3600_000, renewable } });
    expect(names(snap([], login(30)))).toEqual([]);
    const soon = runDetectors(snap([], login(3)), T);
    expect(soon).toEqual([expect.objectContaining({ detector: 'credentials_expiring', subject: '/h/.claude/.credentials.json', severity: 'warning', context: expect.objectContaining({ cli: 'claude', hours_left: 3, expired: false }) })]);
    expect(soon[0]!.message).toMatch(/claude login in \/h\/.claude\/.credentials.json expires at 2026-11-21T15:00:00.000Z \(in 3 h\)/);
    const gone = runDetectors(snap([], login(-1)), T);
    expect(gone).toEqual([expect.objectContaining({ detector: 'credentials_expiring', severity: 'critical', context: expect.objectContaining({ expired: true }) })]);
    expect(gone[0]!.context['hint']).toMatch(/log the claude CLI in again on this host, then run `agent-runner resume`/);
    expect(names(snap([], { login: null }))).toEqual([]);
    // A stored refresh token renews the access token this expiry belongs to.
    expect(names(snap([], login(-1, true)))).toEqual([]);
    expect(names(snap([], login(3, true)))).toEqual([]);
  });

  it('a failure after an agent CLI change names the change; host alerts and changes older than the window do not', () => {
    const start = (n: number) => ({ event: 'round_start', round_num: n });
    const change = { event: 'agent_cli_changed', round_num: 2, command: '/usr/bin/claude', from: '2.0.1', to: '2.1.0' };
    const fails = [start(1), exit(1, { outcome: 'clean', exit_code: 0 }), start(2), change, exit(2, { transient: 'auth_failure' }), start(3), exit(3, { transient: 'auth_failure' })];
    const disks = [{ label: 'log_dir', path: '/l', used_pct: 96, free_gb: 1, total_gb: 20 }];
    const c = runDetectors(snap(fails, { disks }), T);
    const oauth = c.find((x) => x.detector === 'oauth_fail')!;
    expect(oauth.message).toMatch(/\(agent CLI changed from 2\.0\.1 to 2\.1\.0 at round 2, before this failure\)$/);
    expect(oauth.context['agent_cli_changed']).toEqual({ from: '2.0.1', to: '2.1.0', round_num: 2 });
    expect(c.find((x) => x.detector === 'disk_critical')!.message).not.toMatch(/agent CLI/);
    // Twelve rounds later the change is out of the window (10): no longer offered as the cause.
    const later = Array.from({ length: 12 }, (_, i) => [start(i + 4), exit(i + 4, { transient: 'auth_failure' })]).flat();
    const old = runDetectors(snap([...fails, ...later]), T).find((x) => x.detector === 'oauth_fail')!;
    expect(old.message).not.toMatch(/agent CLI/);
    expect(old.context['agent_cli_changed']).toBeUndefined();
  });
});
