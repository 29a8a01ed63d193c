import { join } from 'node:path';
import { compactUtc } from '../util/time.js';

/** Every file agent-runner keeps under log_dir, named once. */
export const stateFiles = (logDir: string) => ({
  status: join(logDir, 'status.json'),
  counter: join(logDir, 'round-counter.json'),
  context: join(logDir, 'round-context.json'),
  orphan: join(logDir, 'orphan-state.json'),
  halt: join(logDir, 'halt.json'),
  servePid: join(logDir, 'serve.pid'),
  serveState: join(logDir, 'serve-state.json'),
  rounds: join(logDir, 'rounds'),
  lock: join(logDir, 'agent-runner.lock'),
  monitorState: join(logDir, 'monitor-state.json'),
  archive: join(logDir, 'archive'),
});

export type StateFiles = ReturnType<typeof stateFiles>;

/** Where serve archives the agent's done sentinel: `archive/agent-done-<UTC time>`. */
export function doneArchivePath(logDir: string, nowMs: number): string {
  return join(stateFiles(logDir).archive, `agent-done-${compactUtc(nowMs)}`);
}
