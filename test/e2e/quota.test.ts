import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finish, readEvents, readJson, runCli, startCli, survivorsOf, useProjects, waitFor, type EventLine, type Project } from '../helpers/project.js';

// Spending the quota wisely across time and projects: quota.reserve keeps rounds out of the human's
// hours, and projects sharing one account pause together. The built CLI, real serve processes,
// bash fake agents.

const { project, track } = useProjects();
const ofKind = (ev: EventLine[], k: string) => ev.filter((e) => e.event === k);
const startServe = (p: Project, ...extra: string[]) => track(startCli(['serve', '--config', p.config, ...extra], { cwd: p.dir }));
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

describe('quota.reserve', () => {
  it('inside the window serve starts no round: it emits quota_reserve_wait until the window ends, shows the wait, and a SIGTERM ends it', async () => {
    // A UTC window from the minute before now to four minutes after: serve starts inside it whatever
    // the time of day (midnight included: the window then crosses it), even on a slow start.
    const now = Date.now();
    const from = hhmm(now - 60_000);
    const to = hhmm(now + 240_000);
    const p = project({ extraToml: `[quota]\nreserve = { from = "${from}", to = "${to}", time_zone = "UTC" }` });
    const s = startServe(p);
    const wait = await waitFor(() => ofKind(readEvents(p.logDir), 'quota_reserve_wait')[0], 'quota_reserve_wait', 30_000);
    expect(wait).toMatchObject({ from, to, time_zone: 'UTC' });
    // The window ends at the start of minute `to`.
    const until = Date.parse(String(wait['until']));
    expect(hhmm(until)).toBe(to);
    expect(until % 60_000).toBe(0);
    expect(until).toBeGreaterThan(now);
    expect(await waitFor(() => ofKind(readEvents(p.logDir), 'serve_waiting')[0], 'serve_waiting')).toMatchObject({ reason: 'reserve', until: wait['until'], round_num: null });

    const status = JSON.parse((await runCli(['status', '--json', '--config', p.config], { cwd: p.dir })).stdout) as { waiting: { reason: string; until: string } };
    expect(status.waiting).toMatchObject({ reason: 'reserve' });
    expect(Date.parse(status.waiting.until)).toBe(until);

    s.kill('SIGTERM');
    const r = await finish(s);
    expect(r.code, r.stderr).toBe(0);
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'round_start')).toEqual([]);
    expect(ofKind(ev, 'serve_stopped')[0]).toMatchObject({ reason: 'signal SIGTERM', rounds_completed: 0 });
  });

  it('outside the window rounds run as usual', async () => {
    // A one-minute window twelve hours away.
    const away = hhmm(Date.now() + 12 * 3600_000);
    const p = project({ extraToml: `[quota]\nreserve = { from = "${away}", to = "${hhmm(Date.now() + 12 * 3600_000 + 60_000)}", time_zone = "UTC" }` });
    const r = await runCli(['serve', '--config', p.config, '--max-rounds', '1'], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'quota_reserve_wait')).toEqual([]);
    expect(ofKind(ev, 'round_start')).toHaveLength(1);
  });

  it('a bad zone is one line naming the file, the key and what is expected (exit 78)', async () => {
    const p = project({ extraToml: '[quota]\nreserve = { from = "09:00", to = "18:00", time_zone = "Mars/Olympus" }' });
    const r = await runCli(['serve', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(78);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^agent-runner: .*agent-runner\.toml:\d+: quota\.reserve\.time_zone: expected an IANA time zone such as "Europe\/Berlin" or "UTC", got the string "Mars\/Olympus"$/);
  });
});

describe('a quota shared by the projects of one account', () => {
  it('one project is refused for its quota: the other project of the account waits for the same reset, naming the source', { timeout: 120_000 }, async () => {
    const shared = '[quota]\naccount = "e2e-shared"';
    const runtime = { usage_limit_buffer_s: 0, usage_limit_jitter_s: 0, restart_delay_s: 1 };
    // b works away in short rounds; a is refused by the limit 8 s after its agent prints it.
    const b = project({ mode: 'ok', runtime, extraToml: shared });
    const a = project({ mode: 'limited_for:8;;exit:1', runtime, extraToml: shared });
    const sb = startServe(b);
    await waitFor(() => ofKind(readEvents(b.logDir), 'round_end').length >= 1, 'b ran a round', 30_000);
    const sa = startServe(a, '--max-rounds', '2');

    const pause = await waitFor(() => ofKind(readEvents(b.logDir), 'quota_shared_pause')[0], 'b paused for a', 60_000);
    // Under load b may first look after a's first reset has passed, and see a's second round's.
    const limit = ofKind(readEvents(a.logDir), 'agent_exit').find((e) => e['round_num'] === pause['source_round_num'])!;
    expect(limit).toMatchObject({ transient: 'usage_limit' });
    const reset = limit['reset_at_epoch'] as number;
    expect(pause).toMatchObject({ account: 'account-e2e-shared', reason: 'usage_limit', source_project: a.project, source_config: a.config, reset_at_epoch: reset });
    expect(Date.parse(String(pause['until'])) / 1000).toBeGreaterThanOrEqual(reset);
    // Both wait: a for its own limit, b for a's.
    expect(await waitFor(() => ofKind(readEvents(a.logDir), 'serve_waiting')[0], 'a waiting')).toMatchObject({ reason: 'usage_limit' });
    expect(await waitFor(() => ofKind(readEvents(b.logDir), 'serve_waiting').find((w) => w['reason'] === 'shared_quota'), 'b waiting')).toMatchObject({ until: pause['until'] });

    // b starts its next round only once the reset is past.
    const pausedAt = Date.parse(pause.ts);
    const next = await waitFor(() => ofKind(readEvents(b.logDir), 'round_start').find((e) => Date.parse(e.ts) > pausedAt), 'b resumed', 60_000);
    expect(Date.parse(next.ts) / 1000).toBeGreaterThanOrEqual(reset);

    const ra = await finish(sa, 60_000);
    expect(ra.code, ra.stderr).toBe(0);
    sb.kill('SIGTERM');
    const rb = await finish(sb, 60_000);
    expect(rb.code, rb.stderr).toBe(0);

    // One file per account, in the per-user state dir; no lock left behind.
    const dir = join(process.env['XDG_STATE_HOME']!, 'agent-runner', 'quota');
    expect(readdirSync(dir)).toContain('account-e2e-shared.json');
    expect(readdirSync(dir).filter((n) => n.endsWith('.lock'))).toEqual([]);
    expect(readJson(join(dir, 'account-e2e-shared.json'))).toMatchObject({ key: 'account-e2e-shared', reason: 'usage_limit', source: { project: a.project } });
    expect(survivorsOf(a.testId)).toEqual([]);
    expect(survivorsOf(b.testId)).toEqual([]);
  });

  it('projects with no account in common share nothing', async () => {
    const runtime = { usage_limit_buffer_s: 0, usage_limit_jitter_s: 0 };
    const a = project({ mode: 'limited_for:600;;exit:1', runtime, extraToml: '[quota]\naccount = "e2e-one"' });
    const b = project({ mode: 'ok', runtime, extraToml: '[quota]\naccount = "e2e-two"' });
    expect((await runCli(['serve', '--config', a.config, '--max-rounds', '1'], { cwd: a.dir })).code).toBe(0);
    expect((await runCli(['serve', '--config', b.config, '--max-rounds', '1'], { cwd: b.dir })).code).toBe(0);
    expect(ofKind(readEvents(b.logDir), 'quota_shared_pause')).toEqual([]);
    expect(ofKind(readEvents(b.logDir), 'round_start')).toHaveLength(1);
  });
});
