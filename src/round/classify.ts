import type { RoundOutcome } from '../events/payloads.js';
import { EXIT } from '../exit-codes.js';
import { signalName, signalOfShellExit } from '../util/signals.js';
import type { TransientClass } from './stream-json.js';

/**
 * How a round ended, decided in one place. `outcome` is ours; `exit_cause` keeps upstream's
 * vocabulary (clean | error | timeout | signal:NAME) for existing jq pipelines.
 */
export type Outcome = RoundOutcome;

export interface ExitFacts {
  exitCode: number | null;
  signal: string | null;
  /** Why we killed it, if we did. */
  killedBy?: 'timeout' | 'idle' | 'grace' | 'interrupt' | undefined;
  oomKilled?: boolean;
  transient?: TransientClass | undefined;
  resultIsError?: boolean;
}

export interface Classification {
  outcome: Outcome;
  exit_cause: string;
  transient?: TransientClass;
  /** Exit code of the `round` verb. */
  roundExitCode: number;
}

export function classify(f: ExitFacts): Classification {
  const outcome = outcomeOf(f);
  const exit_cause =
    f.killedBy === 'timeout' || f.killedBy === 'idle' || f.killedBy === 'grace'
      ? 'timeout'
      : f.signal
        ? `signal:${f.signal}`
        : signalOfShellExit(f.exitCode)
          ? `signal:${signalOfShellExit(f.exitCode)}`
          : f.exitCode === 0
            ? 'clean'
            : 'error';
  // A transient class only explains a round that did not succeed.
  const transient = outcome === 'clean' ? undefined : f.transient;
  return { outcome, exit_cause, ...(transient ? { transient } : {}), roundExitCode: exitCodeFor(outcome, transient) };
}

function outcomeOf(f: ExitFacts): Outcome {
  if (f.killedBy === 'interrupt') return 'interrupted';
  if (f.killedBy === 'grace') return 'grace_kill';
  if (f.killedBy === 'timeout' || f.killedBy === 'idle') return 'timeout';
  if (f.oomKilled) return 'oom';
  if (f.signal) return 'signal';
  // A wrapper shell reports its child's death by signal as 128+N: the same outcome.
  if (signalOfShellExit(f.exitCode)) return 'signal';
  if (f.exitCode === 0) return f.transient || f.resultIsError ? 'error' : 'clean';
  return 'error';
}

function exitCodeFor(outcome: Outcome, transient: TransientClass | undefined): number {
  // The transient class names why an agent *failed*; a round we killed keeps its own code.
  if (outcome === 'error' || outcome === 'signal') {
    if (transient === 'auth_failure') return EXIT.AGENT_AUTH;
    if (transient === 'usage_limit') return EXIT.AGENT_USAGE_LIMIT;
    if (transient === 'network') return EXIT.AGENT_NETWORK;
    if (transient === 'auth_contention') return EXIT.AGENT_AUTH_CONTENTION;
  }
  switch (outcome) {
    case 'clean':
      return EXIT.OK;
    case 'error':
      return EXIT.AGENT_ERROR;
    case 'timeout':
      return EXIT.AGENT_TIMEOUT;
    case 'grace_kill':
      return EXIT.AGENT_GRACE_KILL;
    case 'signal':
      return EXIT.AGENT_SIGNAL;
    case 'oom':
      return EXIT.AGENT_OOM;
    case 'interrupted':
      return EXIT.INTERRUPTED_TERM;
  }
}

export { signalName };
