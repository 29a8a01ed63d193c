import type { DetectorName } from '../detector-names.js';
import type { Condition, Detector, Snapshot, Thresholds } from '../types.js';
import { annotateCliChange } from './cli-change.js';
import { credentialsExpiring } from './credentials.js';
import { disk, memPressure } from './host.js';
import { networkFail, oauthFail, timeoutRate } from './rates.js';
import { anomalyRepetitiveActive, hung, orphanChain, smokeFailRate } from './rounds.js';
import { noProgress } from './progress.js';
import { rateLimitActive, supervisorStale } from './supervisor.js';

/** Every detector, in upstream's order. disk covers disk_warning and disk_critical. */
export const DETECTORS: readonly Detector[] = [timeoutRate, hung, orphanChain, disk, memPressure, smokeFailRate, oauthFail, networkFail, rateLimitActive, anomalyRepetitiveActive, supervisorStale, noProgress, credentialsExpiring];

/**
 * Detectors that may not stop the service even when listed in monitor.auto_stop_on: staleness is
 * by definition a verdict on old data, and a usage-limit wait is serve doing its job.
 */
export const NEVER_AUTO_STOP: ReadonlySet<DetectorName> = new Set(['supervisor_stale', 'rate_limit_active']);

export function runDetectors(s: Snapshot, t: Thresholds): Condition[] {
  return annotateCliChange(DETECTORS.flatMap((d) => d(s, t)), s, t);
}
