/**
 * PURE types shared by the detectors, the probe and the monitor. A detector sees one Snapshot
 * (everything sampled at one instant) and the thresholds from config, and returns conditions.
 */
import type { DetectorName } from './detector-names.js';
import type { Digest } from './digest.js';

export type Severity = 'info' | 'warning' | 'critical';

export interface DiskView {
  /** Which configured directory lives on this filesystem: log_dir, work_dir or both. */
  label: string;
  path: string;
  used_pct: number;
  free_gb: number;
  total_gb: number;
}

export interface LiveRound {
  round_num: number;
  phase: string | null;
  started_ms: number;
  /** The round's effective timeout (phase override included). */
  timeout_s: number;
  /** The supervising process: alive, stopped (SIGSTOP/traced), dead, or unknown (no pid recorded). */
  supervisor: 'alive' | 'stopped' | 'dead' | 'unknown';
  supervisor_pid: number | null;
  agent_pid: number | null;
  agent_alive: boolean | null;
  source: 'status' | 'events';
}

export interface ServeView {
  /** serve-state.json exists: serve is running, or died without exiting cleanly. */
  present: boolean;
  pid: number | null;
  process: 'alive' | 'stopped' | 'dead' | 'none';
  state: string | null;
  until_ms: number | null;
  wait_reason: string | null;
}

export interface Snapshot {
  now: number;
  digest: Digest;
  live: LiveRound | null;
  serve: ServeView;
  service: { mode: string; active: boolean; pid: number | null; uptime_s: number | null };
  halt: { reason: string; ts: string; message: string } | null;
  memory: { total_mb: number; available_mb: number } | null;
  disks: DiskView[];
}

export interface Thresholds {
  window: number;
  rate_threshold: number;
  orphan_chain_threshold: number;
  disk_warning_pct: number;
  disk_critical_pct: number;
  mem_avail_min_mb: number;
  /** 0 disables supervisor_stale. */
  supervisor_stale_threshold_s: number;
  /** hung fires past timeout × hung_factor + kill_grace_s. */
  hung_factor: number;
  kill_grace_s: number;
  smoke_fail_rate: number;
  auth_hint: string;
}

export interface Condition {
  detector: DetectorName;
  /** What the alert is about, stable while the condition lasts ('' for project-wide ones). */
  subject: string;
  severity: Severity;
  message: string;
  context: Record<string, unknown>;
  /** When the newest evidence was written (epoch ms): auto-stop acts only on evidence newer than the service. */
  evidence_ms: number;
}

export type Detector = (s: Snapshot, t: Thresholds) => Condition[];
