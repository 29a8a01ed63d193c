// [sandbox] mode = "systemd" under a real (private) systemd --user manager: `install` renders the
// hardening into the serve unit, and the agent — in its own round scope — runs under it. The project
// and the manager live in the passwd home, not /tmp: PrivateTmp= hides /tmp, and ProtectHome=read-only
// with ReadWritePaths= is what a real install under /home exercises.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUserManager, systemdUnavailableReason, type UserManager } from '../helpers/systemd-user.js';
import { CLI, readEvents, survivorsOf, useProjects, waitFor, type EventLine, type Project } from '../helpers/project.js';

const reason = systemdUnavailableReason();
const skip = reason !== undefined && process.env.CI !== 'true';
if (skip) console.warn(`skipping systemd sandbox e2e: ${reason}`);

const poll = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> =>
  waitFor(probe, what, timeoutMs, 25);

describe.skipIf(skip)('[sandbox] mode = "systemd" in a real user service', () => {
  let m: UserManager;
  const { project } = useProjects();
  const base = join(userInfo().homedir, `.agent-runner-e2e-${process.pid}`);
  const ar = (p: Project, ...args: string[]) => m.run(process.execPath, [CLI, ...args, '--config', p.config], { cwd: p.dir, timeoutMs: 120_000 });
  const events = (p: Project, kind: string): EventLine[] => readEvents(p.logDir).filter((e) => e.event === kind);

  beforeAll(async () => {
    mkdirSync(base, { recursive: true });
    m = await startUserManager({ baseDir: base });
  }, 60_000);
  afterAll(async () => {
    await m?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it('the agent writes in the work dir, its state dir and a private /tmp; not in $HOME, /etc or the host /tmp; no new privileges', async () => {
    const id = randomUUID();
    const state = join(base, `state-${id}`);
    mkdirSync(state);
    const homeProbe = join(base, `home-probe-${id}`);
    const tmpProbe = `/tmp/ar-sandbox-probe-${id}`;
    const p = project({
      base,
      mode: ['write:out/inside', `write:${state}/s`, `write:${homeProbe}`, `write:/etc/ar-sandbox-probe-${id}`, `write:${tmpProbe}`, 'cat:/proc/self/status', 'cgroup_to:out/cgroup'].join(';;'),
      runtime: { stop_drain_s: 1, restart_delay_s: 60 },
      extraToml: `[sandbox]\nmode = "systemd"\nwritable_paths = [${JSON.stringify(state)}, "${base}/never-created"]\n`,
    });
    const inst = await ar(p, 'install');
    expect(inst.exitCode, inst.stderr).toBe(0);
    const unit = `agent-runner@${p.project}.service`;
    const props = await m.show(unit, ['NoNewPrivileges', 'PrivateTmp', 'ProtectSystem', 'ProtectHome', 'ReadWritePaths']);
    expect(props).toMatchObject({ NoNewPrivileges: 'yes', PrivateTmp: 'yes', ProtectSystem: 'strict', ProtectHome: 'read-only' });
    expect(props.ReadWritePaths!.split(' ')).toEqual(expect.arrayContaining([p.dir, p.logDir, `-${state}`, `-${base}/never-created`]));

    const exit = await poll('round 1 ended', () => events(p, 'agent_exit').find((e) => e['round_num'] === 1), 60_000);
    expect(exit['outcome']).toBe('clean');
    const spawn = events(p, 'agent_spawn')[0]!;
    expect(spawn).toMatchObject({ sandbox: 'systemd', cgroup_mode: 'scope' });
    const log = readFileSync(String(spawn['log_path']), 'utf8');
    expect(log).toContain('write ok out/inside');
    expect(log).toContain(`write ok ${state}/s`);
    expect(log).toContain(`write failed ${homeProbe}`);
    expect(log).toContain(`write failed /etc/ar-sandbox-probe-${id}`);
    // /tmp is the unit's own: the write succeeds there and never reaches the host's.
    expect(log).toContain(`write ok ${tmpProbe}`);
    expect(existsSync(tmpProbe)).toBe(false);
    expect(log).toMatch(/^NoNewPrivs:\s+1$/m);
    // The round's scope keeps the service's namespaces: the sandbox holds inside it.
    expect(readFileSync(join(p.dir, 'out', 'cgroup'), 'utf8')).toContain(`/agent-runner-${p.project}-R1.scope`);
    expect(existsSync(join(p.dir, 'out', 'inside'))).toBe(true);
    expect(existsSync(homeProbe)).toBe(false);

    // doctor sees the sandbox in the installed unit, and systemd-analyze's verdict on it.
    const doc = JSON.parse((await ar(p, 'doctor', '--json')).stdout) as { findings: Array<{ check: string; status: string; detail: string }> };
    const sandbox = doc.findings.find((f) => f.check === 'isolation_sandbox')!;
    expect(sandbox).toMatchObject({ status: 'ok' });
    expect(sandbox.detail).toContain(`systemd: writable ${p.dir}, ${p.logDir}, ${state}`);
    expect(sandbox.detail).toContain(`in ${m.unitDir}/${unit}`);
    expect(doc.findings.find((f) => f.check === 'isolation_cgroup')!.detail).toContain('the installed service runs each round in a systemd scope of its own');
    expect(doc.findings.find((f) => f.check === 'isolation_security')!.detail).toMatch(new RegExp(`^${unit.replace(/[.@]/g, '\\$&')}: exposure \\d+\\.\\d \\S+ \\(systemd-analyze security`));

    const stop = await ar(p, 'stop');
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(survivorsOf(p.testId)).toEqual([]);
    expect((await ar(p, 'uninstall')).exitCode).toBe(0);
  }, 180_000);
});
