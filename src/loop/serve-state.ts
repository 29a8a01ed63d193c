import { rmSync } from 'node:fs';
import type { WaitReason } from '../events/payloads.js';
import { stateFiles } from '../state/files.js';
import { readJsonOr } from '../state/json-file.js';
import { writeJsonAtomic } from '../util/atomic-write.js';

/**
 * serve-state.json: what the loop is doing right now, for peek/status/monitor: running a round,
 * or waiting (and until when, and why), or stopping. Written on every transition.
 */
export interface ServeState {
  pid: number;
  start_time?: number;
  started_at: string;
  state: 'starting' | 'running_round' | 'waiting' | 'stopping';
  round_num?: number;
  /** For waits: ISO time the wait ends, and why. */
  until?: string;
  wait_reason?: WaitReason;
  rounds_completed: number;
  consecutive_failures: number;
  cost_usd: number;
  updated_at: string;
}

export function readServeState(logDir: string): ServeState | undefined {
  return readJsonOr<ServeState>(stateFiles(logDir).serveState);
}

export function writeServeState(logDir: string, s: ServeState): void {
  writeJsonAtomic(stateFiles(logDir).serveState, s);
}

export function clearServeState(logDir: string): void {
  rmSync(stateFiles(logDir).serveState, { force: true });
}
