import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI, finish, makeProject, readEvents, runCli, startCli, waitFor,
  type EventLine, type Project, type ProjectOptions,
} from '../helpers/project.js';
import { assertMatchesSchema } from '../helpers/schema.js';
import { isAlive, sshdUnavailableReason, startSshd, type TestSshd } from '../helpers/sshd.js';

// A real OpenSSH sshd on 127.0.0.1 plays the remote host; the "remote" project lives on this
// machine, but the monitor only ever reaches it through `ssh -F <config> <alias>`.

const unavailable = sshdUnavailableReason();
const skip = unavailable !== undefined && process.env['CI'] !== 'true';
if (skip) console.warn(`skipping remote monitor e2e: ${unavailable}`);

const ALIAS = 'ar-pi';
const AUTH_JSON = 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"Invalid API key"};;exit:1';

interface AlertLine {
  ts: string;
  host: string | null;
  detector: string;
  severity: string;
  state: string;
  message: string;
  context: Record<string, unknown>;
  auto_stop?: { result: string };
}

describe.skipIf(skip)('monitor --host over a real sshd', () => {
  let sshd: TestSshd;
  let remoteHome: string;
  let localHome: string;
  let runtimeDir: string;
  const projects: Project[] = [];
  const children: Array<ReturnType<typeof startCli>> = [];

  beforeAll(async () => {
    remoteHome = mkdtempSync(join(tmpdir(), 'ar-rhome-'));
    localHome = mkdtempSync(join(tmpdir(), 'ar-lhome-'));
    runtimeDir = mkdtempSync(join(tmpdir(), 'ar-run-'));
    // node must be on the remote PATH; HOME without rc files keeps the environment exactly this.
    sshd = await startSshd({ alias: ALIAS, env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: remoteHome } });
  });

  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const p of projects.splice(0)) {
      await runCli(['kill', '--config', p.config], { cwd: p.dir }).catch(() => undefined);
      p.cleanup();
    }
    // A monitor that was SIGKILLed above leaves its master; close it by its socket.
    ssh('-O', 'exit', ALIAS);
  });

  afterAll(async () => {
    await sshd?.stop();
    for (const d of [remoteHome, localHome, runtimeDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  function project(opts: ProjectOptions): Project {
    const p = makeProject(opts);
    projects.push(p);
    return p;
  }

  const controlPath = () => join(runtimeDir, 'agent-runner', '%C');
  /** The system ssh with the monitor's control socket: to check the master from outside. */
  function ssh(...args: string[]) {
    return spawnSync('ssh', ['-F', sshd.configFile, '-o', `ControlPath=${controlPath()}`, ...args], { encoding: 'utf8', timeout: 10_000 });
  }
  const env = () => ({ HOME: localHome, XDG_RUNTIME_DIR: runtimeDir, XDG_STATE_HOME: join(localHome, 'state') });
  const remoteArgs = (p: Project, ...extra: string[]) => [
    'monitor', '--host', ALIAS, '--ssh-config', sshd.configFile, '--remote-cmd', `${process.execPath} ${CLI}`, '--remote-config', p.config, ...extra,
  ];
  async function monitorOnce(p: Project, ...extra: string[]) {
    const r = await runCli(remoteArgs(p, '--once', '--json', ...extra), { cwd: localHome, env: env() });
    expect(r.stderr).not.toContain('internal error');
    // One state line (docs/schemas/monitor-line.schema.json); its news are the alerts that fired or resolved now.
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; host: string; exit_code: number; alerts: Array<AlertLine & { new: boolean }> });
    expect(lines).toHaveLength(1);
    assertMatchesSchema('monitor-line', lines[0]);
    expect(lines[0]).toMatchObject({ type: 'state', host: ALIAS, exit_code: r.code });
    return { code: r.code, alerts: lines[0]!.alerts.filter((a) => a.new), stderr: r.stderr };
  }
  const localEvents = (): EventLine[] => {
    const base = join(localHome, 'state', 'agent-runner', 'remote');
    if (!existsSync(base)) return [];
    return readdirSync(base).flatMap((d) => readEvents(join(base, d)));
  };
  const ofKind = (ev: EventLine[], k: string) => ev.filter((e) => e.event === k);
  const accepted = () => sshd.log().split('Accepted publickey').length - 1;

  it('reports the remote project\'s oauth_fail and stops the remote serve over the same connection, once', async () => {
    const p = project({ mode: AUTH_JSON, runtime: { auth_failure_halt_after: 100, backoff_max_s: 1, restart_delay_s: 0 } });
    const serve = startCli(['serve', '--config', p.config], { cwd: p.dir });
    children.push(serve);
    const serveDone = finish(serve);
    await waitFor(() => ofKind(readEvents(p.logDir), 'agent_exit').length >= 2, 'two auth failures on the remote', 20_000);

    const before = accepted();
    const m = await monitorOnce(p);
    expect(m.alerts.map((a) => [a.detector, a.state])).toEqual([['oauth_fail', 'firing']]);
    expect(m.alerts[0]).toMatchObject({ host: ALIAS, severity: 'critical', auto_stop: { result: 'stopped' } });
    expect(m.code).toBe(2);
    expect((await serveDone).code).toBe(0);
    expect(ofKind(readEvents(p.logDir), 'serve_stopped')).toHaveLength(1);
    // Probe and stop rode one authenticated connection, and it was closed on exit.
    expect(accepted() - before).toBe(1);
    expect(ssh('-O', 'check', ALIAS).status).not.toBe(0);
    expect(ofKind(localEvents(), 'monitor_auto_stop_completed')[0]).toMatchObject({ host: ALIAS, stopped: true });

    // A restarted monitor does not page again and does not stop a stopped service again.
    const again = await monitorOnce(p);
    expect(again.alerts).toEqual([]);
    expect(again.code).toBe(2);
    expect(ofKind(localEvents(), 'monitor_auto_stop_triggered')).toHaveLength(1);
  });

  it('the alias means what `ssh -G` says it means: shown, and recorded in monitor_started', async () => {
    const p = project({ mode: 'ok' });
    const r = await runCli(remoteArgs(p, '--once'), { cwd: localHome, env: env() });
    expect(r.stderr).toContain(`watching ${ALIAS} = ${sshd.user}@127.0.0.1:${sshd.port}`);
    expect(ofKind(localEvents(), 'monitor_started').at(-1)).toMatchObject({ host: ALIAS, resolved: `${sshd.user}@127.0.0.1:${sshd.port}` });
  });

  it('an unknown host key is refused, never accepted: the host is unknown (exit 3), not healthy', async () => {
    const p = project({ mode: 'ok' });
    const empty = join(localHome, 'empty_known_hosts');
    writeFileSync(empty, '');
    const cfg = join(localHome, 'ssh_config_strict');
    writeFileSync(cfg, readFileSync(sshd.configFile, 'utf8').replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${empty}`));
    const r = await runCli(['monitor', '--host', ALIAS, '--ssh-config', cfg, '--remote-cmd', `${process.execPath} ${CLI}`, '--remote-config', p.config, '--once', '--json', '--state-file', join(localHome, 'strict.json')], { cwd: localHome, env: env() });
    expect(r.code).toBe(3);
    const state = JSON.parse(r.stdout) as { status: string; error: string; alerts: AlertLine[] };
    assertMatchesSchema('monitor-line', state);
    expect(state).toMatchObject({ status: 'unknown', error: expect.stringContaining('Host key verification failed') });
    const a = state.alerts[0]!;
    expect(a).toMatchObject({ detector: 'host_key_unknown', severity: 'unknown', state: 'firing', host: ALIAS });
    expect(a.message).toContain('Host key verification failed');
    expect(readFileSync(empty, 'utf8')).toBe('');
  });

  it('a missing remote program is reported as such, and a bad remote config as the remote\'s one-line error', async () => {
    const p = project({ mode: 'ok' });
    const missing = await runCli(['monitor', '--host', ALIAS, '--ssh-config', sshd.configFile, '--remote-cmd', 'no-such-agent-runner', '--remote-config', p.config, '--once', '--json', '--state-file', join(localHome, 'missing.json')], { cwd: localHome, env: env() });
    expect(missing.code).toBe(3);
    expect(missing.stdout).toContain('exit 127');
    writeFileSync(p.config, readFileSync(p.config, 'utf8') + '\n[monitor]\nwindoww = 3\n');
    const bad = await monitorOnce(p, '--state-file', join(localHome, 'bad.json'));
    expect(bad.code).toBe(3);
    expect(bad.alerts[0]!.message).toContain('did you mean "window"');
  });

  it('one connection for a whole session; sshd killed mid-session: blips and unknown, then recovery without a duplicate alert', async () => {
    const p = project({ mode: AUTH_JSON });
    await runCli(['round', '--config', p.config], { cwd: p.dir });
    await runCli(['round', '--config', p.config], { cwd: p.dir });
    const local = join(localHome, 'local.toml');
    writeFileSync(join(localHome, 'p.md'), 'x');
    writeFileSync(local, '[agent]\ncommand = ["true"]\nprompt_arg_template = ["{prompt}"]\n[prompt]\nfile = "p.md"\n[monitor]\nremote_failure_tolerance_s = 60\n');
    const state = join(localHome, 'session.json');
    const before = accepted();
    const mon = startCli([...remoteArgs(p, '--interval', '0.2', '--json', '--state-file', state), '--config', local], { cwd: localHome, env: env() });
    children.push(mon);
    const done = finish(mon);
    let out = '';
    mon.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AlertLine);
    await waitFor(() => lines().some((a) => a.detector === 'oauth_fail'), 'oauth_fail from the remote');
    // An unchanged state is saved only now and then; a round there moves the cursor, which is saved.
    const cursor = () => (existsSync(state) ? (JSON.parse(readFileSync(state, 'utf8')) as { remote_cursor?: string }).remote_cursor : undefined);
    const roundSeen = async () => {
      const c0 = cursor();
      await runCli(['round', '--config', p.config], { cwd: p.dir });
      await waitFor(() => cursor() !== c0, 'the remote round seen');
    };
    await roundSeen();
    await roundSeen();
    expect(accepted() - before).toBe(1);

    await sshd.kill();
    await waitFor(() => lines().some((a) => a.detector === 'host_unreachable' && a.state === 'firing'), 'host reported unknown', 20_000);
    expect(lines().find((a) => a.detector === 'host_unreachable')).toMatchObject({ severity: 'unknown', host: ALIAS });
    await waitFor(() => ofKind(localEvents(), 'monitor_remote_blip').length >= 2, 'two blips', 20_000);
    expect(ofKind(localEvents(), 'monitor_remote_blip')[0]).toMatchObject({ host: ALIAS, cap_s: 60, attempt: 1 });

    await sshd.restart();
    await waitFor(() => lines().some((a) => a.detector === 'host_unreachable' && a.state === 'resolved'), 'host back', 30_000);
    await roundSeen();
    expect(lines().filter((a) => a.detector === 'oauth_fail')).toHaveLength(1);
    expect(ofKind(localEvents(), 'monitor_remote_recovered')).toHaveLength(1);

    mon.kill('SIGINT');
    expect((await done).code).toBe(0);
    expect(ssh('-O', 'check', ALIAS).status).not.toBe(0);
    expect(ofKind(localEvents(), 'monitor_stopped').filter((e) => e['reason'] === 'signal')).toHaveLength(1);
  });

  it('gives up after remote_failure_tolerance_s of outage, recording it (exit 3)', async () => {
    const p = project({ mode: 'ok' });
    const local = join(localHome, 'tolerant.toml');
    writeFileSync(join(localHome, 'p.md'), 'x');
    writeFileSync(local, '[agent]\ncommand = ["true"]\nprompt_arg_template = ["{prompt}"]\n[prompt]\nfile = "p.md"\n[monitor]\nremote_failure_tolerance_s = 2\n');
    const state = join(localHome, 'giveup.json');
    const mon = startCli([...remoteArgs(p, '--interval', '0.2', '--json', '--state-file', state), '--config', local], { cwd: localHome, env: env() });
    children.push(mon);
    const done = finish(mon);
    await waitFor(() => existsSync(state), 'first poll');
    const sshdPid = sshd.pid;
    await sshd.kill();
    expect(isAlive(sshdPid)).toBe(false);
    const r = await done;
    await sshd.restart();
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('giving up');
    const gave = ofKind(localEvents(), 'monitor_remote_giveup').at(-1);
    expect(gave).toMatchObject({ host: ALIAS, cap_s: 2 });
    expect(Number(gave!['total_elapsed_s'])).toBeGreaterThanOrEqual(2);
  });

  it('--mode narrate streams the remote\'s events as readable lines; Ctrl-C ends it and its connection', async () => {
    const p = project({ mode: 'ok' });
    const mon = startCli(remoteArgs(p, '--mode', 'narrate'), { cwd: localHome, env: env() });
    children.push(mon);
    const done = finish(mon);
    let out = '';
    mon.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    let tries = 0;
    const rounds: Promise<unknown>[] = [];
    await waitFor(() => {
      if (/round_end\s+round=\d+ outcome=clean/.test(out)) return true;
      if (tries++ % 50 === 0) rounds.push(runCli(['round', '--config', p.config], { cwd: p.dir }));
      return false;
    }, 'a remote round narrated', 30_000);
    // A round still writing its log would race the project's removal.
    await Promise.all(rounds);
    mon.kill('SIGINT');
    expect((await done).code).toBe(0);
    expect(ssh('-O', 'check', ALIAS).status).not.toBe(0);
    // Nothing keeps following on the remote once the connection is gone.
    const followers = () =>
      readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
        try {
          const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
          return cmd.includes('events\0--tail') && cmd.includes(p.config) && isAlive(Number(d));
        } catch {
          return false;
        }
      });
    await waitFor(() => followers().length === 0, 'the remote follower to end', 10_000);
  });

  it('--transport exec: one `probe --json --since CURSOR` per poll over the shared connection', async () => {
    const p = project({ mode: AUTH_JSON });
    await runCli(['round', '--config', p.config], { cwd: p.dir });
    await runCli(['round', '--config', p.config], { cwd: p.dir });
    const m = await monitorOnce(p, '--transport', 'exec', '--state-file', join(localHome, 'exec.json'));
    expect(m.alerts.map((a) => a.detector)).toEqual(['oauth_fail']);
    const saved = JSON.parse(readFileSync(join(localHome, 'exec.json'), 'utf8')) as { remote_cursor: string };
    expect(saved.remote_cursor).toMatch(/^v1:\d{4}-\d{2}@\d+@\d+$/);
    // The probe itself, as the remote runs it: a second call with the cursor reads only what is new.
    const first = await runCli(['probe', '--json', '--config', p.config], { cwd: p.dir });
    const a = JSON.parse(first.stdout) as { cursor: string; bootstrap: boolean; v: number };
    expect(a).toMatchObject({ v: 1, bootstrap: true });
    await runCli(['round', '--config', p.config], { cwd: p.dir });
    const second = await runCli(['probe', '--json', '--since', a.cursor, '--config', p.config], { cwd: p.dir });
    const b = JSON.parse(second.stdout) as { bootstrap: boolean; lines_read: number; conditions: Array<{ detector: string; context: { matches: number } }> };
    expect(b.bootstrap).toBe(false);
    expect(b.lines_read).toBeGreaterThan(0);
    expect(b.lines_read).toBeLessThan(12);
    expect(b.conditions.find((c) => c.detector === 'oauth_fail')?.context.matches).toBe(3);
  });
});
