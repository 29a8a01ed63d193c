import { statfsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  finish, monitorDirOf, readEvents, readJson, runCli, startCli, waitFor,
  type EventLine, type Project, useProjects,
} from '../helpers/project.js';

// Every detector is driven by real rounds of the fake agent (and a real serve where the detector
// is about serve), then judged by the real CLI: `monitor --once --json`.

const { project, track } = useProjects();

interface AlertLine {
  ts: string;
  host: string | null;
  detector: string;
  subject: string;
  severity: string;
  state: 'firing' | 'resolved';
  message: string;
  context: Record<string, unknown>;
  auto_action: string;
  auto_stop?: { result: string; seconds?: number; detail?: string };
}

const round = (p: Project) => runCli(['round', '--config', p.config], { cwd: p.dir });
const setMode = (p: Project, mode: string) => writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, `FAKE_MODE = ${JSON.stringify(mode)}`));
const ofKind = (ev: EventLine[], k: string) => ev.filter((e) => e.event === k);
const running = (p: Project): boolean => {
  try {
    return readJson(join(p.logDir, 'status.json'))['running'] === true;
  } catch {
    return false;
  }
};

async function monitorOnce(p: Project, ...extra: string[]): Promise<{ code: number | null; alerts: AlertLine[]; stderr: string }> {
  const r = await runCli(['monitor', '--once', '--json', '--config', p.config, ...extra], { cwd: p.dir });
  expect(r.stderr).not.toContain('internal error');
  const alerts = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AlertLine);
  return { code: r.code, alerts, stderr: r.stderr };
}
const firing = (a: AlertLine[]) => a.filter((x) => x.state === 'firing').map((x) => x.detector).sort();
const resolved = (a: AlertLine[]) => a.filter((x) => x.state === 'resolved').map((x) => x.detector).sort();

const AUTH_TEXT = 'text:Error: 401 Unauthorized - OAuth token has expired;;exit:1';
const AUTH_JSON = 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"Invalid API key"};;exit:1';

describe('monitor: detectors fire on conditions real rounds produce', () => {
  it('a healthy project: nothing fires, exit 0, and the monitor records that it ran (in its own directory)', async () => {
    const p = project({ mode: 'ok' });
    expect((await round(p)).code).toBe(0);
    const m = await monitorOnce(p);
    expect(m.alerts).toEqual([]);
    expect(m.code).toBe(0);
    expect(ofKind(readEvents(monitorDirOf(p)), 'monitor_started')[0]).toMatchObject({ host: null, once: true });
  });

  it('oauth_fail from an auth failure in text and a stream-json 401: critical, exit 2, fires once, resolves, survives a restart', async () => {
    const p = project({ mode: AUTH_TEXT, extraToml: '[monitor]\nwindow = 4\nrate_threshold = 0.5' });
    expect((await round(p)).code).toBe(15);
    setMode(p, AUTH_JSON);
    expect((await round(p)).code).toBe(15);

    const first = await monitorOnce(p);
    expect(firing(first.alerts)).toEqual(['oauth_fail']);
    const a = first.alerts[0]!;
    expect(a).toMatchObject({ severity: 'critical', host: null, auto_action: 'stop_service', context: { matches: 2, window: 4 } });
    // No service runs: an auto-stop is neither attempted nor faked.
    expect(a.auto_stop).toMatchObject({ result: 'not_running' });
    expect(first.code).toBe(2);
    for (const k of ['ts', 'detector', 'severity', 'message', 'context', 'auto_action', 'host', 'state']) expect(a).toHaveProperty(k);

    // A restarted monitor knows it already paged: nothing printed, same verdict.
    const again = await monitorOnce(p);
    expect(again.alerts).toEqual([]);
    expect(again.code).toBe(2);
    expect(ofKind(readEvents(monitorDirOf(p)), 'monitor_alert_emitted')).toHaveLength(1);
    expect(ofKind(readEvents(monitorDirOf(p)), 'monitor_auto_stop_triggered')).toHaveLength(0);

    // Three good rounds (each commits: a round that changes nothing would fire no_progress) push
    // the failures below half of the window of 4: resolved.
    setMode(p, 'commit:1');
    for (let i = 0; i < 3; i++) expect((await round(p)).code).toBe(0);
    const after = await monitorOnce(p);
    expect(resolved(after.alerts)).toEqual(['oauth_fail']);
    expect(firing(after.alerts)).toEqual([]);
    expect(after.code).toBe(0);
    expect(ofKind(readEvents(monitorDirOf(p)), 'monitor_alert_resolved')[0]).toMatchObject({ detector: 'oauth_fail' });
  });

  it('network_fail from connection errors in text and a stream-json 503: warning, exit 1', async () => {
    const p = project({ mode: 'text:Error: connect ECONNREFUSED 10.0.0.1:443;;exit:1' });
    expect((await round(p)).code).toBe(17);
    setMode(p, 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":503,"result":"Service Unavailable"};;exit:1');
    expect((await round(p)).code).toBe(17);
    const m = await monitorOnce(p);
    expect(firing(m.alerts)).toEqual(['network_fail']);
    expect(m.alerts[0]).toMatchObject({ severity: 'warning', auto_action: 'none', context: { matches: 2 } });
    expect(m.code).toBe(1);
  });

  it('timeout_rate from rounds killed at their hard timeout', async () => {
    const p = project({ mode: 'sleep:30', runtime: { round_timeout_s: 1, kill_grace_s: 1 } });
    expect((await round(p)).code).toBe(11);
    expect((await round(p)).code).toBe(11);
    const m = await monitorOnce(p);
    expect(firing(m.alerts)).toEqual(['timeout_rate']);
    expect(m.alerts[0]!.context).toMatchObject({ timed_out: 2, threshold: 0.2, window: 10 });
  });

  it('orphan_chain after three rounds that each left uncommitted work; a clean round resolves it', async () => {
    const p = project({ mode: 'dirty' });
    for (let i = 0; i < 3; i++) expect((await round(p)).code).toBe(0);
    const m = await monitorOnce(p);
    expect(firing(m.alerts)).toEqual(['orphan_chain']);
    expect(m.alerts[0]!.context).toMatchObject({ streak: 3, threshold: 3, last_round: 3 });
    setMode(p, 'ok');
    expect((await round(p)).code).toBe(0);
    const after = await monitorOnce(p);
    expect(after.alerts.map((x) => [x.detector, x.state])).toEqual([['orphan_chain', 'resolved']]);
  });

  it('smoke_fail_rate fires on a startup check that refused to start a round (upstream\'s could never fire)', async () => {
    const p = project({ command: ['no-such-agent-cli'] });
    expect((await round(p)).code).toBe(78);
    const m = await monitorOnce(p);
    expect(firing(m.alerts)).toEqual(['smoke_fail_rate']);
    expect(m.alerts[0]!.context).toMatchObject({ failures: 1, attempts: 1, last_check: 'agent_cli_in_path' });
  });

  it('rate_limit_active from a stream-json rate_limit_event: info, shown with the reset time, exit 0', async () => {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    const p = project({ mode: `json:{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","rateLimitType":"five_hour","resetsAt":${reset}}};;exit:1` });
    expect((await round(p)).code).toBe(16);
    const m = await monitorOnce(p);
    expect(firing(m.alerts)).toEqual(['rate_limit_active']);
    expect(m.alerts[0]).toMatchObject({ severity: 'info', context: { throttled_until_iso: new Date(reset * 1000).toISOString(), classification: 'usage_limit' } });
    expect(m.code).toBe(0);
  });

  it('anomaly_repetitive_active from a round that made the same edit 8 times; not from a round spread over files; off by default', async () => {
    const p = project({ mode: 'tools:8:Edit:src/a.ts', extraToml: '[monitor]\nanomaly_repetitive_window = 10\nanomaly_repetitive_threshold = 8' });
    expect((await round(p)).code).toBe(0);
    const loops = ofKind(readEvents(p.logDir), 'anomaly_repetitive_tool');
    expect(loops).toEqual([expect.objectContaining({ round_num: 1, tool_name: 'Edit', target: 'src/a.ts', count: 8, window: 10 })]);
    const m = await monitorOnce(p);
    expect(firing(m.alerts)).toEqual(['anomaly_repetitive_active']);
    expect(m.alerts[0]).toMatchObject({ severity: 'warning', context: { count: 8, latest_tool: 'Edit', latest_target: 'src/a.ts', latest_round: 1 } });
    expect(m.code).toBe(1);

    // Seven edits of one file never reach the threshold.
    const quiet = project({ mode: 'tools:7:Edit:src/a.ts;;tools:7:Edit:src/b.ts', extraToml: '[monitor]\nanomaly_repetitive_window = 10\nanomaly_repetitive_threshold = 8' });
    expect((await round(quiet)).code).toBe(0);
    // Upstream's default: off.
    const off = project({ mode: 'tools:20:Edit:src/a.ts' });
    expect((await round(off)).code).toBe(0);
    for (const q of [quiet, off]) {
      expect(ofKind(readEvents(q.logDir), 'agent_exit')[0]).toMatchObject({ tool_calls: q === off ? 20 : 14 });
      expect(ofKind(readEvents(q.logDir), 'anomaly_repetitive_tool')).toEqual([]);
      expect(firing((await monitorOnce(q)).alerts)).toEqual([]);
    }
  });

  it('anomaly_repetitive_active fires while the stuck round still runs', async () => {
    const p = project({ mode: 'tools:8:Bash:make test;;sleep:60', extraToml: '[monitor]\nanomaly_repetitive_window = 10\nanomaly_repetitive_threshold = 8' });
    const child = track(startCli(['round', '--config', p.config], { cwd: p.dir }));
    const done = finish(child);
    await waitFor(() => ofKind(readEvents(p.logDir), 'anomaly_repetitive_tool').length > 0, 'the loop reported during the round');
    expect(ofKind(readEvents(p.logDir), 'agent_exit')).toEqual([]);
    const m = await monitorOnce(p);
    expect(firing(m.alerts)).toEqual(['anomaly_repetitive_active']);
    expect(m.alerts[0]).toMatchObject({ context: { latest_tool: 'Bash', latest_target: 'make test', count: 8 } });
    child.kill('SIGTERM');
    expect((await done).code).toBe(143);
  });

  it('hung: a round whose supervisor is frozen runs past 1.5 × its timeout; resolved once it ends', async () => {
    const p = project({ mode: 'sleep:60', runtime: { round_timeout_s: 1, kill_grace_s: 1 } });
    const r = startCli(['round', '--config', p.config], { cwd: p.dir });
    track(r);
    const roundDone = finish(r);
    await waitFor(() => running(p), 'round running');
    process.kill(r.pid!, 'SIGSTOP');
    let hung: AlertLine | undefined;
    const deadline = Date.now() + 20_000;
    while (!hung && Date.now() < deadline) {
      const m = await monitorOnce(p);
      hung = m.alerts.find((x) => x.detector === 'hung');
    }
    expect(hung).toMatchObject({ state: 'firing', subject: 'R1', context: { round_num: 1, supervisor: 'stopped', threshold_s: 3 } });
    process.kill(r.pid!, 'SIGCONT');
    expect((await roundDone).code).toBe(11);
    const after = await monitorOnce(p);
    expect(after.alerts.map((x) => [x.detector, x.state])).toEqual([['hung', 'resolved']]);
  });

  it('disk and memory thresholds come from config: warning, then critical (its own detector), mem_pressure', async () => {
    const p = project({ mode: 'ok' });
    expect((await round(p)).code).toBe(0);
    const s = statfsSync(p.logDir);
    const used = ((s.blocks - s.bfree) / (s.blocks - s.bfree + s.bavail)) * 100;
    expect(used).toBeGreaterThan(0.5);
    const withHealth = (warn: number, crit: number, mem: number) =>
      writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/\n\[monitor\.host_health\][^[]*$/, '') + `\n[monitor.host_health]\ndisk_warning_pct = ${warn}\ndisk_critical_pct = ${crit}\nmem_avail_min_mb = ${mem}\n`);

    withHealth(used / 4, Math.min(100, used + 10), 100_000_000);
    const m = await monitorOnce(p);
    expect(firing(m.alerts)).toEqual(['disk_warning', 'mem_pressure']);
    expect(m.alerts.find((x) => x.detector === 'disk_warning')).toMatchObject({ subject: 'log_dir+work_dir', severity: 'warning' });
    expect(m.code).toBe(1);

    withHealth(used / 4, used / 2, 1);
    const c = await monitorOnce(p);
    expect(firing(c.alerts)).toEqual(['disk_critical']);
    expect(resolved(c.alerts)).toEqual(['disk_warning', 'mem_pressure']);
    expect(c.alerts.find((x) => x.detector === 'disk_critical')).toMatchObject({ severity: 'critical', auto_action: 'stop_service', auto_stop: { result: 'not_running' } });
    expect(c.code).toBe(2);
  });

  it('bad usage is one line and exit 2; --no-auto-stop and --state-file keep a second monitor apart', async () => {
    const p = project({ mode: AUTH_TEXT });
    const bad = await runCli(['monitor', '--once', '--mode', 'loud', '--config', p.config], { cwd: p.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const dash = await runCli(['monitor', '--once', '--host', '-oProxyCommand=touch /tmp/x', '--config', p.config], { cwd: p.dir });
    expect(dash.code).toBe(2);
    expect(dash.stderr).toContain('may not start with "-"');

    await round(p);
    await round(p);
    const main = await monitorOnce(p);
    expect(firing(main.alerts)).toEqual(['oauth_fail']);
    const side = await monitorOnce(p, '--state-file', join(p.dir, 'side-state.json'), '--no-auto-stop');
    expect(firing(side.alerts)).toEqual(['oauth_fail']);
    expect(side.alerts[0]!.auto_stop).toMatchObject({ result: 'disabled' });
  });
});

describe('monitor: narrate and events modes', () => {
  it('narrate prints the recent events, then a readable line per new event; events streams raw lines', async () => {
    const p = project({ mode: 'ok' });
    expect((await round(p)).code).toBe(0);
    const narr = startCli(['monitor', '--mode', 'narrate', '--config', p.config], { cwd: p.dir });
    const raw = startCli(['monitor', '--mode', 'events', '--config', p.config], { cwd: p.dir });
    track(narr);
    track(raw);
    const narrDone = finish(narr);
    const rawDone = finish(raw);
    let n = '';
    let e = '';
    narr.stdout!.on('data', (d: Buffer) => (n += d.toString()));
    raw.stdout!.on('data', (d: Buffer) => (e += d.toString()));
    await waitFor(() => n.includes('round_end'), 'the history replayed');
    // upstream's narrate format: [HH:MM:SS.fff] <event padded to 20> k=v…, round_num shortened.
    expect(n).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] round_start {10}round=1 /m);
    // Both followers are live once a new round's lines come through.
    // Rounds started here are awaited before the test ends: one still writing its log would race
    // the project's removal.
    let extra = 0;
    const started: Promise<unknown>[] = [];
    await waitFor(() => {
      if (/"round_num": [2-9]/.test(e) && /round=[2-9]/.test(n)) return true;
      if (extra++ % 25 === 0) started.push(round(p));
      return false;
    }, 'a new round in both streams', 30_000);
    await Promise.all(started);
    const rawLines = e.split('\n').filter(Boolean).map((l) => JSON.parse(l) as EventLine);
    expect(rawLines.every((x) => typeof x.event === 'string')).toBe(true);
    expect(rawLines.some((x) => x.event === 'round_start' && x['round_num'] === 1)).toBe(false);
    narr.kill('SIGINT');
    raw.kill('SIGTERM');
    expect((await narrDone).code).toBe(0);
    expect((await rawDone).code).toBe(0);
  });
});

describe('monitor: with a real serve', () => {
  it('supervisor_stale: a long announced wait is not stale, a frozen serve is, and the monitor\'s own events never count', async () => {
    const p = project({ mode: 'ok', runtime: { restart_delay_s: 3600 }, extraToml: '[monitor]\nsupervisor_stale_threshold_s = 1' });
    const serve = startCli(['serve', '--config', p.config], { cwd: p.dir });
    track(serve);
    const serveDone = finish(serve);
    await waitFor(() => ofKind(readEvents(p.logDir), 'serve_waiting').length > 0, 'serve waiting');
    // Older than the threshold, but serve said it waits for an hour and is alive.
    await waitFor(() => Date.now() - Date.parse(readEvents(p.logDir).filter((e) => !e.event.startsWith('monitor_')).at(-1)!.ts) > 1500, 'last event older than 1.5 s', 10_000);
    const calm = await monitorOnce(p);
    expect(firing(calm.alerts)).toEqual([]);

    process.kill(serve.pid!, 'SIGSTOP');
    const frozen = await monitorOnce(p);
    expect(firing(frozen.alerts)).toEqual(['supervisor_stale']);
    expect(frozen.alerts[0]!.context).toMatchObject({ serve_process: 'stopped', threshold_s: 1 });
    // Only monitor events were written since: still stale, and not paged twice.
    const still = await monitorOnce(p);
    expect(still.alerts).toEqual([]);
    expect(still.code).toBe(1);

    process.kill(serve.pid!, 'SIGCONT');
    serve.kill('SIGTERM');
    expect((await serveDone).code).toBe(0);
    // A clean stop: nothing is supposed to write any more, so it is not stale.
    const stopped = await monitorOnce(p);
    expect(resolved(stopped.alerts)).toEqual(['supervisor_stale']);
  });

  it('oauth_fail stops a running serve gracefully, once; evidence from before a restart never stops it again', async () => {
    const p = project({ mode: AUTH_JSON, runtime: { auth_failure_halt_after: 100, backoff_max_s: 1, restart_delay_s: 0 } });
    const serve = startCli(['serve', '--config', p.config], { cwd: p.dir });
    track(serve);
    // Listen from the start: the monitor, not the test, ends this process.
    const serveDone = finish(serve);
    await waitFor(() => ofKind(readEvents(p.logDir), 'agent_exit').length >= 2, 'two auth failures', 20_000);
    const m = await monitorOnce(p);
    expect(firing(m.alerts)).toEqual(['oauth_fail']);
    expect(m.alerts[0]!.auto_stop).toMatchObject({ result: 'stopped' });
    const sr = await serveDone;
    expect(sr.code).toBe(0);
    const ev = readEvents(monitorDirOf(p));
    expect(ofKind(ev, 'monitor_auto_stop_triggered')).toHaveLength(1);
    expect(ofKind(ev, 'monitor_auto_stop_completed')[0]).toMatchObject({ detector: 'oauth_fail', stopped: true });
    expect(ofKind(readEvents(p.logDir), 'serve_stopped')).toHaveLength(1);

    // Already stopped: nothing to repeat.
    const again = await monitorOnce(p);
    expect(again.alerts).toEqual([]);
    expect(ofKind(readEvents(monitorDirOf(p)), 'monitor_auto_stop_triggered')).toHaveLength(1);

    // The operator fixed the login and started serve again: the old failures are still in the
    // window, but they predate this run of the service, so it keeps running.
    setMode(p, 'sleep:30');
    const serve2 = startCli(['serve', '--config', p.config], { cwd: p.dir });
    track(serve2);
    await waitFor(() => ofKind(readEvents(p.logDir), 'serve_started').length >= 2 && running(p), 'second serve running a round', 15_000);
    const later = await monitorOnce(p);
    expect(later.alerts).toEqual([]);
    expect(ofKind(readEvents(monitorDirOf(p)), 'monitor_auto_stop_triggered')).toHaveLength(1);
    expect(serve2.exitCode).toBe(null);
  });
});
