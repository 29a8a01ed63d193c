import { describe, expect, it } from 'vitest';
import { heartbeatUrl } from '../../src/monitor/heartbeat.js';
import { digestDueDate } from '../../src/monitor/daily-digest.js';
import { webhookRequest } from '../../src/notify/channels/webhook-body.js';
import { alertNotification, digestNotification, haltNotification } from '../../src/notify/messages.js';
import type { AlertState } from '../../src/monitor/alerts.js';

const origin = { project: 'proj', host: 'box' };
const alert = { detector: 'oauth_fail', subject: '', severity: 'critical' as const, state: 'firing' as const, message: 'auth', since: '2026-01-01T00:00:00.000Z', ts: '2026-01-01T00:00:05.000Z', host: null, auto_action: 'stop_service' as const, context: {} };

describe('what is sent', () => {
  it('a spent budget is its own kind; other halts are critical and carry the fix and resume', () => {
    const h = { ts: 't', message: 'm', hint: 'raise the budget', exit_code: 82, round_num: 3 };
    expect(haltNotification(origin, { ...h, reason: 'budget' })).toMatchObject({ kind: 'budget_exhausted', severity: 'warning' });
    const crash = haltNotification(origin, { ...h, reason: 'crash_loop', hint: 'see the log' });
    expect(crash).toMatchObject({ kind: 'halt', severity: 'critical', hint: 'see the log; then run `agent-runner resume`' });
    expect(haltNotification(origin, { ...h, reason: 'done' }).severity).toBe('info');
  });

  it('an alert keys on its start and severity: the same alert seen again has the same key', () => {
    const a = alertNotification(origin, alert);
    expect(alertNotification(origin, { ...alert, ts: 'later' }).key).toBe(a.key);
    expect(alertNotification(origin, { ...alert, severity: 'warning' }).key).not.toBe(a.key);
    const resolved = alertNotification(origin, { ...alert, state: 'resolved' });
    expect(resolved).toMatchObject({ kind: 'alert_resolved', severity: 'critical', hint: null });
    expect(resolved.key).not.toBe(a.key);
    // An unknown host state pages like a critical one.
    expect(alertNotification(origin, { ...alert, severity: 'unknown' }).severity).toBe('critical');
  });

  it('the digest says rounds by outcome, cost and commits, keyed by day', () => {
    const d = digestNotification(origin, { date: '2026-01-02', ts: 'x', rounds: { clean: 3, error: 1 }, cost_usd: 1.5, commits: 4, halts: [], alerts_firing: [] });
    expect(d.key).toBe('digest:proj:2026-01-02');
    expect(d.message).toMatch(/Rounds: 4 \(3 clean, 1 error\)\nCost: \$1\.50\nCommits: 4/);
  });

  it('the digest of a remote project names its host, and is keyed by host too', () => {
    const d = digestNotification({ project: 'proj', host: 'pi' }, { date: '2026-01-02', ts: 'x', rounds: {}, cost_usd: 0, commits: 0, halts: [], alerts_firing: [] }, true);
    expect(d.key).toBe('digest:pi:proj:2026-01-02');
    expect(d.title).toBe('proj on pi: daily digest for the 24 h to x');
  });

  it('ntfy posts to the server root with the topic in the body; discord is cut at 2000 characters', () => {
    const n = haltNotification(origin, { reason: 'crash_loop', ts: 't', message: 'x'.repeat(3000), hint: 'h', exit_code: 80, round_num: 1 });
    const ntfy = webhookRequest('ntfy', 'https://ntfy.example/alerts-x?auth=1', n);
    expect(ntfy.url).toBe('https://ntfy.example/?auth=1');
    expect(JSON.parse(ntfy.body)).toMatchObject({ topic: 'alerts-x', priority: 5 });
    expect((JSON.parse(webhookRequest('discord', 'https://d', n).body) as { content: string }).content).toHaveLength(2000);
    expect(webhookRequest('json', 'https://j', n).headers['idempotency-key']).toBe(n.key);
  });
});

describe('heartbeat and digest timing', () => {
  const firing = (severity: AlertState['severity']): Record<string, AlertState> => ({ k: { detector: 'd', subject: '', severity, since: 's', message: 'm', auto_action: 'none' } });
  it('pings <url>/fail while something critical fires or the host is unknown, else the URL itself', () => {
    expect(heartbeatUrl('https://hc-ping.com/abc', {}, true)).toEqual({ url: 'https://hc-ping.com/abc', failing: false });
    expect(heartbeatUrl('https://hc-ping.com/abc', firing('warning'), true).failing).toBe(false);
    expect(heartbeatUrl('https://hc-ping.com/abc/', firing('critical'), true).url).toBe('https://hc-ping.com/abc/fail');
    expect(heartbeatUrl('https://hc-ping.com/abc?rid=1', {}, false).url).toBe('https://hc-ping.com/abc/fail?rid=1');
  });

  it('a digest is due from digest_at on, local time', () => {
    const at = (h: number, m: number) => new Date(2026, 0, 2, h, m).getTime();
    expect(digestDueDate('09:00', at(8, 59))).toBeUndefined();
    expect(digestDueDate('09:00', at(9, 0))).toBe('2026-01-02');
    expect(digestDueDate('09:00', at(23, 59))).toBe('2026-01-02');
  });
});
