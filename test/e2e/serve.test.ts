import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  finish, kinds, readEvents, readJson, recordedPids, runCli, startCli, survivorsOf, waitFor,
  type EventLine, type Project, useProjects,
} from '../helpers/project.js';

const { project, track } = useProjects();

const serveCli = (p: Project, ...extra: string[]) => runCli(['serve', '--config', p.config, ...extra], { cwd: p.dir, timeoutMs: 90_000 });
const startServe = (p: Project, ...extra: string[]) => {
  const c = startCli(['serve', '--config', p.config, ...extra], { cwd: p.dir });
  track(c);
  return c;
};
const ofKind = (ev: EventLine[], k: string) => ev.filter((e) => e.event === k);
const setMode = (p: Project, mode: string) => writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, `FAKE_MODE = ${JSON.stringify(mode)}`));
const agentRunning = (p: Project, n = 1) => () => recordedPids(p).length >= n && existsSync(join(p.logDir, 'status.json')) && readJson(join(p.logDir, 'status.json'))['running'] === true;

describe('serve: signals', () => {
  it('SIGTERM mid-round drains: the round finishes, no second round, agent gone, exit 0', async () => {
    const p = project({ mode: 'sleep:2', runtime: { restart_delay_s: 0 } });
    const s = startServe(p);
    await waitFor(agentRunning(p), 'agent running');
    s.kill('SIGTERM');
    const r = await finish(s);
    expect(r.code).toBe(0);
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'round_start')).toHaveLength(1);
    expect(ofKind(ev, 'agent_exit')[0]).toMatchObject({ outcome: 'clean' });
    expect(ofKind(ev, 'serve_stopping')[0]).toMatchObject({ signal: 'SIGTERM', mode: 'drain' });
    expect(kinds(ev).at(-1)).toBe('serve_stopped');
    expect(survivorsOf(p.testId)).toEqual([]);
    expect(existsSync(join(p.logDir, 'serve.pid'))).toBe(false);
  });

  it('a second SIGTERM interrupts the round now (TERM → grace → KILL of the agent tree)', async () => {
    const p = project({ mode: 'ignore_term;;child;;setsid;;sleep:300', runtime: { kill_grace_s: 1 } });
    const s = startServe(p);
    await waitFor(agentRunning(p, 3), 'agent running');
    s.kill('SIGTERM');
    await waitFor(() => ofKind(readEvents(p.logDir), 'serve_stopping').length > 0, 'drain begun');
    s.kill('SIGTERM');
    const r = await finish(s);
    expect(r.code).toBe(0);
    // Interrupted, not drained: the agent asked for 300 s.
    expect(ofKind(readEvents(p.logDir), 'round_end')[0]!['duration_s']).toBeLessThan(300);
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'agent_exit')[0]).toMatchObject({ outcome: 'interrupted' });
    expect(ofKind(ev, 'serve_stopping').map((e) => e['mode'])).toEqual(['drain', 'interrupt']);
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('the drain is bounded by stop_drain_s', async () => {
    const p = project({ mode: 'sleep:300', runtime: { stop_drain_s: 1, kill_grace_s: 1 } });
    const s = startServe(p);
    await waitFor(agentRunning(p), 'agent running');
    s.kill('SIGTERM');
    const r = await finish(s);
    expect(r.code).toBe(0);
    expect(ofKind(readEvents(p.logDir), 'agent_exit')[0]).toMatchObject({ outcome: 'interrupted' });
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('SIGHUP reloads a good config between rounds and rejects a bad one, keeping the old', async () => {
    const p = project({ mode: 'ok', runtime: { restart_delay_s: 1 } });
    const s = startServe(p);
    await waitFor(() => ofKind(readEvents(p.logDir), 'round_end').length >= 1, 'first round');
    setMode(p, 'exit:3');
    s.kill('SIGHUP');
    await waitFor(() => ofKind(readEvents(p.logDir), 'serve_reload').length === 1, 'reload');
    await waitFor(() => ofKind(readEvents(p.logDir), 'agent_exit').some((e) => e['exit_code'] === 3), 'new config in force');
    writeFileSync(p.config, readFileSync(p.config, 'utf8') + '\n[runtime.oops]\n');
    s.kill('SIGHUP');
    await waitFor(() => ofKind(readEvents(p.logDir), 'serve_reload_rejected').length === 1, 'reload rejected');
    const before = ofKind(readEvents(p.logDir), 'round_start').length;
    await waitFor(() => ofKind(readEvents(p.logDir), 'round_start').length > before, 'still running rounds with the old config');
    expect(ofKind(readEvents(p.logDir), 'serve_reload_rejected')[0]!['error']).toMatch(/runtime\.oops|unknown key/);
    s.kill('SIGTERM');
    expect((await finish(s)).code).toBe(0);
  });
});

describe('serve: halts are durable', () => {
  it('crash loop: a real `exit 1` agent halts after N fast rounds; serve then refuses until resume', async () => {
    const p = project({ mode: 'exit:1', runtime: { restart_delay_s: 0, crash_loop_threshold: 3, backoff_max_s: 1 } });
    const r = await serveCli(p);
    expect(r.code).toBe(80);
    let ev = readEvents(p.logDir);
    expect(ofKind(ev, 'round_start')).toHaveLength(3);
    expect(ofKind(ev, 'crash_loop')[0]).toMatchObject({ consecutive: 3 });
    expect(readJson(join(p.logDir, 'halt.json'))).toMatchObject({ reason: 'crash_loop', exit_code: 80 });
    const again = await serveCli(p);
    expect(again.code).toBe(85);
    expect(again.stderr).toMatch(/halted \(crash_loop\)/);
    ev = readEvents(p.logDir);
    expect(ofKind(ev, 'round_start')).toHaveLength(3);
    expect(kinds(ev)).toContain('halt_refused_start');
    const resume = await runCli(['resume', '--config', p.config], { cwd: p.dir });
    expect(resume.code).toBe(0);
    setMode(p, 'ok');
    expect((await serveCli(p, '--max-rounds', '1')).code).toBe(0);
    expect(kinds(readEvents(p.logDir))).toContain('halt_cleared');
  });

  it('auth failure (stream-json 401) halts after the first round: no second round burns quota', async () => {
    const p = project({ mode: 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"Invalid API key · Please run /login"};;exit:1' });
    const r = await serveCli(p);
    expect(r.code).toBe(81);
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'round_start')).toHaveLength(1);
    expect(kinds(ev)).toContain('auth_failure_halt');
    expect(readJson(join(p.logDir, 'halt.json'))).toMatchObject({ reason: 'auth_failure' });
  });

  it('config max_rounds is a durable budget; --max-rounds bounds one invocation only', async () => {
    const p = project({ mode: 'ok', runtime: { max_rounds: 2 } });
    const r = await serveCli(p);
    expect(r.code).toBe(82);
    expect(ofKind(readEvents(p.logDir), 'round_start')).toHaveLength(2);
    expect(ofKind(readEvents(p.logDir), 'max_rounds_reached')[0]).toMatchObject({ source: 'config', max_rounds: 2 });
    const q = project({ mode: 'ok' });
    expect((await serveCli(q, '--max-rounds', '2')).code).toBe(0);
    expect((await serveCli(q, '--max-rounds', '1')).code).toBe(0);
    expect(ofKind(readEvents(q.logDir), 'round_start')).toHaveLength(3);
    expect(existsSync(join(q.logDir, 'halt.json'))).toBe(false);
  });

  it('a wall-clock budget (max_wall_s) halts, and survives a restart of serve', async () => {
    const p = project({ mode: 'sleep:1', runtime: { max_wall_s: 1 } });
    const r = await serveCli(p);
    expect(r.code).toBe(82);
    expect(ofKind(readEvents(p.logDir), 'budget_exhausted')[0]).toMatchObject({ budget: 'max_wall_s', limit: 1 });
    expect(ofKind(readEvents(p.logDir), 'round_start')).toHaveLength(1);
    expect((await serveCli(p)).code).toBe(85);
    // resume resets the budget: the next serve runs again.
    expect((await runCli(['resume', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    expect((await serveCli(p, '--once')).code).toBe(0);
  });

  it('a cost budget halts once the rounds\' reported total_cost_usd reaches it', async () => {
    const p = project({ mode: 'json:{"type":"result","subtype":"success","is_error":false,"result":"ok","total_cost_usd":0.6}', runtime: { max_cost_usd: 1 } });
    const r = await serveCli(p);
    expect(r.code).toBe(82);
    expect(ofKind(readEvents(p.logDir), 'round_start')).toHaveLength(2);
    expect(ofKind(readEvents(p.logDir), 'budget_exhausted')[0]).toMatchObject({ budget: 'max_cost_usd', limit: 1 });
  });

  it('the agent\'s done sentinel halts (exit 83) and is archived, not deleted; a stop_file halts (exit 84)', async () => {
    const p = project({ mode: 'write_sentinel' });
    const r = await serveCli(p);
    expect(r.code).toBe(83);
    expect(existsSync(join(p.logDir, '.agent-done'))).toBe(false);
    const archived = readdirSync(join(p.logDir, 'archive'));
    expect(archived).toHaveLength(1);
    expect(readFileSync(join(p.logDir, 'archive', archived[0]!), 'utf8')).toContain('all done');
    expect(ofKind(readEvents(p.logDir), 'agent_self_terminated')[0]).toMatchObject({ reason: 'all done\n' });
    const q = project({ mode: 'ok', runtime: { stop_file: 'STOP' } });
    writeFileSync(join(q.dir, 'STOP'), 'maintenance');
    const r2 = await serveCli(q);
    expect(r2.code).toBe(84);
    expect(ofKind(readEvents(q.logDir), 'round_start')).toHaveLength(0);
    expect(ofKind(readEvents(q.logDir), 'stop_file_detected')[0]).toMatchObject({ content: 'maintenance' });
  });

  it('a broken prompt halts as config_broken (78) and stays halted', async () => {
    const p = project({ mode: 'ok' });
    writeFileSync(join(p.dir, 'prompt.md'), 'tiny');
    const r = await serveCli(p);
    expect(r.code).toBe(78);
    expect(readJson(join(p.logDir, 'halt.json'))).toMatchObject({ reason: 'config_broken' });
    expect(kinds(readEvents(p.logDir))).toContain('config_broken');
    expect((await serveCli(p)).code).toBe(85);
  });
});

describe('serve: usage limits and back-off', () => {
  it('waits until the reported reset (+ buffer), without spawning, then resumes', async () => {
    const p = project({ runtime: { usage_limit_buffer_s: 0, usage_limit_jitter_s: 0 } });
    // The reset is set when the agent runs, so a slow start cannot put it in the past.
    setMode(p, 'limited_for:10;;exit:1');
    const r = await serveCli(p, '--max-rounds', '2');
    expect(r.code).toBe(0);
    const ev = readEvents(p.logDir);
    const starts = ofKind(ev, 'round_start');
    expect(starts).toHaveLength(2);
    const waiting = ofKind(ev, 'serve_waiting')[0]!;
    expect(waiting['reason']).toBe('usage_limit');
    const until = Date.parse(String(waiting['until'])) / 1000;
    // resetsAt (whole seconds) was printed while the first round ran.
    expect(until).toBeGreaterThanOrEqual(Math.floor(Date.parse(starts[0]!.ts) / 1000) + 10);
    expect(until).toBeLessThanOrEqual(Date.parse(ofKind(ev, 'round_end')[0]!.ts) / 1000 + 10);
    expect(Date.parse(starts[1]!.ts) / 1000).toBeGreaterThanOrEqual(until);
    expect(kinds(ev)).toContain('transient_error_recovered');
  });

  it('a long usage-limit wait (past Node\'s 24.8-day timer limit) shows in status and is interrupted by SIGTERM at once', async () => {
    const p = project({ runtime: { usage_limit_max_wait_s: 60 * 86400 } });
    const reset = Math.floor(Date.now() / 1000) + 30 * 86400;
    setMode(p, `json:{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","rateLimitType":"five_hour","resetsAt":${reset}}};;exit:1`);
    const s = startServe(p);
    await waitFor(() => ofKind(readEvents(p.logDir), 'serve_waiting').length > 0, 'waiting');
    const status = await runCli(['status', '--json', '--config', p.config], { cwd: p.dir });
    const doc = JSON.parse(status.stdout) as { waiting: { reason: string; until: string }; active: boolean };
    expect(doc.active).toBe(true);
    expect(doc.waiting.reason).toBe('usage_limit');
    expect(Date.parse(doc.waiting.until) / 1000).toBeGreaterThan(reset - 5);
    const t0 = Date.now();
    s.kill('SIGTERM');
    const r = await finish(s);
    expect(r.code).toBe(0);
    // Interrupted at once: a wait that only looked at signals between its one-minute chunks would
    // take up to 60 s here.
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(ofKind(readEvents(p.logDir), 'round_start')).toHaveLength(1);
  });

  it('network failures back off instead of counting as a crash loop', async () => {
    const p = project({ mode: 'text:Error: getaddrinfo ENOTFOUND api.example.com;;exit:1', runtime: { crash_loop_threshold: 2, backoff_max_s: 1 } });
    const r = await serveCli(p, '--max-rounds', '3');
    expect(r.code).toBe(0);
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'round_start')).toHaveLength(3);
    expect(kinds(ev)).not.toContain('crash_loop');
    expect(ofKind(ev, 'transient_error_backoff_capped').length).toBeGreaterThan(0);
  });

  it('transient_error_action = "stop": a network error halts with its own reason and exit 87, never as done', async () => {
    const p = project({ mode: 'text:Error: connect ECONNREFUSED 10.0.0.1:443;;exit:1', runtime: { transient_error_action: 'stop' } });
    const r = await serveCli(p);
    expect(r.code).toBe(87);
    expect(r.stderr).toMatch(/halted \(transient_stop\): round 1 failed on a network error/);
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'round_start')).toHaveLength(1);
    expect(ofKind(ev, 'transient_error_halt')[0]).toMatchObject({ round_num: 1, classification: 'network', reset_at_epoch: null });
    expect(ofKind(ev, 'halt_recorded')[0]).toMatchObject({ reason: 'transient_stop', exit_code: 87, round_num: 1 });
    expect(kinds(ev)).not.toContain('agent_self_terminated');
    expect(readJson(join(p.logDir, 'halt.json'))).toMatchObject({ reason: 'transient_stop', exit_code: 87, round_num: 1 });
    const again = await serveCli(p);
    expect(again.code).toBe(85);
    expect(again.stderr).toMatch(/halted \(transient_stop\)/);
  });
});

describe('serve: recovery and lifecycle without systemd', () => {
  it('kill -9 of serve mid-round, then restart: the orphaned agent is reaped and the round recorded', async () => {
    const p = project({ mode: 'child;;setsid;;sleep:300' });
    const s = startServe(p);
    await waitFor(agentRunning(p, 3), 'agent running');
    s.kill('SIGKILL');
    await finish(s);
    expect(survivorsOf(p.testId).length).toBeGreaterThan(0);
    setMode(p, 'ok');
    const r = await serveCli(p, '--once');
    expect(r.code).toBe(0);
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'round_recovered')[0]).toMatchObject({ round_num: 1 });
    expect(ofKind(ev, 'round_end').map((e) => [e['round_num'], e['outcome']])).toEqual([[1, 'interrupted'], [2, 'clean']]);
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('start (detached, pid file) → status → stop: graceful, measured, nothing left', async () => {
    const p = project({ mode: 'sleep:1', runtime: { restart_delay_s: 0 } });
    const started = await runCli(['start', '--config', p.config], { cwd: p.dir });
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/started \(pid \d+, pid-file\)/);
    const st = JSON.parse((await runCli(['status', '--json', '--config', p.config], { cwd: p.dir })).stdout) as { mode: string; active: boolean; pid: number };
    expect(st).toMatchObject({ mode: 'pid-file', active: true });
    await waitFor(agentRunning(p), 'agent running');
    const stop = await runCli(['stop', '--config', p.config], { cwd: p.dir });
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/stop: stopped in \d+\.\ds/);
    expect(stop.stdout).toContain("no process of this project's rounds is left");
    expect(survivorsOf(p.testId)).toEqual([]);
    const after = JSON.parse((await runCli(['status', '--json', '--config', p.config], { cwd: p.dir })).stdout) as { active: boolean };
    expect(after.active).toBe(false);
  });

  it('kill: TERM → 5 s → KILL for serve and a TERM-ignoring agent tree', async () => {
    const p = project({ mode: 'ignore_term;;ignore_term_child;;sleep:300', runtime: { stop_drain_s: 600 } });
    expect((await runCli(['start', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    await waitFor(agentRunning(p, 2), 'agent running');
    const k = await runCli(['kill', '--config', p.config], { cwd: p.dir });
    expect(k.code).toBe(0);
    expect(k.stdout).toMatch(/kill: stopped/);
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('restart: a new serve replaces the old one (pid changes), nothing of the old round is left', async () => {
    const p = project({ mode: 'sleep:300', runtime: { stop_drain_s: 1 } });
    expect((await runCli(['start', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    await waitFor(agentRunning(p), 'agent running');
    const before = JSON.parse((await runCli(['status', '--json', '--config', p.config], { cwd: p.dir })).stdout) as { pid: number };
    const r = await runCli(['restart', '--config', p.config], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/stop: stopped[\s\S]*started \(pid \d+, pid-file\)/);
    const after = JSON.parse((await runCli(['status', '--json', '--config', p.config], { cwd: p.dir })).stdout) as { pid: number; active: boolean };
    expect(after.active).toBe(true);
    expect(after.pid).not.toBe(before.pid);
    expect(ofKind(readEvents(p.logDir), 'agent_exit')[0]).toMatchObject({ outcome: 'interrupted' });
    expect((await runCli(['kill', '--config', p.config], { cwd: p.dir })).code).toBe(0);
  });

  it('a second serve on the same project is refused with exit 75', async () => {
    const p = project({ mode: 'sleep:300' });
    const s = startServe(p);
    await waitFor(agentRunning(p), 'agent running');
    const second = await serveCli(p);
    expect(second.code).toBe(75);
    expect(second.stderr).toContain(`pid ${s.pid}`);
    s.kill('SIGTERM');
    await waitFor(() => ofKind(readEvents(p.logDir), 'serve_stopping').length > 0, 'drain begun');
    s.kill('SIGTERM');
    await finish(s);
  });
});
