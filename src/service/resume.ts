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
  if (halt) eventsFor(cfg).emit('halt_cleared', { reason: halt.reason, since: halt.ts });
  return halt;
}
