import type { Config } from '../../config/load.js';
import type { EventSink } from '../../events/writer.js';
import type { StateFiles } from '../../state/files.js';
import type { Status } from '../../state/status.js';
import type { Lock } from '../lock.js';
import type { RoundOptions } from '../round.js';

/**
 * One round, as its steps share it: prepare fills it in, spawn → supervise → settle → record read
 * it. What a step learns beyond this (the child, how it ended, the record) it returns to the next.
 */
export interface RoundContext {
  readonly opts: RoundOptions;
  readonly cfg: Config;
  readonly events: EventSink;
  /** The project lock: its helper pids are never the round's to kill. */
  readonly lock: Lock;
  readonly files: StateFiles;
  /** kill_grace_s, in ms: TERM → this long → KILL. */
  readonly graceMs: number;
  readonly roundNum: number;
  readonly phase: string | undefined;
  readonly phaseIndex: number | undefined;
  /** The hard timeout for this round's phase. */
  readonly timeoutS: number;
  readonly startedMs: number;
  readonly startedAt: string;
  /** status.json as the previous round left it. */
  readonly prev: Status | undefined;
  /** The assembled prompt (context block included when prepended). */
  readonly prompt: string;
  /** The agent's argv, before isolation wraps it. */
  readonly argv: string[];
  readonly env: NodeJS.ProcessEnv;
  /** rounds/R<N>-<UTC time>.log */
  readonly logPath: string;
  /** The value of AGENT_RUNNER_ROUND_ID: how escaped descendants are found. */
  readonly marker: string;
  /** What the agent CLI's `--version` said (cached per binary), null when unknown. */
  readonly agentVersion: string | null;
  /** The first state or event write that failed (disk full, I/O error), if any. */
  stateError?: { code: string; message: string };
}

/**
 * Runs a state write whose failure (a full disk) must not break the round: the first failure is
 * kept in the context, and serve halts on it once the round's processes are gone.
 */
export function bestEffort(ctx: RoundContext, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    ctx.stateError ??= { code: (err as NodeJS.ErrnoException).code ?? 'EIO', message: (err as Error).message };
  }
}

/** agent.name, else the command's first word: how events name the agent. */
export function agentName(cfg: Config): string | null {
  return cfg.agent.name ?? cfg.agent.command[0] ?? null;
}
