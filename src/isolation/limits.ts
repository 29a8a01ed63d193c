/**
 * `[limits]` turned into what the kernel and systemd take: cgroup2 files, cgroup v1 files (for
 * hybrid hosts, where memory and pids are still v1 controllers) and systemd unit properties.
 * Pure: no I/O, so every mapping is unit-tested with plain objects.
 */

export interface LimitsConfig {
  memory_max?: number | string | undefined;
  memory_high?: number | string | undefined;
  tasks_max?: number | undefined;
  cpu_quota?: string | undefined;
  io_weight?: number | undefined;
}

/** The cgroup controllers a limit needs. */
export type Controller = 'memory' | 'pids' | 'cpu' | 'io';

export interface LimitFile {
  controller: Controller;
  /** File name inside the cgroup directory. */
  file: string;
  value: string;
  /** The config key it comes from, for messages. */
  key: keyof LimitsConfig;
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "512M" → 536870912; numbers are bytes. The schema has already checked the shape. */
export function parseBytes(x: number | string): number {
  if (typeof x === 'number') return x;
  const m = /^([0-9.]+)([KMGT]?)$/.exec(x);
  if (!m) throw new Error(`not a byte size: ${x}`);
  return Math.floor(Number(m[1]) * UNITS[m[2]!]!);
}

/** "150%" → 1.5 CPUs. */
export function parseCpuQuota(x: string): number {
  return Number(x.slice(0, -1)) / 100;
}

const CPU_PERIOD_US = 100_000;

export function hasLimits(l: LimitsConfig): boolean {
  return (['memory_max', 'memory_high', 'tasks_max', 'cpu_quota', 'io_weight'] as const).some((k) => l[k] !== undefined);
}

/** The cgroup2 interface files for these limits. */
export function v2LimitFiles(l: LimitsConfig): LimitFile[] {
  const out: LimitFile[] = [];
  if (l.memory_max !== undefined) out.push({ controller: 'memory', file: 'memory.max', value: String(parseBytes(l.memory_max)), key: 'memory_max' });
  if (l.memory_high !== undefined) out.push({ controller: 'memory', file: 'memory.high', value: String(parseBytes(l.memory_high)), key: 'memory_high' });
  // Swap would let a runaway agent grind the host instead of being stopped at memory_max.
  if (l.memory_max !== undefined) out.push({ controller: 'memory', file: 'memory.swap.max', value: '0', key: 'memory_max' });
  if (l.tasks_max !== undefined) out.push({ controller: 'pids', file: 'pids.max', value: String(l.tasks_max), key: 'tasks_max' });
  if (l.cpu_quota !== undefined)
    out.push({ controller: 'cpu', file: 'cpu.max', value: `${Math.max(1000, Math.round(parseCpuQuota(l.cpu_quota) * CPU_PERIOD_US))} ${CPU_PERIOD_US}`, key: 'cpu_quota' });
  if (l.io_weight !== undefined) out.push({ controller: 'io', file: 'io.weight', value: `default ${l.io_weight}`, key: 'io_weight' });
  return out;
}

/**
 * The cgroup v1 files for these limits. v1 has no memory.high: the soft limit is its nearest
 * relative (reclaim pressure under contention, no throttling). blkio.weight takes 10–1000.
 */
export function v1LimitFiles(l: LimitsConfig): LimitFile[] {
  const out: LimitFile[] = [];
  if (l.memory_max !== undefined) {
    const bytes = String(parseBytes(l.memory_max));
    out.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: bytes, key: 'memory_max' });
  }
  if (l.memory_high !== undefined) out.push({ controller: 'memory', file: 'memory.soft_limit_in_bytes', value: String(parseBytes(l.memory_high)), key: 'memory_high' });
  if (l.tasks_max !== undefined) out.push({ controller: 'pids', file: 'pids.max', value: String(l.tasks_max), key: 'tasks_max' });
  if (l.cpu_quota !== undefined) {
    out.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CPU_PERIOD_US), key: 'cpu_quota' });
    out.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(Math.max(1000, Math.round(parseCpuQuota(l.cpu_quota) * CPU_PERIOD_US))), key: 'cpu_quota' });
  }
  if (l.io_weight !== undefined)
    out.push({ controller: 'io', file: 'blkio.weight', value: String(Math.min(1000, Math.max(10, Math.round(l.io_weight / 10)))), key: 'io_weight' });
  return out;
}

/** The v1 hierarchy that carries a controller ("io" is called blkio there). */
export function v1Hierarchy(c: Controller): string {
  return c === 'io' ? 'blkio' : c;
}

/** systemd resource-control properties (systemd.resource-control(5)) for a unit or scope. */
export function systemdProperties(l: LimitsConfig): string[] {
  const out: string[] = [];
  if (l.memory_max !== undefined) out.push(`MemoryMax=${parseBytes(l.memory_max)}`, 'MemorySwapMax=0');
  if (l.memory_high !== undefined) out.push(`MemoryHigh=${parseBytes(l.memory_high)}`);
  if (l.tasks_max !== undefined) out.push(`TasksMax=${l.tasks_max}`);
  if (l.cpu_quota !== undefined) out.push(`CPUQuota=${l.cpu_quota}`);
  if (l.io_weight !== undefined) out.push(`IOWeight=${l.io_weight}`);
  return out;
}
