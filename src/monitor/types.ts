/**
 * PURE types shared by the detectors, the probe and the monitor. A detector sees one Snapshot
 * (everything sampled at one instant) and the thresholds from config, and returns conditions.
 */
import type { DetectorName } from './detector-names.js';
import type { HistoryLog } from '../history/log.js';
import type { LiveRound, ServeView, UsageLimitView } from '../history/model.js';

export type { LiveRound, ServeView, UsageLimitView };

export type Severity = 'info' | 'warning' | 'critical';

export interface DiskView {
  /** Which configured directory lives on this filesystem: log_dir, work_dir or both. */
  label: string;
  path: string;
  used_pct: number;
  free_gb: number;
  total_gb: number;
}

export interface Snapshot {
  now: number;
  /** The events' fold (history/log.ts). */
  digest: HistoryLog;
  live: LiveRound | null;
  serve: ServeView;
  /** A usage limit in force now (history/model.ts decides it, for every view alike). */
  usage_limit: UsageLimitView | null;
  service: { mode: string; active: boolean; pid: number | null; uptime_s: number | null };
  /** hint: what to do about it (a remote probe of an older release leaves it out). */
  halt: { reason: string; ts: string; message: string; hint?: string } | null;
  memory: { total_mb: number; available_mb: number } | null;
  disks: DiskView[];
  /** The agent's stored login, when its CLI keeps one we can read (only the expiry, never the token). */
  login: { cli: string; file: string; expires_at_ms: number; renewable: boolean } | null;
}

export interface Thresholds {
  window: number;
  rate_threshold: number;
  orphan_chain_threshold: number;
  /** no_progress: rounds in a row with the verdict no_op; 0 disables. */
  no_progress_rounds: number;
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
