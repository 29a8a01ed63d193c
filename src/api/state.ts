import type { Config } from '../config/load.js';
import { buildProjectState, type PeekOptions, type ProjectState } from '../peek/state.js';

/**
 * Everything known about a project right now, read from its state files, events and processes:
 * the document `agent-runner peek --json` prints (schema_version, current round, recent rounds,
 * serve, halt, usage limits). Reading changes nothing.
 */
export function readState(cfg: Config, opts: PeekOptions = {}): Promise<ProjectState> {
  return buildProjectState(cfg, opts);
}
