import type { Config } from '../config/load.js';
import type { ProjectHistory } from '../history/model.js';
import { readProjectHistory } from '../history/read.js';

/**
 * The project's history as every view of it shows it (peek, status, probe, the monitor, watch):
 * the live round, the last rounds with their outcome, duration, cost, tokens and commits, serve's
 * wait, the usage limit in force, the halt, today's spend and the counters. One fold over the
 * events plus the state files; it reads from the end of the events, so its cost does not grow with
 * the history. Reading changes nothing.
 */
export function readHistory(cfg: Config, opts: { rounds?: number; now?: number } = {}): ProjectHistory {
  return readProjectHistory(cfg, opts).history;
}
