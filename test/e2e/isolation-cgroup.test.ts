// Every round in a cgroup of its own, without systemd: root and a writable cgroup2 (here the hybrid
// host's /sys/fs/cgroup/unified for the kill, v1 memory and pids for the limits).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, readEvents, readJson, recordedPids, runCli, startCli, survivorsOf, waitFor, type Project, useProjects } from '../helpers/project.js';

const { project, track } = useProjects();

function directReason(): string | undefined {
  if (process.platform !== 'linux') return `platform is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'not root: a per-round cgroup without systemd needs a writable cgroup2';
  if (!readFileSync('/proc/self/mountinfo', 'latin1').includes(' - cgroup2 ')) return 'no cgroup2 mounted';
  return undefined;
}
const reason = directReason();
const skip = reason !== undefined && process.env['CI'] !== 'true';
if (skip) console.warn(`skipping per-round cgroup e2e: ${reason}`);

const round = (p: Project) => runCli(['round', '--config', p.config], { cwd: p.dir });
const spawnEvent = (p: Project) => readEvents(p.logDir).find((e) => e.event === 'agent_spawn')!;
const exitEvent = (p: Project) => readEvents(p.logDir).find((e) => e.event === 'agent_exit')!;
const logOf = (p: Project) => readFileSync(String(exitEvent(p) && readEvents(p.logDir).find((e) => e.event === 'agent_spawn')!['log_path']), 'utf8');

describe.skipIf(skip)('per-round cgroup without systemd', () => {
  it('an escapee that left the session and cleared its environment is killed with the round; the cgroup is gone after', async () => {
    const p = project({ mode: 'escape_all;;sleep:0.2' });
    const r = await round(p);
    expect(r.code, r.stderr).toBe(0);
    const sp = spawnEvent(p);
    expect(sp['cgroup_mode']).toBe('direct');
    const dir = String(sp['cgroup']);
    expect(dir).toMatch(new RegExp(`/agent-runner-${p.project}-R1$`));
    const pids = recordedPids(p);
    expect(pids.length).toBe(2); // the agent and the escapee
    expect(pids.filter(alive)).toEqual([]);
    expect(survivorsOf(p.testId)).toEqual([]);
    expect(Number(exitEvent(p)['leftovers_killed'])).toBeGreaterThanOrEqual(1);
    expect(existsSync(dir)).toBe(false);
  });

  it('the cgroup exists while the round runs and holds the agent', async () => {
    const p = project({ mode: 'cgroup_to:out/cgroup;;sleep:300', runtime: { round_timeout_s: 30 } });
    const c = track(startCli(['round', '--config', p.config], { cwd: p.dir }));
    const sp = await waitFor(() => readEvents(p.logDir).find((e) => e.event === 'agent_spawn'), 'agent_spawn');
    const dir = String(sp['cgroup']);
    await waitFor(() => existsSync(`${p.dir}/out/cgroup`) && readFileSync(`${p.dir}/out/cgroup`, 'utf8').includes(`/agent-runner-${p.project}-R1`), 'the agent in its cgroup');
    expect(readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n')).toContain(String(sp['pid']));
    c.kill('SIGTERM');
    await waitFor(() => c.exitCode !== null, 'round exits on SIGTERM');
    expect(survivorsOf(p.testId)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it('an agent that exceeds memory_max is killed by the kernel and classified oom', async () => {
    const p = project({ mode: 'alloc:128', extraToml: '[limits]\nmemory_max = "32M"\n' });
    const r = await round(p);
    expect(spawnEvent(p)['limits_applied']).toEqual(expect.arrayContaining([expect.stringMatching(/^memory\.(max|limit_in_bytes)=33554432$/)]));
    expect(exitEvent(p)).toMatchObject({ outcome: 'oom' });
    expect(r.code).toBe(14);
    expect(logOf(p)).not.toContain('allocated 128 MB');
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('the same allocation without a limit succeeds (the oom above is the limit, not the host)', async () => {
    const p = project({ mode: 'alloc:128' });
    const r = await round(p);
    expect(r.code).toBe(0);
    expect(exitEvent(p)).toMatchObject({ outcome: 'clean' });
    expect(logOf(p)).toContain('allocated 128 MB');
  });

  it('a fork bomb is held at tasks_max, and nothing of it survives the round', async () => {
    const p = project({ mode: 'forks:200', extraToml: '[limits]\ntasks_max = 20\n' });
    const r = await round(p);
    expect(r.code, r.stderr).toBe(0);
    expect(spawnEvent(p)['limits_applied']).toContain('pids.max=20');
    const m = /forked (\d+) of 200/.exec(logOf(p));
    expect(m, logOf(p)).not.toBeNull();
    // The agent's shell and perl count too: fewer than 20 children got through.
    expect(Number(m![1])).toBeLessThan(20);
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(recordedPids(p).filter(alive)).toEqual([]);
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('a SIGKILLed supervisor leaves its round cgroup, escapee included: the next start kills what is in it and removes it', async () => {
    const p = project({ mode: 'escape_all;;sleep:300', extraToml: '[limits]\ntasks_max = 50\n' });
    const first = track(startCli(['round', '--config', p.config], { cwd: p.dir }));
    const sp = await waitFor(() => readEvents(p.logDir).find((e) => e.event === 'agent_spawn'), 'agent_spawn');
    const escapee = await waitFor(() => recordedPids(p).find((x) => x !== sp['pid']), 'the escapee recorded');
    const dir = String(sp['cgroup']);
    const status = readJson(join(p.logDir, 'status.json'));
    expect(status).toMatchObject({ running: true, cgroup: dir });
    first.kill('SIGKILL');
    await waitFor(() => first.exitCode !== null || first.signalCode !== null, 'the supervisor gone');
    // Nothing but the cgroup can tell the escapee belongs to the round: no session, no marker.
    expect(alive(escapee)).toBe(true);
    writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, 'FAKE_MODE = "ok"'));
    const r = await round(p);
    expect(r.code, r.stderr).toBe(0);
    const rec = readEvents(p.logDir).find((e) => e.event === 'round_recovered')!;
    expect(rec).toMatchObject({ round_num: 1, cgroup: dir });
    expect(rec['cgroup_left']).toBeUndefined();
    expect(Number(rec['killed'])).toBeGreaterThanOrEqual(2);
    expect(alive(escapee)).toBe(false);
    expect(survivorsOf(p.testId)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    for (const d of (status['cgroup_v1'] as string[] | undefined) ?? []) expect(existsSync(d)).toBe(false);
  });

  it('limits.cgroup = "off" keeps the sweep alone (and says so)', async () => {
    const p = project({ mode: 'ok', extraToml: '[limits]\ncgroup = "off"\n' });
    expect((await round(p)).code).toBe(0);
    expect(spawnEvent(p)).toMatchObject({ cgroup_mode: 'none', cgroup: null, cgroup_unavailable: 'limits.cgroup = "off"' });
  });
});

describe.skipIf(skip)('freezing a round while its log is rewritten', () => {
  it('a frozen round writes nothing until it is thawed', async () => {
    const { RoundCgroup } = await import('../../src/isolation/cgroup.js');
    const { spawn } = await import('node:child_process');
    const { mkdtempSync, rmSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'ar-freeze-'));
    const out = join(dir, 'log');
    writeFileSync(out, '');
    const cg = RoundCgroup.create(`agent-runner-freeze-test-${process.pid}`, 'direct', {});
    // The writer enters the cgroup before it starts writing, as the agent does.
    const writer = spawn('bash', ['-c', `echo $$ > ${cg.enterFiles()[0]} && exec bash -c 'while :; do echo line >> ${out}; done'`], { stdio: 'ignore' });
    try {
      await waitFor(() => statSync(out).size > 1000, 'the writer writing');
      const thaw = cg.freeze();
      expect(thaw).toBeTypeOf('function');
      const held = statSync(out).size;
      // Held means held: many looks over a while, and the log never grows.
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 5));
        expect(statSync(out).size).toBe(held);
      }
      thaw!();
      await waitFor(() => statSync(out).size > held, 'the writer writing again');
    } finally {
      writer.kill('SIGKILL');
      await waitFor(() => writer.exitCode !== null || writer.signalCode !== null, 'the writer gone');
      cg.kill();
      await cg.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
