import { describe, expect, it } from 'vitest';
import { parseBytes, systemdProperties, v1LimitFiles, v2LimitFiles } from './limits.js';

const asMap = (files: Array<{ file: string; value: string }>) => Object.fromEntries(files.map((f) => [f.file, f.value]));

describe('limits', () => {
  it('parses sizes as systemd does (powers of 1024)', () => {
    expect(parseBytes('512M')).toBe(512 * 1024 ** 2);
    expect(parseBytes('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('4096')).toBe(4096);
    expect(parseBytes(65536)).toBe(65536);
    expect(() => parseBytes('12Q')).toThrow();
  });

  it('renders cgroup2 files', () => {
    expect(asMap(v2LimitFiles({ memory_max: '64M', memory_high: '48M', tasks_max: 20, cpu_quota: '150%', io_weight: 200 }))).toEqual({
      'memory.max': String(64 * 1024 ** 2),
      'memory.high': String(48 * 1024 ** 2),
      'memory.swap.max': '0',
      'pids.max': '20',
      'cpu.max': '150000 100000',
      'io.weight': 'default 200',
    });
  });

  it('renders cgroup v1 files for hybrid hosts, io weight scaled into blkio range', () => {
    expect(asMap(v1LimitFiles({ memory_max: '64M', memory_high: '48M', tasks_max: 20, cpu_quota: '50%', io_weight: 10000 }))).toEqual({
      'memory.limit_in_bytes': String(64 * 1024 ** 2),
      'memory.soft_limit_in_bytes': String(48 * 1024 ** 2),
      'pids.max': '20',
      'cpu.cfs_period_us': '100000',
      'cpu.cfs_quota_us': '50000',
      'blkio.weight': '1000',
    });
    expect(asMap(v1LimitFiles({ io_weight: 1 }))['blkio.weight']).toBe('10');
  });

  it('renders systemd properties', () => {
    expect(systemdProperties({ memory_max: '1G', tasks_max: 64, cpu_quota: '200%', io_weight: 50 })).toEqual([
      `MemoryMax=${1024 ** 3}`,
      'MemorySwapMax=0',
      'TasksMax=64',
      'CPUQuota=200%',
      'IOWeight=50',
    ]);
    expect(systemdProperties({})).toEqual([]);
  });
});
