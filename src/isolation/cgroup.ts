import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { release as osRelease } from 'node:os';
import { isAlive } from '../proc/procfs.js';
import { cgroupDir, parseCgroupLayout, type CgroupLayout } from './cgroup-layout.js';
import { v1Hierarchy, v1LimitFiles, v2LimitFiles, type Controller, type LimitFile, type LimitsConfig } from './limits.js';
import { sleep } from '../util/sleep.js';

/**
 * The cgroup(s) of one round. A process that leaves the session and clears its environment escapes
 * the process-group kill and the marker scan; it cannot leave its cgroup. cgroup2 holds the round
 * (and kills it whole with cgroup.kill); limits go to cgroup2 where its controllers are available,
 * else to a v1 hierarchy of the same name (hybrid hosts keep memory and pids in v1).
 *
 * Two ways in: `direct` creates the cgroup2 directory itself (root, no systemd); `scope` lets a
 * systemd manager create a transient scope (see systemd-scope.ts) and finds its directory after.
 * v1 directories are always ours: a manager on a hybrid host does not put scopes in them.
 */
export interface RoundCgroupInfo {
  /** cgroup2 directory, once known. */
  v2Dir: string | undefined;
  /** v1 directories by hierarchy (memory, pids, cpu, blkio). */
  v1Dirs: Record<string, string>;
  /** Limits written, as "file=value". */
  applied: string[];
  /** Limits that could not be applied here, by config key, with why. */
  notApplied: string[];
}

let cachedLayout: CgroupLayout | undefined;
export function readCgroupLayout(): CgroupLayout {
  if (cachedLayout) return cachedLayout;
  try {
    cachedLayout = parseCgroupLayout(readFileSync('/proc/self/mountinfo', 'latin1'), readFileSync('/proc/self/cgroup', 'latin1'));
  } catch {
    cachedLayout = { kind: 'none', v1: {} };
  }
  return cachedLayout;
}

/** Controllers available to children of our own cgroup2 directory. */
export function ownV2Controllers(layout: CgroupLayout): Set<string> {
  if (!layout.v2) return new Set();
  return new Set(readText(`${cgroupDir(layout.v2)}/cgroup.controllers`)?.trim().split(/\s+/).filter(Boolean) ?? []);
}

/** Why a direct per-round cgroup cannot be made here, or undefined when it can. */
export function directCgroupUnavailable(layout: CgroupLayout): string | undefined {
  if (process.platform !== 'linux') return `platform is ${process.platform}`;
  if (!layout.v2) return 'no cgroup2 hierarchy is mounted';
  const dir = cgroupDir(layout.v2);
  if (!existsSync(`${dir}/cgroup.procs`)) return `${dir} is not a cgroup2 directory`;
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    return `${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? String(err)}): run as root, or under systemd`;
  }
  return undefined;
}

/**
 * How a round's cgroup is killed on this host: `cgroup.kill` (Linux 5.14+), freeze then kill
 * (5.2+), or no cgroup2 at all, which leaves the process-group and marker sweep.
 */
export function killMethod(layout: CgroupLayout, release = osRelease()): 'cgroup.kill' | 'freeze' | 'sweep' {
  if (!layout.v2) return 'sweep';
  // The root cgroup has neither file: ask a child's, else the kernel version.
  const own = cgroupDir(layout.v2);
  if (layout.v2.own !== '/') return existsSync(`${own}/cgroup.kill`) ? 'cgroup.kill' : existsSync(`${own}/cgroup.freeze`) ? 'freeze' : 'sweep';
  const [maj = 0, min = 0] = release.split(/[.-]/).map(Number);
  return maj > 5 || (maj === 5 && min >= 14) ? 'cgroup.kill' : maj === 5 && min >= 2 ? 'freeze' : 'sweep';
}

/** Where each configured limit would be enforced: cgroup2, a v1 hierarchy, or nowhere here. */
export function limitPlacement(limits: LimitsConfig, layout: CgroupLayout, v2Ctl = ownV2Controllers(layout)): Array<{ key: keyof LimitsConfig; where: string }> {
  const out = new Map<keyof LimitsConfig, string>();
  for (const f of v2LimitFiles(limits)) {
    if (out.has(f.key)) continue;
    const h = v1Hierarchy(f.controller);
    out.set(f.key, v2Ctl.has(f.controller) ? 'cgroup2' : layout.v1[h] ? `v1 ${h}` : 'nowhere');
  }
  return [...out].map(([key, where]) => ({ key, where }));
}

export class RoundCgroup implements RoundCgroupInfo {
  v2Dir: string | undefined;
  v1Dirs: Record<string, string> = {};
  applied: string[] = [];
  notApplied: string[] = [];
  private readonly ownsV2: boolean;

  private constructor(
    readonly name: string,
    readonly mode: 'direct' | 'scope',
    private readonly layout: CgroupLayout,
  ) {
    this.ownsV2 = mode === 'direct';
  }

  /**
   * Creates the round's directories and writes its limits. In scope mode only the v1 part: the
   * scope's cgroup2 directory is the manager's to create, and `resolveScope` finds it.
   */
  static create(name: string, mode: 'direct' | 'scope', limits: LimitsConfig, layout = readCgroupLayout()): RoundCgroup {
    const cg = new RoundCgroup(name, mode, layout);
    const v2Ctl = ownV2Controllers(layout);
    const wanted = v2LimitFiles(limits);
    if (mode === 'direct' && layout.v2) {
      cg.v2Dir = makeDir(cgroupDir(layout.v2, name));
    }
    // Each limit goes to cgroup2 when its controller is there, else to the v1 hierarchy.
    const v1Wanted = v1LimitFiles(limits);
    const byController = new Map<Controller, { v2: LimitFile[]; v1: LimitFile[] }>();
    for (const f of wanted) byController.set(f.controller, { v2: [...(byController.get(f.controller)?.v2 ?? []), f], v1: [] });
    for (const f of v1Wanted) {
      const e = byController.get(f.controller) ?? { v2: [], v1: [] };
      e.v1.push(f);
      byController.set(f.controller, e);
    }
    const enable: string[] = [];
    for (const [ctl, files] of byController) {
      if (v2Ctl.has(ctl)) {
        if (mode === 'scope') continue; // the manager writes them from the scope's properties
        enable.push(ctl);
        continue;
      }
      const h = layout.v1[v1Hierarchy(ctl)];
      if (!h) {
        cg.notApplied.push(...new Set(files.v2.map((f) => `${f.key}: no ${ctl} controller in cgroup2 or v1 here`)));
        continue;
      }
      const dir = (cg.v1Dirs[v1Hierarchy(ctl)] ??= makeDir(cgroupDir(h, name)));
      for (const f of files.v1) cg.write(dir, f);
    }
    if (enable.length > 0 && cg.v2Dir && layout.v2) {
      // Children get a controller only when the parent enables it; our own cgroup holds processes,
      // which cgroup2 forbids for a parent with controllers unless it is the root.
      try {
        writeFileSync(`${cgroupDir(layout.v2)}/cgroup.subtree_control`, enable.map((c) => `+${c}`).join(' '));
        for (const f of wanted) if (enable.includes(f.controller)) cg.write(cg.v2Dir, f);
      } catch (err) {
        cg.notApplied.push(`${enable.join(', ')}: cannot enable in ${cgroupDir(layout.v2)}/cgroup.subtree_control (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
    }
    // pids.max must hold before the agent's first fork: it is written above, before the spawn.
    return cg;
  }

  private write(dir: string, f: LimitFile): void {
    try {
      writeFileSync(`${dir}/${f.file}`, f.value);
      this.applied.push(`${f.file}=${f.value}`);
    } catch (err) {
      // memory.swap.max is absent without swap accounting: nothing to hold back then.
      if (f.file === 'memory.swap.max') return;
      this.notApplied.push(`${f.key}: ${dir}/${f.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }

  /**
   * The cgroups a dead supervisor recorded in status.json, taken over by its successor to kill what
   * is left and remove them. Only directories of this very round's name inside a cgroup hierarchy
   * are accepted: status.json is only a file, and a wrong path must never kill anything else.
   */
  static adopt(name: string, recorded: { v2?: string | undefined; v1?: string[] | undefined }, layout = readCgroupLayout()): RoundCgroup | undefined {
    const ours = (dir: string, mount: string) => {
      const base = dir.slice(dir.lastIndexOf('/') + 1);
      const suffixed = base.startsWith(`${name}-`) && /^\d+$/.test(base.slice(name.length + 1));
      return dir.startsWith(`${mount}/`) && !dir.split('/').includes('..') && (base === name || base === `${name}.scope` || suffixed);
    };
    const v2 = recorded.v2 && layout.v2 && ours(recorded.v2, layout.v2.mount) && existsSync(recorded.v2) ? recorded.v2 : undefined;
    const mode = v2?.endsWith('.scope') ? 'scope' : 'direct';
    const cg = new RoundCgroup(name, mode, layout);
    cg.v2Dir = v2;
    for (const d of recorded.v1 ?? []) {
      const h = Object.entries(layout.v1).find(([, x]) => ours(d, x.mount));
      if (h && existsSync(d)) cg.v1Dirs[h[0]] = d;
    }
    return cg.v2Dir || Object.keys(cg.v1Dirs).length ? cg : undefined;
  }

  /** The cgroup.procs files the agent must enter before it execs (direct: all; scope: v1 only). */
  enterFiles(): string[] {
    return [...(this.ownsV2 && this.v2Dir ? [this.v2Dir] : []), ...Object.values(this.v1Dirs)].map((d) => `${d}/cgroup.procs`);
  }

  /** Scope mode: the scope's cgroup2 directory, read from the leader once the manager moved it. */
  resolveScope(leaderPid: number): boolean {
    if (this.v2Dir || !this.layout.v2) return this.v2Dir !== undefined;
    const line = readText(`/proc/${leaderPid}/cgroup`)?.split('\n').find((l) => l.startsWith('0::'));
    const path = line?.slice(3).trim();
    if (path?.endsWith(`/${this.name}.scope`)) this.v2Dir = `${this.layout.v2.mount === '/' ? '' : this.layout.v2.mount}${path}`;
    return this.v2Dir !== undefined;
  }

  setScopeDir(controlGroup: string): void {
    if (!this.v2Dir && this.layout.v2 && controlGroup) this.v2Dir = `${this.layout.v2.mount}${controlGroup}`;
  }

  /** Every live process in the round's cgroups. */
  pids(): number[] {
    const out = new Set<number>();
    for (const d of this.dirs()) for (const p of procsOf(d)) if (isAlive(p)) out.add(p);
    return [...out];
  }

  /**
   * Kill everything in the round's cgroups at once: cgroup.kill (Linux 5.14+); else freeze, KILL
   * each member, thaw (nothing can fork meanwhile); else KILL each member. Returns how many were in.
   */
  kill(): number {
    const members = this.pids();
    if (this.v2Dir && existsSync(`${this.v2Dir}/cgroup.kill`)) {
      try {
        writeFileSync(`${this.v2Dir}/cgroup.kill`, '1');
      } catch {
        /* removed meanwhile */
      }
    } else if (this.v2Dir && existsSync(`${this.v2Dir}/cgroup.freeze`)) {
      tryWrite(`${this.v2Dir}/cgroup.freeze`, '1');
      for (const p of members) tryKill(p);
      tryWrite(`${this.v2Dir}/cgroup.freeze`, '0');
    }
    // v1 members (and v2 ones on old kernels): signalled one by one; pids.max bounds the race.
    for (const p of this.pids()) tryKill(p);
    return members.length;
  }

  /**
   * Holds every process of the round still (cgroup2 freezer) and returns the thaw; undefined where
   * this round cannot be frozen. Used while the round log is rewritten in place: an append that
   * lands between reading the log's tail and truncating it would be lost.
   */
  freeze(waitMs = 250): (() => void) | undefined {
    const dir = this.v2Dir;
    if (!dir || !existsSync(`${dir}/cgroup.freeze`)) return undefined;
    try {
      writeFileSync(`${dir}/cgroup.freeze`, '1');
    } catch {
      return undefined;
    }
    const thaw = () => tryWrite(`${dir}/cgroup.freeze`, '0');
    // Writing 1 only starts the freeze: it holds once cgroup.events says so.
    const until = Date.now() + waitMs;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      const events = readText(`${dir}/cgroup.events`);
      if (events === undefined || /^frozen 1$/m.test(events)) return thaw;
      if (Date.now() > until) return thaw;
      Atomics.wait(pause, 0, 0, 1);
    }
  }

  /** oom_kill events in the round's memory cgroup (v2 memory.events, v1 memory.oom_control). */
  oomKills(): number {
    const v2 = this.v2Dir ? readText(`${this.v2Dir}/memory.events`) : undefined;
    const v1 = this.v1Dirs['memory'] ? readText(`${this.v1Dirs['memory']}/memory.oom_control`) : undefined;
    let n = 0;
    for (const text of [v2, v1]) {
      const m = text ? /^oom_kill (\d+)$/m.exec(text) : null;
      if (m) n = Math.max(n, Number(m[1]));
    }
    return n;
  }

  /** Whether pids.max refused a fork (v2 pids.events / v1 pids.events "max N"). */
  tasksMaxHits(): number {
    let n = 0;
    for (const d of [this.v2Dir, this.v1Dirs['pids']]) {
      const m = d ? /^max (\d+)$/m.exec(readText(`${d}/pids.events`) ?? '') : null;
      if (m) n = Math.max(n, Number(m[1]));
    }
    return n;
  }

  /**
   * Removes the directories we created; processes leave a cgroup asynchronously after they die, so
   * this retries until the deadline. A scope's directory is the manager's: it removes it once empty.
   */
  async remove(deadlineMs = 2000): Promise<string[]> {
    const mine = [...(this.ownsV2 && this.v2Dir ? [this.v2Dir] : []), ...Object.values(this.v1Dirs)];
    const until = Date.now() + deadlineMs;
    let left = mine.filter((d) => !removeIfEmpty(d));
    while (left.length > 0 && Date.now() < until) {
      await sleep(10);
      left = left.filter((d) => !removeIfEmpty(d));
    }
    return left;
  }

  private dirs(): string[] {
    return [...(this.v2Dir ? [this.v2Dir] : []), ...Object.values(this.v1Dirs)];
  }
}

/**
 * Empty round directories of this project that an earlier round could not remove (its members were
 * still leaving when it gave up, or its supervisor was killed). Only this project's: the project lock
 * means none of them is a round still being set up. rmdir refuses a populated cgroup, so nothing
 * that holds a process is touched.
 */
export function removeStaleRoundDirs(namePrefix: string, layout = readCgroupLayout()): string[] {
  const removed: string[] = [];
  const bases = [...(layout.v2 ? [cgroupDir(layout.v2)] : []), ...new Set(Object.values(layout.v1).map((h) => cgroupDir(h)))];
  const ours = new RegExp(`^${namePrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\d+(-\\d+)?$`);
  for (const base of bases) {
    let entries: string[];
    try {
      entries = readdirSync(base);
    } catch {
      continue;
    }
    for (const e of entries) if (ours.test(e) && removeIfEmpty(`${base}/${e}`)) removed.push(`${base}/${e}`);
  }
  return removed;
}

/**
 * mkdir, clearing an empty leftover of the same name first. A populated one (another log dir with
 * the same project name and round number) is never reused: a suffix makes ours distinct.
 */
function makeDir(dir: string): string {
  removeIfEmpty(dir);
  try {
    mkdirSync(dir);
    return dir;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const other = `${dir}-${process.pid}`;
    mkdirSync(other);
    return other;
  }
}

function procsOf(dir: string): number[] {
  const out: number[] = [];
  const text = readText(`${dir}/cgroup.procs`);
  if (text) for (const l of text.split('\n')) if (l) out.push(Number(l));
  // A scope or an agent may create sub-cgroups of its own.
  let entries: import('node:fs').Dirent[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    /* gone */
  }
  for (const e of entries) if (e.isDirectory()) out.push(...procsOf(`${dir}/${e.name}`));
  return out;
}

/** rmdir leaves first; true when the directory is gone (or never was). */
function removeIfEmpty(dir: string): boolean {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return true;
  }
  let ok = true;
  for (const e of entries) if (e.isDirectory()) ok = removeIfEmpty(`${dir}/${e.name}`) && ok;
  if (!ok) return false;
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

function tryWrite(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch {
    /* gone */
  }
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}
