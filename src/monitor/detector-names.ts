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
  'credentials_expiring',
] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

export interface DetectorInfo {
  firesWhen: string;
  /** The evidence that resolves it: an alert resolves at the first poll where its condition no longer holds. */
  resolvesWhen: string;
  severity: 'info' | 'warning' | 'critical';
  /** In the default `auto_stop_on`. */
  autoStopByDefault: boolean;
  context: string[];
}

/** What each detector means, as data: docs/witness.md's detector table is generated from it. */
export const DETECTOR_INFO: Record<DetectorName, DetectorInfo> = {
  timeout_rate: { firesWhen: '≥ `rate_threshold` of the window timed out (hard, idle or post-result timeout)', resolvesWhen: 'fewer than `rate_threshold` of the last `window` exits timed out: newer rounds push the timeouts out of the window', severity: 'warning', autoStopByDefault: false, context: ['timed_out', 'rounds', 'rate', 'threshold', 'window', 'last_round'] },
  hung: { firesWhen: 'the live round has run longer than `hung_factor` (1.5) × its timeout (phase override included) + `kill_grace_s`', resolvesWhen: 'the live round ends, or is within its limits again', severity: 'warning', autoStopByDefault: false, context: ['round_num', 'phase', 'elapsed_s', 'threshold_s', 'supervisor', 'supervisor_pid', 'agent_pid', 'agent_alive'] },
  orphan_chain: { firesWhen: '≥ `orphan_chain_threshold` (3) rounds in a row ended with uncommitted work', resolvesWhen: 'a round ends with nothing left uncommitted (the streak is broken)', severity: 'warning', autoStopByDefault: false, context: ['streak', 'threshold', 'last_round'] },
  disk_warning: { firesWhen: "a filesystem (log_dir's or work_dir's), sampled now, is ≥ `host_health.disk_warning_pct` (90) and below critical", resolvesWhen: 'the filesystem, sampled at a poll, is below `disk_warning_pct` (or reaches critical: `disk_critical` takes over)', severity: 'warning', autoStopByDefault: false, context: ['value', 'threshold', 'label', 'path', 'free_gb'] },
  disk_critical: { firesWhen: 'a filesystem, sampled now, is ≥ `host_health.disk_critical_pct` (95)', resolvesWhen: 'the filesystem, sampled at a poll, is below `disk_critical_pct`', severity: 'critical', autoStopByDefault: true, context: ['value', 'threshold', 'label', 'path', 'free_gb'] },
  mem_pressure: { firesWhen: 'MemAvailable, sampled now, < `host_health.mem_avail_min_mb` (200)', resolvesWhen: 'MemAvailable, sampled at a poll, is back at or above `mem_avail_min_mb`', severity: 'warning', autoStopByDefault: false, context: ['value', 'threshold', 'total_mb'] },
  smoke_fail_rate: { firesWhen: '≥ `smoke_fail_rate` (10 %) of the last `window` start attempts (rounds started plus startup checks that refused to start one) failed a startup check', resolvesWhen: 'fewer than `smoke_fail_rate` of the last `window` start attempts failed a startup check', severity: 'warning', autoStopByDefault: false, context: ['failures', 'attempts', 'window', 'threshold', 'last_check'] },
  oauth_fail: { firesWhen: '≥ `rate_threshold` of the window failed to authenticate (counting only failures after the newest round that authenticated and the newest `resume`), or serve halted on an auth failure that is the latest exit', resolvesWhen: 'a later round authenticated (it ended without an auth or network failure), or `agent-runner resume` acknowledged the failures before it (the `resumed` event); otherwise when the failures leave the window', severity: 'critical', autoStopByDefault: true, context: ['matches', 'rounds', 'window', 'threshold', 'last_round', 'halted', 'hint'] },
  network_fail: { firesWhen: '≥ `rate_threshold` of the window failed on network or upstream server errors (counting only failures after the newest `resume`)', resolvesWhen: "fewer than `rate_threshold` of the window's exits since the newest `agent-runner resume` failed on the network", severity: 'warning', autoStopByDefault: false, context: ['matches', 'rounds', 'window', 'threshold', 'last_round', 'hint'] },
  rate_limit_active: { firesWhen: 'serve waits out a usage limit, or the agent reported one whose reset is ahead', resolvesWhen: 'the wait ends, a round ends clean, or the reported reset time passes', severity: 'info', autoStopByDefault: false, context: ['throttled_until_iso', 'classification', 'agent', 'source'] },
  anomaly_repetitive_active: { firesWhen: 'one of the newest 5 rounds reported a stuck tool loop (`anomaly_repetitive_tool`: one tool on one target `anomaly_repetitive_threshold` times within `anomaly_repetitive_window` calls; off while either is 0)', resolvesWhen: 'none of the newest 5 rounds reported a stuck tool loop', severity: 'warning', autoStopByDefault: false, context: ['count', 'window_rounds', 'latest_tool', 'latest_target', 'latest_round', 'events'] },
  no_progress: { firesWhen: 'the newest `no_progress_rounds` (3; 0 disables) finished rounds in a row ended clean but changed nothing (verdict `no_op`: HEAD did not move, no file changed)', resolvesWhen: 'a finished round changed something (a new commit or a changed file), breaking the streak', severity: 'warning', autoStopByDefault: false, context: ['streak', 'threshold', 'last_round', 'tokens'] },
  credentials_expiring: { firesWhen: "the agent's stored login (claude `.credentials.json` `expiresAt`, codex `auth.json` access-token `exp`) expires within 24 h: warning; already expired: critical (serve halts before its next round; list it in `auto_stop_on` to stop the service at once). A login with a stored refresh token renews itself, so its access token's expiry never fires it", resolvesWhen: 'the login is renewed: the stored expiry is more than 24 h ahead again (or the file is gone)', severity: 'critical', autoStopByDefault: false, context: ['cli', 'file', 'expires_at_iso', 'hours_left', 'expired', 'hint'] },
  supervisor_stale: { firesWhen: 'no event from round or serve for `supervisor_stale_threshold_s` (default 1.5 × `round_timeout_s`; 0 disables) while serve is supposed to run', resolvesWhen: 'round or serve writes an event again, serve stops cleanly, or a halt is recorded', severity: 'warning', autoStopByDefault: false, context: ['age_s', 'threshold_s', 'last_ts', 'last_event', 'serve_pid', 'serve_process'] },
};
