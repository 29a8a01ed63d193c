import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { readLoginExpiry } from '../agents/credentials.js';
import type { Config } from '../config/load.js';
import type { ProjectHistory } from '../history/model.js';
import { sampleDisk, sampleMemory } from '../metrics/host.js';
import { serviceStatus } from '../service/status.js';
import type { DiskView, Snapshot, Thresholds } from './types.js';

export { processState } from '../history/read.js';
export type { ProcessState } from '../history/model.js';

/**
 * Everything the detectors look at, sampled now: the project's history (events and state files,
 * history/), the service manager, memory and both filesystems. Host figures are never taken from
 * the metrics files (written only at round boundaries, so stale between rounds).
 */
export async function takeSnapshot(cfg: Config, history: ProjectHistory, now = Date.now()): Promise<Snapshot> {
  const service = await serviceStatus(cfg);
  const halt = history.halt;
  return {
    now,
    digest: history.log,
    live: history.live,
    serve: history.serve,
    usage_limit: history.usage_limit,
    service: { mode: service.mode, active: service.active, pid: service.pid, uptime_s: service.uptime_s },
    halt: halt ? { reason: halt.reason, ts: halt.ts, message: halt.message, hint: halt.hint } : null,
    memory: sampleMemory(),
    disks: sampleDisks(cfg),
    login: loginOf(cfg),
  };
}

function loginOf(cfg: Config): Snapshot['login'] {
  const l = readLoginExpiry(cfg, { ...process.env, ...cfg.agent.env });
  return l ? { cli: l.cli, file: l.file, expires_at_ms: l.expiresAtMs, renewable: l.renewable } : null;
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
    no_progress_rounds: m.no_progress_rounds,
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
