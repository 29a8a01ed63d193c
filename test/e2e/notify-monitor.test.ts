import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../helpers/http-receiver.js';
import { finish, monitorDirOf, readEvents, runCli, startCli, waitFor, type Project, useProjects } from '../helpers/project.js';

/**
 * What the monitor and serve tell a human, received by a real HTTP server on loopback: alerts
 * firing and resolved (and nothing again from a killed and restarted monitor), the dead man's
 * switch, usage-limit waits, the daily digest.
 */
const { project, track } = useProjects();
const receivers: Receiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});
const receiver = async () => {
  const r = await startReceiver();
  receivers.push(r);
  return r;
};
const bodies = (r: Receiver, path = '/hook') => r.requests.filter((q) => q.path === path).map((q) => JSON.parse(q.body) as { kind: string; key: string; title: string; severity: string; details: Record<string, unknown> });

/** disk_critical fires at any disk use above 1 %: a critical alert on demand. */
const CRITICAL_DISK = '[monitor.host_health]\ndisk_warning_pct = 0.5\ndisk_critical_pct = 1\n';
const CALM_DISK = '[monitor.host_health]\ndisk_warning_pct = 99.98\ndisk_critical_pct = 99.99\n';

function withTail(p: Project, tail: string) {
  const base = readFileSync(p.config, 'utf8').split('\n# ---- test tail ----\n')[0]!;
  writeFileSync(p.config, `${base}\n# ---- test tail ----\n${tail}`);
}
const hook = (url: string) => `[[notify]]\nname = "hook"\ntype = "webhook"\nurl = "${url}"\n`;
const monitorOnce = (p: Project) => runCli(['monitor', '--once', '--json', '--config', p.config], { cwd: p.dir });

describe('monitor notifications', () => {
  it('an alert firing and resolved arrive once each; a killed and restarted monitor re-sends nothing', async () => {
    const r = await receiver();
    const p = project();
    withTail(p, hook(r.url()) + CRITICAL_DISK);
    expect((await monitorOnce(p)).code).toBe(2);
    expect(bodies(r).map((b) => b.kind)).toEqual(['alert_firing']);
    expect(bodies(r)[0]).toMatchObject({ severity: 'critical', details: { detector: 'disk_critical', severity: 'critical' } });

    // A long-running monitor, killed with SIGKILL, then started again: the alert is not news.
    const m = track(startCli(['monitor', '--interval', '1', '--config', p.config], { cwd: p.dir }));
    const started = () => readFileSync(join(monitorDirOf(p), 'monitor-state.json'), 'utf8');
    const before = started();
    await waitFor(() => started() !== before, 'a poll of the long-running monitor');
    m.kill('SIGKILL');
    await finish(m);
    expect((await monitorOnce(p)).code).toBe(2);
    expect(bodies(r)).toHaveLength(1);

    withTail(p, hook(r.url()) + CALM_DISK);
    expect((await monitorOnce(p)).code).toBe(0);
    const all = bodies(r);
    expect(all.map((b) => b.kind)).toEqual(['alert_firing', 'alert_resolved']);
    expect(all[1]).toMatchObject({ severity: 'critical', title: expect.stringMatching(/disk_critical .*resolved/) });
    expect((await monitorOnce(p)).code).toBe(0);
    expect(bodies(r)).toHaveLength(2);
  });

  it('heartbeat_url: a plain ping after a healthy cycle, <url>/fail while something critical fires', async () => {
    const r = await receiver();
    const p = project();
    withTail(p, `[monitor]\nheartbeat_url = "${r.url('/ping/0f4c')}"\n` + CALM_DISK);
    expect((await monitorOnce(p)).code).toBe(0);
    expect(r.requests.map((q) => q.path)).toEqual(['/ping/0f4c']);
    withTail(p, `[monitor]\nheartbeat_url_env = "HC_URL"\n` + CRITICAL_DISK);
    expect((await runCli(['monitor', '--once', '--config', p.config], { cwd: p.dir, env: { HC_URL: r.url('/ping/0f4c') } })).code).toBe(2);
    expect(r.requests.map((q) => q.path)).toEqual(['/ping/0f4c', '/ping/0f4c/fail']);
    expect(r.requests[1]!.body).toMatch(/disk_critical critical/);
    // The URL is a secret: an unset variable is a config error that names the key, not a silent no-op.
    const unset = await runCli(['monitor', '--once', '--config', p.config], { cwd: p.dir, env: { HC_URL: '' } });
    expect(unset.code).toBe(78);
    expect(unset.stderr).toMatch(/monitor\.heartbeat_url_env: HC_URL is not set/);
  });

  it('digest_at: one daily digest with rounds by outcome, cost and commits, once per day', async () => {
    const r = await receiver();
    const p = project({ mode: 'json:{"type":"result","subtype":"success","is_error":false,"result":"done","total_cost_usd":0.25}' });
    withTail(p, hook(r.url()) + `[monitor]\ndigest_at = "00:00"\n` + CALM_DISK);
    expect((await runCli(['serve', '--max-rounds', '2', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    await monitorOnce(p);
    await monitorOnce(p);
    const digests = bodies(r).filter((b) => b.kind === 'digest');
    expect(digests).toHaveLength(1);
    expect(digests[0]!.details).toMatchObject({ rounds: { clean: 2 }, cost_usd: 0.5, commits: 1, halts: [] });
  });
});

describe('serve: usage-limit notifications', () => {
  it('a usage-limit wait sends its start, with the reset time, and its end', async () => {
    const r = await receiver();
    // The reset is set when the agent runs (now + 5 s), so a slow start cannot put it in the past.
    const p = project({
      mode: 'limited_for:5;;exit:1',
      runtime: { usage_limit_buffer_s: 0, usage_limit_jitter_s: 0 },
    });
    withTail(p, hook(r.url()));
    expect((await runCli(['serve', '--max-rounds', '2', '--config', p.config], { cwd: p.dir, timeoutMs: 90_000 })).code).toBe(0);
    const got = bodies(r).filter((b) => b.kind.startsWith('usage_limit'));
    expect(got.map((b) => b.kind)).toEqual(['usage_limit_wait', 'usage_limit_end']);
    const waiting = readEvents(p.logDir).find((e) => e.event === 'serve_waiting')!;
    expect(got[0]!.details).toMatchObject({ round_num: 1, until: waiting['until'], reset_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) });
  });
});
