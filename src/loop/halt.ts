import { rmSync } from 'node:fs';
import { stateFiles } from '../state/files.js';
import { readJsonFile } from '../state/json-file.js';
import { RunnerError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import type { HaltReason } from './policy.js';

export type { HaltReason };

/**
 * halt.json: a terminal state that survives restarts. serve refuses to run while it exists, so
 * neither a service manager nor a reboot can undo a halt; `agent-runner resume` clears it.
 */
export interface Halt {
  reason: HaltReason;
  ts: string;
  round_num: number | null;
  exit_code: number;
  message: string;
  hint: string;
}

export function readHalt(logDir: string): Halt | undefined {
  const r = readJsonFile<Halt>(stateFiles(logDir).halt);
  if (r.kind === 'ok') return r.value;
  // A torn halt file is still a halt: refusing to run is the safe reading.
  if (r.kind === 'corrupt') return { reason: 'config_broken', ts: '', round_num: null, exit_code: EXIT.HALTED, message: `halt.json is unreadable: ${r.error}`, hint: 'inspect it, then `agent-runner resume`' };
  return undefined;
}

export function writeHalt(logDir: string, halt: Halt): void {
  writeJsonAtomic(stateFiles(logDir).halt, halt);
}

export function clearHalt(logDir: string): void {
  rmSync(stateFiles(logDir).halt, { force: true });
}

/** The refusal of a verb that would run the agent while a halt is recorded (exit 85, with the way out). */
export function haltedError(halt: Halt, override?: string): RunnerError {
  return new RunnerError(
    `halted (${halt.reason}) since ${halt.ts || 'unknown'}: ${halt.message}. ${halt.hint}; then run \`agent-runner resume\`${override ? ` (or ${override})` : ''}`,
    'halted',
    EXIT.HALTED,
  );
}
