/** The detector names, in one place so the config schema can validate `auto_stop_on`. */
export const DETECTOR_NAMES = [
  'timeout_rate',
  'hung',
  'orphan_chain',
  'disk_warning',
  'disk_critical',
  'mem_pressure',
  'smoke_fail_rate',
  'oauth_fail',
  'network_fail',
  'rate_limit_active',
  'anomaly_repetitive_active',
  'supervisor_stale',
  'no_progress',
] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

export interface DetectorInfo {
  firesWhen: string;
  severity: 'info' | 'warning' | 'critical';
  /** In the default `auto_stop_on`. */
  autoStopByDefault: boolean;
  context: string[];
}

/** What each detector means, as data: docs/witness.md's detector table is generated from it. */
export const DETECTOR_INFO: Record<DetectorName, DetectorInfo> = {
  timeout_rate: { firesWhen: '≥ `rate_threshold` of the window timed out (hard, idle or post-result timeout)', severity: 'warning', autoStopByDefault: false, context: ['timed_out', 'rounds', 'rate', 'threshold', 'window', 'last_round'] },
  hung: { firesWhen: 'the live round has run longer than `hung_factor` (1.5) × its timeout (phase override included) + `kill_grace_s`', severity: 'warning', autoStopByDefault: false, context: ['round_num', 'phase', 'elapsed_s', 'threshold_s', 'supervisor', 'supervisor_pid', 'agent_pid', 'agent_alive'] },
  orphan_chain: { firesWhen: '≥ `orphan_chain_threshold` (3) rounds in a row ended with uncommitted work', severity: 'warning', autoStopByDefault: false, context: ['streak', 'threshold', 'last_round'] },
  disk_warning: { firesWhen: "a filesystem (log_dir's or work_dir's), sampled now, is ≥ `host_health.disk_warning_pct` (90) and below critical", severity: 'warning', autoStopByDefault: false, context: ['value', 'threshold', 'label', 'path', 'free_gb'] },
  disk_critical: { firesWhen: 'a filesystem, sampled now, is ≥ `host_health.disk_critical_pct` (95)', severity: 'critical', autoStopByDefault: true, context: ['value', 'threshold', 'label', 'path', 'free_gb'] },
  mem_pressure: { firesWhen: 'MemAvailable, sampled now, < `host_health.mem_avail_min_mb` (200)', severity: 'warning', autoStopByDefault: false, context: ['value', 'threshold', 'total_mb'] },
  smoke_fail_rate: { firesWhen: '≥ `smoke_fail_rate` (10 %) of the last `window` start attempts (rounds started plus startup checks that refused to start one) failed a startup check', severity: 'warning', autoStopByDefault: false, context: ['failures', 'attempts', 'window', 'threshold', 'last_check'] },
  oauth_fail: { firesWhen: '≥ `rate_threshold` of the window failed to authenticate, or serve halted on an auth failure that is the latest exit', severity: 'critical', autoStopByDefault: true, context: ['matches', 'rounds', 'window', 'threshold', 'last_round', 'halted', 'hint'] },
  network_fail: { firesWhen: '≥ `rate_threshold` of the window failed on network or upstream server errors', severity: 'warning', autoStopByDefault: false, context: ['matches', 'rounds', 'window', 'threshold', 'last_round', 'hint'] },
  rate_limit_active: { firesWhen: 'serve waits out a usage limit, or the agent reported one whose reset is ahead', severity: 'info', autoStopByDefault: false, context: ['throttled_until_iso', 'classification', 'agent', 'source'] },
  anomaly_repetitive_active: { firesWhen: 'one of the newest 5 rounds reported a stuck tool loop (`anomaly_repetitive_tool`: one tool on one target `anomaly_repetitive_threshold` times within `anomaly_repetitive_window` calls; off while either is 0)', severity: 'warning', autoStopByDefault: false, context: ['count', 'window_rounds', 'latest_tool', 'latest_target', 'latest_round', 'events'] },
  no_progress: { firesWhen: 'the newest `no_progress_rounds` (3; 0 disables) finished rounds in a row ended clean but changed nothing (verdict `no_op`: HEAD did not move, no file changed)', severity: 'warning', autoStopByDefault: false, context: ['streak', 'threshold', 'last_round', 'tokens'] },
  supervisor_stale: { firesWhen: 'no event from round or serve for `supervisor_stale_threshold_s` (default 1.5 × `round_timeout_s`; 0 disables) while serve is supposed to run', severity: 'warning', autoStopByDefault: false, context: ['age_s', 'threshold_s', 'last_ts', 'last_event', 'serve_pid', 'serve_process'] },
};
