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
  'supervisor_stale',
] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];
