import { readFileSync, statfsSync } from 'node:fs';
import { freemem, loadavg, totalmem } from 'node:os';

export interface DiskSample {
  path: string;
  total_gb: number;
  free_gb: number;
  used_pct: number;
}

export interface HostSample {
  mem_total_mb: number;
  mem_available_mb: number;
  mem_used_pct: number;
  load_1m: number;
  load_5m: number;
  load_15m: number;
}

/** MemAvailable, not MemFree: what can be allocated without swapping. */
export function sampleMemory(): { total_mb: number; available_mb: number } {
  try {
    const info = readFileSync('/proc/meminfo', 'latin1');
    const total = /MemTotal:\s+(\d+)/.exec(info);
    const avail = /MemAvailable:\s+(\d+)/.exec(info);
    if (total && avail) return { total_mb: Math.round(Number(total[1]) / 1024), available_mb: Math.round(Number(avail[1]) / 1024) };
  } catch {
    /* not Linux */
  }
  return { total_mb: Math.round(totalmem() / 1048576), available_mb: Math.round(freemem() / 1048576) };
}

/** df-style usage: used / (used + available to unprivileged users). */
export function sampleDisk(path: string): DiskSample | undefined {
  try {
    const s = statfsSync(path);
    const used = (s.blocks - s.bfree) * s.bsize;
    const avail = s.bavail * s.bsize;
    const pct = used + avail > 0 ? (used / (used + avail)) * 100 : 0;
    return {
      path,
      total_gb: round1((s.blocks * s.bsize) / 1e9),
      free_gb: round1(avail / 1e9),
      used_pct: round1(pct),
    };
  } catch {
    return undefined;
  }
}

export function sampleHost(): HostSample {
  const m = sampleMemory();
  const [l1, l5, l15] = loadavg();
  return {
    mem_total_mb: m.total_mb,
    mem_available_mb: m.available_mb,
    mem_used_pct: m.total_mb ? round1(((m.total_mb - m.available_mb) / m.total_mb) * 100) : 0,
    load_1m: round2(l1 ?? 0),
    load_5m: round2(l5 ?? 0),
    load_15m: round2(l15 ?? 0),
  };
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;
