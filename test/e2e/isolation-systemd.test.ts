// Every round in a scope of its own under a real (private) systemd --user manager: the installed
// serve unit runs the rounds. On a hybrid host the manager records the limits on the scope but
// enforces only what cgroup2 carries there (the kill); memory and pids are v1 controllers, which
// agent-runner writes itself into v1 directories of the round's name (docs/isolation.md). So every
// limit below is checked where the kernel enforces it: the file the agent's own cgroup has.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUserManager, systemdUnavailableReason, type UserManager } from '../helpers/systemd-user.js';
import { alive, CLI, readEvents, recordedPids, survivorsOf, useProjects, waitFor, type EventLine, type Project } from '../helpers/project.js';

const reason = systemdUnavailableReason();
const skip = reason !== undefined && process.env.CI !== 'true';
if (skip) console.warn(`skipping systemd isolation e2e: ${reason}`);

const poll = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> =>
  waitFor(probe, what, timeoutMs, 25);

/** Where a limit is enforced for a process, from its /proc/PID/cgroup text: v2 file first, else v1. */
function enforcedLimit(cgroupText: string, v2File: string, v1Controller: string, v1File: string): string | undefined {
  const lines = cgroupText.split('\n');
  const mounts = readFileSync('/proc/self/mountinfo', 'latin1').split('\n');
  const mountOf = (match: (fstype: string, opts: string) => boolean) =>
    mounts
      .map((l) => l.split(' - '))
      .filter(([, r]) => r && match(r.split(' ')[0]!, r.split(' ')[2] ?? ''))
      .map(([l]) => l!.split(' ')[4]!)[0];
  const v2 = lines.find((l) => l.startsWith('0::'))?.slice(3);
  const v2Mount = mountOf((t) => t === 'cgroup2');
  if (v2 && v2Mount && existsSync(`${v2Mount}${v2}/${v2File}`)) return readFileSync(`${v2Mount}${v2}/${v2File}`, 'utf8').trim();
  const v1 = lines.find((l) => l.split(':')[1]?.split(',').includes(v1Controller))?.split(':')[2];
  const v1Mount = mountOf((t, o) => t === 'cgroup' && o.split(',').includes(v1Controller));
  if (v1 && v1Mount && existsSync(`${v1Mount}${v1}/${v1File}`)) return readFileSync(`${v1Mount}${v1}/${v1File}`, 'utf8').trim();
  return undefined;
}

// Each test installs a unit and waits for rounds: on a loaded 2-core machine that outlasts the default.
describe.skipIf(skip)('per-round scope under a systemd --user service', () => {
  let m: UserManager;
  const { project } = useProjects();
  const serveUnit = (p: Project) => `agent-runner@${p.project}.service`;
  const scopeOf = (p: Project, n: number) => `agent-runner-${p.project}-R${n}.scope`;
  const ar = (p: Project, ...args: string[]) => m.run(process.execPath, [CLI, ...args, '--config', p.config], { cwd: p.dir, timeoutMs: 120_000 });
  const events = (p: Project, kind: string): EventLine[] => readEvents(p.logDir).filter((e) => e.event === kind);
  const roundLog = (p: Project, n: number) => readFileSync(String(events(p, 'agent_spawn').find((e) => e['round_num'] === n)!['log_path']), 'utf8');

  beforeAll(async () => {
    m = await startUserManager();
  }, 60_000);
  afterAll(async () => {
    await m?.stop();
  });

  it('each round has its own scope while it runs, bound to the service, with the limits in systemctl show; it is gone after the round', async () => {
    const p = project({
      mode: 'cgroup_to:out/cgroup;;sleep:3',
      runtime: { stop_drain_s: 1 },
      extraToml: '[limits]\nmemory_max = "256M"\nmemory_high = "200M"\ntasks_max = 64\ncpu_quota = "150%"\nio_weight = 200\n',
    });
    const inst = await ar(p, 'install');
    expect(inst.exitCode, inst.stderr).toBe(0);
    const sp = await poll('round 1 spawned', () => events(p, 'agent_spawn').find((e) => e['round_num'] === 1));
    expect(sp['cgroup_mode']).toBe('scope');
    const scope = scopeOf(p, 1);
    const live = await m.show(scope, ['ActiveState', 'ControlGroup', 'BindsTo', 'MemoryMax', 'MemoryHigh', 'MemorySwapMax', 'TasksMax', 'CPUQuotaPerSecUSec', 'IOWeight']);
    expect(live).toMatchObject({
      ActiveState: 'active',
      BindsTo: serveUnit(p),
      MemoryMax: String(256 * 1024 ** 2),
      MemoryHigh: String(200 * 1024 ** 2),
      MemorySwapMax: '0',
      TasksMax: '64',
      CPUQuotaPerSecUSec: '1.500000s',
      IOWeight: '200',
    });
    // The event names the scope's own cgroup2 directory, and the agent runs in it.
    expect(String(sp['cgroup'])).toMatch(new RegExp(`${live.ControlGroup!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    const cg = await poll('the agent recorded its cgroup', () => existsSync(`${p.dir}/out/cgroup`) && readFileSync(`${p.dir}/out/cgroup`, 'utf8').includes(`/${scope}`) && readFileSync(`${p.dir}/out/cgroup`, 'utf8'));
    expect(cg).toContain(`0::${live.ControlGroup}`);
    // The limits hold where the kernel enforces them for this very agent (v2 file, or v1 on a hybrid host).
    expect(enforcedLimit(cg, 'memory.max', 'memory', 'memory.limit_in_bytes')).toBe(String(256 * 1024 ** 2));
    expect(enforcedLimit(cg, 'pids.max', 'pids', 'pids.max')).toBe('64');
    // After the round: its scope is gone (collected), the next round has its own.
    await poll('round 1 ended', () => events(p, 'round_end').some((e) => e['round_num'] === 1));
    await poll('scope of round 1 gone', async () => (await m.show(scope, ['LoadState'])).LoadState === 'not-found');
    expect(existsSync(String(sp['cgroup']))).toBe(false);
    const sp2 = await poll('round 2 spawned', () => events(p, 'agent_spawn').find((e) => e['round_num'] === 2));
    expect(sp2['cgroup']).not.toBe(sp['cgroup']);
    expect((await m.show(scopeOf(p, 2), ['ActiveState', 'BindsTo'])).BindsTo).toBe(serveUnit(p));
    // Stopping the service ends the round and its scope with it.
    const stop = await ar(p, 'stop');
    expect(stop.exitCode, stop.stderr).toBe(0);
    await poll('scope of round 2 gone', async () => (await m.show(scopeOf(p, 2), ['LoadState'])).LoadState === 'not-found');
    expect(survivorsOf(p.testId)).toEqual([]);
    expect((await ar(p, 'uninstall')).exitCode).toBe(0);
  }, 180_000);

  it('an agent past memory_max is classified oom, and the loop counts it as a crash (the unit halts on the crash loop)', async () => {
    const p = project({ mode: 'alloc:128', runtime: { crash_loop_threshold: 2, backoff_max_s: 1 }, extraToml: '[limits]\nmemory_max = "32M"\n' });
    const inst = await ar(p, 'install');
    expect(inst.exitCode, inst.stderr).toBe(0);
    const s = await poll(
      'the unit failed on the crash-loop halt',
      async () => {
        const x = await m.show(serveUnit(p), ['ActiveState', 'SubState', 'ExecMainStatus']);
        return x.ActiveState === 'failed' ? x : undefined;
      },
      60_000,
    );
    expect(s.ExecMainStatus).toBe('80');
    const exits = events(p, 'agent_exit');
    expect(exits.length).toBeGreaterThanOrEqual(2);
    for (const e of exits) expect(e).toMatchObject({ outcome: 'oom' });
    expect(events(p, 'agent_spawn')[0]).toMatchObject({ cgroup_mode: 'scope' });
    expect(events(p, 'crash_loop')).toHaveLength(1);
    expect(JSON.stringify(events(p, 'crash_loop')[0])).toContain('last: oom');
    expect(roundLog(p, 1)).not.toContain('allocated 128 MB');
    expect(survivorsOf(p.testId)).toEqual([]);
    expect((await ar(p, 'uninstall')).exitCode).toBe(0);
  }, 180_000);

  it('a fork bomb in the service is held at tasks_max, and nothing of it outlives its round', async () => {
    const p = project({ mode: 'forks:200', runtime: { stop_drain_s: 1 }, extraToml: '[limits]\ntasks_max = 20\n' });
    const inst = await ar(p, 'install');
    expect(inst.exitCode, inst.stderr).toBe(0);
    await poll('round 1 ended', () => events(p, 'round_end').some((e) => e['round_num'] === 1));
    const stop = await ar(p, 'stop');
    expect(stop.exitCode, stop.stderr).toBe(0);
    const sp = events(p, 'agent_spawn')[0]!;
    expect(sp['cgroup_mode']).toBe('scope');
    const forked = /forked (\d+) of 200/.exec(roundLog(p, 1));
    expect(forked, roundLog(p, 1)).not.toBeNull();
    // The agent's shell and perl count too: fewer than 20 children got through, but some did.
    expect(Number(forked![1])).toBeLessThan(20);
    expect(Number(forked![1])).toBeGreaterThan(0);
    expect(recordedPids(p).filter(alive)).toEqual([]);
    expect(survivorsOf(p.testId)).toEqual([]);
    expect((await ar(p, 'uninstall')).exitCode).toBe(0);
  }, 180_000);
});
