import type { Config } from '../config/load.js';
import { eventsFor } from '../events/open.js';
import type { EventSink } from '../events/writer.js';
import { EXIT_CODES } from '../exit-codes.js';
import { readHalt, type Halt } from '../loop/halt.js';
import { serve } from '../loop/serve.js';
import { stopSignalOf } from './abort.js';

export interface RunLoopOptions {
  /** Aborting stops the loop as SIGTERM stops `serve`: the running round may finish (at most runtime.stop_drain_s), then it returns. */
  signal?: AbortSignal;
  /** Aborting interrupts the running round at once (as a second SIGTERM does). */
  interrupt?: AbortSignal;
  /** Run one round, then return. */
  once?: boolean;
  /** Return after this many rounds (this call only; runtime.max_rounds is the durable budget). */
  maxRounds?: number;
  /** Where events go; default: the project's events file under log_dir. */
  events?: (cfg: Config) => EventSink;
  /** Progress lines meant for a human; default: none. */
  onLog?: (line: string) => void;
  /** Recorded in serve_started; default: "library". */
  version?: string;
}

export interface LoopResult {
  /** What `agent-runner serve` would exit with (docs/exit-codes.md). */
  exitCode: number;
  /** Its name in the exit code table, e.g. `ok`, `halt_crash_loop`. */
  exitName: string;
  /** The halt recorded in halt.json, when the loop halted for good (cleared by `agent-runner resume`). */
  halt: Halt | undefined;
}

/**
 * The restart loop, as `agent-runner serve` runs it, until stopped, halted or a budget is spent.
 * It installs no signal handler: the caller decides what stops it. A recorded halt that forbids
 * starting at all, or a held lock, throws a RunnerError with its `exitCode`.
 */
export async function runLoop(cfg: Config, opts: RunLoopOptions = {}): Promise<LoopResult> {
  const { control, done } = serve({
    cfg,
    makeEvents: opts.events ?? eventsFor,
    ...(opts.once ? { once: true } : {}),
    ...(opts.maxRounds !== undefined ? { maxRounds: opts.maxRounds } : {}),
    log: opts.onLog ?? (() => {}),
    version: opts.version ?? 'library',
  });
  const stop = () => control.stop(stopSignalOf(opts.signal?.reason));
  // Interrupting is a second stop request: the first one drains, the second ends the round now.
  const interrupt = () => {
    control.stop(stopSignalOf(opts.interrupt?.reason));
    control.stop(stopSignalOf(opts.interrupt?.reason));
  };
  if (opts.signal?.aborted) stop();
  else opts.signal?.addEventListener('abort', stop, { once: true });
  if (opts.interrupt?.aborted) interrupt();
  else opts.interrupt?.addEventListener('abort', interrupt, { once: true });
  try {
    const exitCode = await done;
    return { exitCode, exitName: EXIT_CODES.find((c) => c.code === exitCode)?.name ?? 'unknown', halt: readHalt(cfg.paths.logDir) };
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    opts.interrupt?.removeEventListener('abort', interrupt);
  }
}
