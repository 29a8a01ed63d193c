// install/status/stop/uninstall against a real, private `systemd --user` manager.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUserManager, systemdUnavailableReason, type UserManager } from '../helpers/systemd-user.js';
import { alive, CLI, makeProject, readEvents, recordedPids, survivorsOf, type Project } from '../helpers/project.js';

const reason = systemdUnavailableReason();
const skip = reason !== undefined && process.env.CI !== 'true';
if (skip) console.warn(`skipping systemd e2e: ${reason}`);

async function poll<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(skip)('systemd --user service', () => {
  let m: UserManager;
  let p: Project;
  const serveUnit = () => `agent-runner@${p.project}.service`;
  const monitorUnit = () => `agent-runner-monitor@${p.project}.service`;
  const ar = (...args: string[]) => m.run(process.execPath, [CLI, ...args, '--config', p.config], { cwd: p.dir, timeoutMs: 120_000 });

  beforeAll(async () => {
    m = await startUserManager();
    p = makeProject({ mode: 'sleep:1', runtime: { restart_delay_s: 0, crash_loop_threshold: 2, backoff_max_s: 1, stop_drain_s: 2 } });
  }, 60_000);
  afterAll(async () => {
    await m?.stop();
    p?.cleanup();
  });

  it('install --dry-run renders units that systemd-analyze verify accepts without a word', async () => {
    const r = await ar('install', '--monitor', '--dry-run');
    expect(r.exitCode).toBe(0);
    const texts = r.stdout.split(/^# (\/\S+)$/m);
    const dir = join(p.dir, 'out');
    for (const unit of [serveUnit(), monitorUnit()]) {
      const i = texts.findIndex((t) => t.endsWith(`/${unit}`));
      expect(i).toBeGreaterThan(0);
      writeFileSync(join(dir, unit), texts[i + 1]!.trimStart());
    }
    const verify = await m.run('systemd-analyze', ['verify', '--user', join(dir, serveUnit()), join(dir, monitorUnit())]);
    expect(verify.stderr.trim()).toBe('');
    expect(verify.exitCode).toBe(0);
    const serveText = readFileSync(join(dir, serveUnit()), 'utf8');
    expect(serveText).toMatch(/^RestartPreventExitStatus=.*\b80\b.*\b81\b.*\b85\b/m);
    expect(serveText).toMatch(/^Restart=on-failure$/m);
    expect(serveText).toMatch(/^KillMode=mixed$/m);
    expect(serveText).toMatch(/^TimeoutStopSec=\d+$/m);
    expect(serveText).toContain(`Environment="PATH=${process.env['PATH']}"`);
  });

  it('install --monitor: both units active; status shows systemd mode, pid and uptime', async () => {
    const r = await ar('install', '--monitor');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(join(m.unitDir, serveUnit()))).toBe(true);
    await poll('serve active', async () => (await m.show(serveUnit(), ['ActiveState'])).ActiveState === 'active');
    await poll('monitor active', async () => (await m.show(monitorUnit(), ['ActiveState'])).ActiveState === 'active');
    await poll('a round running under the unit', async () => recordedPids(p).length > 0);
    const st = JSON.parse((await ar('status', '--json')).stdout) as Record<string, unknown>;
    expect(st).toMatchObject({ mode: 'systemd-user', active: true, active_state: 'active' });
    const main = Number((await m.show(serveUnit(), ['MainPID'])).MainPID);
    expect(st['pid']).toBe(main);
    expect(typeof st['uptime_s']).toBe('number');
  });

  it('a killed serve process is restarted by systemd', async () => {
    const before = await m.show(serveUnit(), ['MainPID', 'NRestarts']);
    process.kill(Number(before.MainPID), 'SIGKILL');
    const after = await poll('restart', async () => {
      const s = await m.show(serveUnit(), ['MainPID', 'NRestarts', 'ActiveState']);
      return s.ActiveState === 'active' && Number(s.MainPID) > 0 && s.MainPID !== before.MainPID ? s : undefined;
    });
    expect(Number(after.NRestarts)).toBe(Number(before.NRestarts) + 1);
    await poll('serve running rounds again', async () => readEvents(p.logDir).filter((e) => e.event === 'serve_started').length >= 2);
  });

  it('a crash-loop halt is NOT restarted by systemd', async () => {
    writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, 'FAKE_MODE = "exit:1"'));
    // SIGHUP reloads the config between rounds: the next rounds crash.
    const main = Number((await m.show(serveUnit(), ['MainPID'])).MainPID);
    process.kill(main, 'SIGHUP');
    const s = await poll('unit failed after the halt', async () => {
      const x = await m.show(serveUnit(), ['ActiveState', 'SubState', 'ExecMainStatus', 'NRestarts']);
      return x.ActiveState === 'failed' ? x : undefined;
    }, 60_000);
    // 'failed', not 'auto-restart': systemd decided at exit time not to restart it.
    expect(s.SubState).toBe('failed');
    expect(s.ExecMainStatus).toBe('80');
    expect(readEvents(p.logDir).some((e) => e.event === 'crash_loop')).toBe(true);
    const st = JSON.parse((await ar('status', '--json')).stdout) as { halt: { reason: string } | null; active: boolean };
    expect(st.active).toBe(false);
    expect(st.halt?.reason).toBe('crash_loop');
  });

  it('resume + start, then stop: inactive with no agent left', async () => {
    writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, 'FAKE_MODE = "sleep:300"'));
    expect((await ar('resume')).exitCode).toBe(0);
    const started = await ar('start');
    expect(started.exitCode, started.stderr).toBe(0);
    await poll('agent running', async () => survivorsOf(p.testId).length > 0);
    const stop = await ar('stop');
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/stop: stopped in [\d.]+s \(systemd-user\)/);
    // Drained for stop_drain_s (2 s), then the round was interrupted: not the 30 s round timeout.
    expect(Number(/in ([\d.]+)s/.exec(stop.stdout)![1])).toBeLessThan(15);
    expect(readEvents(p.logDir).filter((e) => e.event === 'agent_exit').at(-1)).toMatchObject({ outcome: 'interrupted' });
    expect((await m.show(serveUnit(), ['ActiveState'])).ActiveState).toBe('inactive');
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it("under the unit, the round's scope catches what left both the session and the environment", async () => {
    writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, 'FAKE_MODE = "escape_all;;sleep:1"'));
    writeFileSync(p.pidsFile, '');
    const started = await ar('start');
    expect(started.exitCode, started.stderr).toBe(0);
    const ends = () => readEvents(p.logDir).filter((e) => e.event === 'round_end').length;
    const before = ends();
    await poll('an escapee recorded', async () => recordedPids(p).length >= 2);
    const escapee = recordedPids(p)[1]!;
    await poll('the round to end', async () => ends() > before);
    await poll('the escapee killed by the cgroup sweep', async () => !alive(escapee));
    const exit = readEvents(p.logDir).filter((e) => e.event === 'agent_exit').at(-1)!;
    expect(Number(exit['leftovers_killed'])).toBeGreaterThanOrEqual(1);
    expect((await ar('stop')).exitCode).toBe(0);
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('uninstall removes the units, and a second uninstall is a no-op', async () => {
    const r = await ar('uninstall');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(join(m.unitDir, serveUnit()))).toBe(false);
    expect(existsSync(join(m.unitDir, monitorUnit()))).toBe(false);
    const again = await ar('uninstall');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('nothing to remove');
    const st = JSON.parse((await ar('status', '--json')).stdout) as { mode: string };
    expect(st.mode).not.toMatch(/^systemd/);
  });
});
