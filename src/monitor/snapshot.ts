import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { timeoutFor, type Config } from '../config/load.js';
import { readHalt } from '../loop/halt.js';
import { readServeState } from '../loop/serve-state.js';
import { sampleDisk, sampleMemory } from '../metrics/host.js';
import { isAlive, readStat } from '../proc/procfs.js';
import { serviceStatus } from '../service/status.js';
import { readStatus } from '../state/status.js';
import type { Digest } from './digest.js';
import type { DiskView, LiveRound, ServeView, Snapshot, Thresholds } from './types.js';

/**
 * Everything the detectors look at, sampled now: the state files, the live processes, the
 * service manager, memory and both filesystems. Host figures are never taken from the metrics
 * files (written only at round boundaries, so stale between rounds).
 */
export async function takeSnapshot(cfg: Config, digest: Digest, now = Date.now()): Promise<Snapshot> {
  const logDir = cfg.paths.logDir;
  const service = await serviceStatus(cfg);
  const halt = readHalt(logDir);
  return {
    now,
    digest,
    live: liveRound(cfg, digest),
    serve: serveView(logDir),
    service: { mode: service.mode, active: service.active, pid: service.pid, uptime_s: service.uptime_s },
    halt: halt ? { reason: halt.reason, ts: halt.ts, message: halt.message } : null,
    memory: sampleMemory(),
    disks: sampleDisks(cfg),
  };
}

export type ProcessState = 'alive' | 'stopped' | 'dead';

/** A process identified by pid (and start time when known): running, stopped (SIGSTOP, traced) or gone. */
export function processState(pid: number, startTime?: number): ProcessState {
  if (!isAlive(pid, startTime)) return 'dead';
  const st = readStat(pid);
  return st && (st.state === 'T' || st.state === 't') ? 'stopped' : 'alive';
}

function liveRound(cfg: Config, digest: Digest): LiveRound | null {
  const st = readStatus(cfg.paths.logDir);
  const s = st.kind === 'ok' ? st.value : undefined;
  if (s?.running && s.started_at) {
    const started = Date.parse(s.started_at);
    if (Number.isFinite(started)) {
      return {
        round_num: s.round_num,
        phase: s.current_phase ?? null,
        started_ms: started,
        timeout_s: timeoutFor(cfg, s.current_phase),
        supervisor: s.supervisor_pid ? processState(s.supervisor_pid, s.supervisor_start_time) : 'unknown',
        supervisor_pid: s.supervisor_pid ?? null,
        agent_pid: s.pid ?? null,
        agent_alive: s.pid ? isAlive(s.pid, s.start_time) : null,
        source: 'status',
      };
    }
  }
  // A round_start with no round_end that status.json does not know about (a supervisor that died
  // before writing it, or history written by another tool).
  const open = digest.open;
  if (open && (!s || s.round_num < open.round_num)) {
    return {
      round_num: open.round_num,
      phase: open.phase,
      started_ms: open.ts,
      timeout_s: timeoutFor(cfg, open.phase ?? undefined),
      supervisor: 'unknown',
      supervisor_pid: null,
      agent_pid: null,
      agent_alive: null,
      source: 'events',
    };
  }
  return null;
}

function serveView(logDir: string): ServeView {
  const s = readServeState(logDir);
  if (!s) return { present: false, pid: null, process: 'none', state: null, until_ms: null, wait_reason: null };
  const until = s.until ? Date.parse(s.until) : NaN;
  return {
    present: true,
    pid: s.pid,
    process: processState(s.pid, s.start_time),
    state: s.state,
    until_ms: Number.isFinite(until) ? until : null,
    wait_reason: s.wait_reason ?? null,
  };
}

/** log_dir's and work_dir's filesystems; one entry when they are the same filesystem. */
export function sampleDisks(cfg: Config): DiskView[] {
  const dirs: Array<[string, string]> = [
    ['log_dir', existingAncestor(cfg.paths.logDir)],
    ['work_dir', existingAncestor(cfg.paths.workDir)],
  ];
  const byDev = new Map<number, { labels: string[]; path: string }>();
  for (const [label, path] of dirs) {
    let dev: number;
    try {
      dev = statSync(path).dev;
    } catch {
      continue;
    }
    const seen = byDev.get(dev);
    if (seen) seen.labels.push(label);
    else byDev.set(dev, { labels: [label], path });
  }
  const out: DiskView[] = [];
  for (const { labels, path } of byDev.values()) {
    const d = sampleDisk(path);
    if (d) out.push({ label: labels.join('+'), path, used_pct: d.used_pct, free_gb: d.free_gb, total_gb: d.total_gb });
  }
  return out;
}

function existingAncestor(path: string): string {
  let p = path;
  for (;;) {
    try {
      statSync(p);
      return p;
    } catch {
      const up = dirname(p);
      if (up === p) return p;
      p = up;
    }
  }
}

export function thresholdsFrom(cfg: Config): Thresholds {
  const m = cfg.monitor;
  return {
    window: m.window,
    rate_threshold: m.rate_threshold,
    orphan_chain_threshold: m.orphan_chain_threshold,
    disk_warning_pct: m.host_health.disk_warning_pct,
    disk_critical_pct: m.host_health.disk_critical_pct,
    mem_avail_min_mb: m.host_health.mem_avail_min_mb,
    // Upstream's default: one and a half round timeouts without a sign of life.
    supervisor_stale_threshold_s: m.supervisor_stale_threshold_s ?? Math.round(cfg.runtime.round_timeout_s * 1.5),
    hung_factor: m.hung_factor ?? HUNG_FACTOR,
    kill_grace_s: cfg.runtime.kill_grace_s,
    smoke_fail_rate: m.smoke_fail_rate ?? SMOKE_FAIL_RATE,
    auth_hint: m.auth_fail_hint,
  };
}

/** Upstream's: a round is hung past 1.5 × its timeout (we add the kill grace, which we enforce). */
export const HUNG_FACTOR = 1.5;
/** Upstream's smoke_fail_rate threshold: 10 % of the window's start attempts. */
export const SMOKE_FAIL_RATE = 0.1;
