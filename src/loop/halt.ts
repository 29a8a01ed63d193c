import { rmSync } from 'node:fs';
import { RunnerError } from '../errors.js';
import type { EventSink } from '../events/writer.js';
import { EXIT } from '../exit-codes.js';
import { stateFiles } from '../state/files.js';
import { readJsonFile } from '../state/json-file.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { isoNow } from '../util/time.js';
import { HALTS, type HaltDecision, type HaltReason } from './policy.js';

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

/**
 * The one place a halt becomes durable: the event that announces it, halt.json, then
 * halt_recorded. Returns serve's exit code for it, from the policy's halt table.
 */
export function recordHalt(
  logDir: string,
  events: EventSink,
  h: HaltDecision,
  roundNum: number | null,
  log: (line: string) => void,
  /** Runs with the record right after the announcing event, before the write that can fail. */
  onHalt?: (halt: Halt) => void,
): number {
  const code = HALTS[h.reason].exitCode;
  const halt: Halt = { reason: h.reason, ts: isoNow(), round_num: roundNum, exit_code: code, message: h.message, hint: h.hint };
  if (h.event) events.emit(h.event.kind, h.event.payload);
  onHalt?.(halt);
  try {
    writeHalt(logDir, halt);
  } catch (err) {
    // A full disk can refuse even the halt record; the exit code still says it all.
    log(`could not record the halt in halt.json: ${(err as Error).message}`);
  }
  events.emit('halt_recorded', { reason: h.reason, exit_code: code, round_num: roundNum, hint: h.hint });
  log(`halted (${h.reason}): ${h.message}. ${h.hint}`);
  return code;
}

export function clearHalt(logDir: string): void {
  rmSync(stateFiles(logDir).halt, { force: true });
}

/** The refusal of a verb that would run the agent while a halt is recorded (EXIT.HALTED, with the way out). */
export function haltedError(halt: Halt, override?: string): RunnerError {
  return new RunnerError(
    `halted (${halt.reason}) since ${halt.ts || 'unknown'}: ${halt.message}. ${halt.hint}${halt.hint.includes('agent-runner resume') ? '' : '; then run `agent-runner resume`'}${override ? ` (or ${override})` : ''}`,
    'halted',
    EXIT.HALTED,
  );
}
