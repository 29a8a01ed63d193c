import type { Config } from '../config/load.js';
import { eventsFor } from '../events/open.js';
import type { EventSink } from '../events/writer.js';
import { runRound as runRoundInternal, type RoundResult } from '../round/round.js';
import { namedAbort } from './abort.js';

export interface RunRoundOptions {
  /** A one-off phase from phases.list; the rotation is not advanced. */
  phase?: string;
  /** Aborting stops the agent's whole tree (TERM, kill_grace_s, KILL); the round is still recorded. */
  signal?: AbortSignal;
  /** Where events go; default: the project's events file under log_dir. */
  events?: EventSink;
  /** Progress lines meant for a human; default: none. */
  onLog?: (line: string) => void;
}

/**
 * One round, as `agent-runner round` runs it: startup checks, the project lock, the agent under its
 * timeouts, classification, dirty work preserved. What the agent did is in the result (its
 * `classification.roundExitCode` is the CLI's exit code); only what stops a round from starting
 * (a broken config or startup check, a held lock) throws, as a RunnerError with an `exitCode`.
 */
export async function runRound(cfg: Config, opts: RunRoundOptions = {}): Promise<RoundResult> {
  const interrupt = namedAbort(opts.signal);
  return runRoundInternal({
    cfg,
    events: opts.events ?? eventsFor(cfg),
    phase: opts.phase,
    ...(interrupt ? { interrupt } : {}),
    ...(opts.onLog ? { log: opts.onLog } : {}),
  });
}
