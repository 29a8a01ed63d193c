// The limit files a round's cgroup gets, written into a temp directory tree shaped like cgroupfs:
// this host has no cgroup2 controllers, so the unified-host path is proven here, and for real on
// the hybrid layout by test/e2e/isolation-cgroup.test.ts.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CgroupLayout } from './cgroup-layout.js';
import { killMethod, limitPlacement, removeStaleRoundDirs, RoundCgroup } from './cgroup.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});
function tree(controllers: string): string {
  const root = mkdtempSync(join(tmpdir(), 'ar-cgfs-'));
  roots.push(root);
  writeFileSync(join(root, 'cgroup.controllers'), controllers);
  return root;
}
const read = (p: string) => readFileSync(p, 'utf8');
const limits = { memory_max: '64M', memory_high: '48M', tasks_max: 20, cpu_quota: '150%', io_weight: 200 };

describe('RoundCgroup on a unified host (temp tree)', () => {
  it('direct: creates the round directory, enables the controllers and writes every limit there', () => {
    const root = tree('cpuset cpu io memory pids');
    const layout: CgroupLayout = { kind: 'unified', v2: { mount: root, own: '/' }, v1: {} };
    const cg = RoundCgroup.create('agent-runner-p-R1', 'direct', limits, layout);
    const dir = join(root, 'agent-runner-p-R1');
    expect(cg.v2Dir).toBe(dir);
    expect(read(join(root, 'cgroup.subtree_control'))).toBe('+memory +pids +cpu +io');
    expect(read(join(dir, 'memory.max'))).toBe(String(64 * 1024 ** 2));
    expect(read(join(dir, 'memory.high'))).toBe(String(48 * 1024 ** 2));
    expect(read(join(dir, 'pids.max'))).toBe('20');
    expect(read(join(dir, 'cpu.max'))).toBe('150000 100000');
    expect(read(join(dir, 'io.weight'))).toBe('default 200');
    expect(cg.notApplied).toEqual([]);
    expect(cg.enterFiles()).toEqual([join(dir, 'cgroup.procs')]);
  });

  it('scope: writes nothing into cgroup2 (the manager applies the properties); the agent enters nothing itself', () => {
    const root = tree('memory pids');
    const cg = RoundCgroup.create('agent-runner-p-R2', 'scope', { tasks_max: 5 }, { kind: 'unified', v2: { mount: root, own: '/' }, v1: {} });
    expect(cg.v2Dir).toBeUndefined();
    expect(cg.enterFiles()).toEqual([]);
    expect(cg.applied).toEqual([]);
  });

  it('hybrid: controllers missing from cgroup2 go to v1 hierarchies; one with neither is reported', () => {
    const v2 = tree('');
    const mem = tree('');
    const pids = tree('');
    const layout: CgroupLayout = { kind: 'hybrid', v2: { mount: v2, own: '/' }, v1: { memory: { mount: mem, own: '/' }, pids: { mount: pids, own: '/' } } };
    const cg = RoundCgroup.create('agent-runner-p-R3', 'direct', { memory_max: '64M', tasks_max: 20, io_weight: 100 }, layout);
    expect(read(join(mem, 'agent-runner-p-R3', 'memory.limit_in_bytes'))).toBe(String(64 * 1024 ** 2));
    expect(read(join(pids, 'agent-runner-p-R3', 'pids.max'))).toBe('20');
    expect(cg.enterFiles()).toEqual([join(v2, 'agent-runner-p-R3', 'cgroup.procs'), join(mem, 'agent-runner-p-R3', 'cgroup.procs'), join(pids, 'agent-runner-p-R3', 'cgroup.procs')]);
    expect(cg.notApplied).toEqual(['io_weight: no io controller in cgroup2 or v1 here']);
  });

  it('never reuses a populated directory of the same name', () => {
    const root = tree('');
    mkdirSync(join(root, 'agent-runner-p-R4'));
    writeFileSync(join(root, 'agent-runner-p-R4', 'cgroup.procs'), '123\n');
    const cg = RoundCgroup.create('agent-runner-p-R4', 'direct', {}, { kind: 'unified', v2: { mount: root, own: '/' }, v1: {} });
    expect(cg.v2Dir).toBe(join(root, `agent-runner-p-R4-${process.pid}`));
  });
});

describe('what a successor and doctor read', () => {
  it('adopt takes only directories of this round\'s name inside a hierarchy that exist', () => {
    const v2 = tree('');
    const mem = tree('');
    const layout: CgroupLayout = { kind: 'hybrid', v2: { mount: v2, own: '/' }, v1: { memory: { mount: mem, own: '/' } } };
    for (const d of [join(v2, 'agent-runner-p-R5'), join(mem, 'agent-runner-p-R5'), join(v2, 'other'), join(v2, 'agent-runner-p-R50')]) mkdirSync(d);
    const cg = RoundCgroup.adopt('agent-runner-p-R5', { v2: join(v2, 'agent-runner-p-R5'), v1: [join(mem, 'agent-runner-p-R5')] }, layout)!;
    expect(cg.v2Dir).toBe(join(v2, 'agent-runner-p-R5'));
    expect(cg.v1Dirs).toEqual({ memory: join(mem, 'agent-runner-p-R5') });
    expect(cg.enterFiles()).toHaveLength(2);
    // A wrong name, a path outside every hierarchy, a climb out of one, a directory that is gone.
    expect(RoundCgroup.adopt('agent-runner-p-R5', { v2: join(v2, 'other') }, layout)).toBeUndefined();
    expect(RoundCgroup.adopt('agent-runner-p-R5', { v2: join(v2, 'agent-runner-p-R50') }, layout)).toBeUndefined();
    expect(RoundCgroup.adopt('agent-runner-p-R5', { v2: '/etc/agent-runner-p-R5' }, layout)).toBeUndefined();
    expect(RoundCgroup.adopt('agent-runner-p-R5', { v2: `${v2}/x/../agent-runner-p-R5` }, layout)).toBeUndefined();
    expect(RoundCgroup.adopt('agent-runner-p-R6', { v2: join(v2, 'agent-runner-p-R6') }, layout)).toBeUndefined();
    mkdirSync(join(v2, `agent-runner-p-R5-${process.pid}`));
    expect(RoundCgroup.adopt('agent-runner-p-R5', { v2: join(v2, `agent-runner-p-R5-${process.pid}`) }, layout)?.v2Dir).toBe(join(v2, `agent-runner-p-R5-${process.pid}`));
  });

  it('killMethod: cgroup.kill where the files are (or the kernel has them, for the root cgroup), else freeze, else the sweep', () => {
    const v2 = tree('');
    mkdirSync(join(v2, 'svc'));
    const at = (own: string): CgroupLayout => ({ kind: 'unified', v2: { mount: v2, own }, v1: {} });
    writeFileSync(join(v2, 'svc', 'cgroup.freeze'), '0');
    expect(killMethod(at('/svc'))).toBe('freeze');
    writeFileSync(join(v2, 'svc', 'cgroup.kill'), '');
    expect(killMethod(at('/svc'))).toBe('cgroup.kill');
    expect(killMethod(at('/'), '6.1.0-18-amd64')).toBe('cgroup.kill');
    expect(killMethod(at('/'), '5.10.0')).toBe('freeze');
    expect(killMethod(at('/'), '4.19.0')).toBe('sweep');
    expect(killMethod({ kind: 'legacy', v1: {} })).toBe('sweep');
  });

  it('limitPlacement: cgroup2 when its controller is there, else the v1 hierarchy, else nowhere', () => {
    const layout: CgroupLayout = { kind: 'hybrid', v2: { mount: '/x', own: '/' }, v1: { memory: { mount: '/m', own: '/' } } };
    expect(limitPlacement({ memory_max: '1G', tasks_max: 5, cpu_quota: '50%' }, layout, new Set(['cpu']))).toEqual([
      { key: 'memory_max', where: 'v1 memory' },
      { key: 'tasks_max', where: 'nowhere' },
      { key: 'cpu_quota', where: 'cgroup2' },
    ]);
  });
});

describe('leftovers', () => {
  it('removes this project\'s empty round directories only: never a populated one, never another project\'s', () => {
    const v2 = tree('');
    const mem = tree('');
    const layout: CgroupLayout = { kind: 'hybrid', v2: { mount: v2, own: '/' }, v1: { memory: { mount: mem, own: '/' } } };
    for (const d of ['agent-runner-p-R1', 'agent-runner-p-R2-77', 'agent-runner-p-R3', 'agent-runner-px-R1', 'agent-runner-p-Rx']) mkdirSync(join(v2, d));
    mkdirSync(join(mem, 'agent-runner-p-R1'));
    // A populated cgroup: a real one refuses rmdir; here a child directory that cannot be removed stands in.
    mkdirSync(join(v2, 'agent-runner-p-R3', 'child'));
    writeFileSync(join(v2, 'agent-runner-p-R3', 'child', 'cgroup.procs'), '42\n');
    const removed = removeStaleRoundDirs('agent-runner-p-R', layout);
    expect(removed.sort()).toEqual([join(mem, 'agent-runner-p-R1'), join(v2, 'agent-runner-p-R1'), join(v2, 'agent-runner-p-R2-77')].sort());
    expect(readdirSync(v2).filter((e) => e.startsWith('agent-runner')).sort()).toEqual(['agent-runner-p-R3', 'agent-runner-p-Rx', 'agent-runner-px-R1']);
  });
});
