import { writeJsonAtomic } from '../util/atomic-write.js';
import { stateFiles } from './files.js';
import { readJsonFile, type ReadResult } from './json-file.js';

/**
 * status.json: upstream's fields (round_num, running, last_*, current_phase, phase_index), written
 * at spawn with running=true and the live round's identity (pid, pgid, start time, marker), so
 * peek sees the running round and a successor can recover a round whose supervisor died.
 */
export interface Status {
  round_num: number;
  running: boolean;
  current_phase?: string;
  phase_index?: number;
  // live round (running = true)
  /** The work tree before the round, as trees (and the snapshot commit when it was dirty); see round/dirty.ts. */
  worktree_before?: Record<string, string | null>;
  pid?: number;
  pgid?: number;
  start_time?: number;
  started_at?: string;
  log_path?: string;
  round_marker?: string;
  supervisor_pid?: number;
  supervisor_start_time?: number;
  /** The round's own cgroup2 directory and v1 directories, for a successor to kill and remove. */
  cgroup?: string;
  cgroup_v1?: string[];
  // last completed round
  last_completed_at?: string;
  last_exit_code?: number | null;
  last_duration_s?: number;
  last_outcome?: string;
  /** productive | no_op | limited | auth_failed | failed | timeout (src/round/verdict.ts). */
  last_verdict?: string;
  last_transient?: string;
  last_dirty_files?: string[];
  last_log_path?: string;
  /** The last round's snapshot of uncommitted work taken before it ran (refs/agent-runner/orphans/R<N>-before). */
  last_worktree_snapshot?: string;
  /** The agent CLI's version the last round ran with (`--version`, cached per binary). */
  agent_version?: string;
}

export function readStatus(logDir: string): ReadResult<Status> {
  return readJsonFile<Status>(stateFiles(logDir).status);
}

export function writeStatus(logDir: string, status: Status): void {
  const clean = Object.fromEntries(Object.entries(status).filter(([, v]) => v !== undefined));
  writeJsonAtomic(stateFiles(logDir).status, clean);
}
