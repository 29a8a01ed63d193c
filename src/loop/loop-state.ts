import { rmSync } from 'node:fs';
import { stateFiles } from '../state/files.js';
import { readJsonOr } from '../state/json-file.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import type { LoopCounters } from './policy.js';

/**
 * loop-state.json: what must survive a restart of serve — the crash-loop and auth counters (so a
 * service manager restarting a crashing supervisor cannot reset the breaker) and the budgets spent
 * since the last `resume`.
 */
export interface LoopState extends LoopCounters {
  budget_started_at: string;
  rounds: number;
  cost_usd: number;
}

const file = (logDir: string) => stateFiles(logDir).loopState;

export function readLoopState(logDir: string, nowIso: string): LoopState {
  const s = readJsonOr<Partial<LoopState>>(file(logDir));
  return {
    consecutive_failures: num(s?.consecutive_failures),
    consecutive_auth: num(s?.consecutive_auth),
    consecutive_contention: num(s?.consecutive_contention),
    consecutive_idle: num(s?.consecutive_idle),
    backoff: s?.backoff && typeof s.backoff === 'object' ? s.backoff : {},
    budget_started_at: typeof s?.budget_started_at === 'string' ? s.budget_started_at : nowIso,
    rounds: num(s?.rounds),
    cost_usd: typeof s?.cost_usd === 'number' ? s.cost_usd : 0,
  };
}

export function writeLoopState(logDir: string, s: LoopState): void {
  writeJsonAtomic(file(logDir), s);
}

export function resetLoopState(logDir: string): void {
  rmSync(file(logDir), { force: true });
}

const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : 0);
