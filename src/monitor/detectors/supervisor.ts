import type { Condition, Snapshot, Thresholds } from '../types.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** serve is waiting out a usage limit, or the agent reported one whose reset is still ahead (history/model.ts decides). */
export function rateLimitActive(s: Snapshot, _t: Thresholds): Condition[] {
  const l = s.usage_limit;
  if (!l) return [];
  const until = l.throttled_until_epoch * 1000;
  return [
    {
      detector: 'rate_limit_active',
      subject: '',
      severity: 'info',
      message: `throttled until ${iso(until)} (usage_limit)`,
      context: { throttled_until_iso: iso(until), classification: 'usage_limit', agent: l.agent, source: l.source },
      evidence_ms: l.reported_ms ?? s.now,
    },
  ];
}

/**
 * Nothing from the supervisor for longer than the threshold while it is supposed to be running.
 * Not stale: a recorded halt or a clean stop (nothing is supposed to write), a wait serve announced
 * and is alive to finish, a round still within its own limits (hung covers overruns). The
 * monitor's own events never count as a sign of life.
 */
export function supervisorStale(s: Snapshot, t: Thresholds): Condition[] {
  const last = s.digest.last_supervisor;
  if (t.supervisor_stale_threshold_s <= 0 || !last) return [];
  const age = Math.round((s.now - last.ts) / 1000);
  if (age <= t.supervisor_stale_threshold_s) return [];
  if (s.halt) return [];
  const expected = s.serve.present || s.service.active;
  if (!expected) return [];
  if (s.serve.state === 'waiting' && s.serve.until_ms !== null && s.serve.until_ms > s.now && s.serve.process === 'alive') return [];
  if (s.live && s.live.supervisor === 'alive' && (s.now - s.live.started_ms) / 1000 <= s.live.timeout_s * t.hung_factor + t.kill_grace_s) return [];
  const why = s.serve.process === 'stopped' ? `serve (pid ${s.serve.pid}) is stopped` : s.serve.process === 'dead' ? `serve (pid ${s.serve.pid}) died without recording a stop` : 'serve is alive but silent';
  return [
    {
      detector: 'supervisor_stale',
      subject: '',
      severity: 'warning',
      message: `no supervisor event for ${age}s (threshold ${t.supervisor_stale_threshold_s}s; last: ${last.event} at ${iso(last.ts)}): ${why}`,
      context: { age_s: age, threshold_s: t.supervisor_stale_threshold_s, last_ts: iso(last.ts), last_event: last.event, serve_pid: s.serve.pid, serve_process: s.serve.process, hint: '`agent-runner status`; `agent-runner restart` if it is wedged' },
      evidence_ms: last.ts,
    },
  ];
}
