import type { Config } from '../config/load.js';
import { eventsFor } from '../events/open.js';
import { clearHalt, readHalt, type Halt } from '../loop/halt.js';
import { resetLoopState } from '../loop/loop-state.js';

/**
 * `resume`: clear a recorded halt and the loop's counters and budgets, so serve may run again.
 * Returns the halt that was cleared (undefined when none stood).
 */
export function resumeProject(cfg: Config): Halt | undefined {
  const halt = readHalt(cfg.paths.logDir);
  clearHalt(cfg.paths.logDir);
  resetLoopState(cfg.paths.logDir);
  const events = eventsFor(cfg);
  if (halt) events.emit('halt_cleared', { reason: halt.reason, since: halt.ts });
  // Whether or not a halt stood: the failures before this are acknowledged (the monitor stops counting them).
  events.emit('resumed', { halt_reason: halt?.reason ?? null, halt_since: halt?.ts ?? null });
  return halt;
}
