/**
 * PURE: how a finished round is told — the facts the steps gathered in, the events and the final
 * status.json out. No clock, no I/O: `endedAt` and every count come from the caller, so each
 * outcome is testable with plain objects (test/unit/round-translate.test.ts).
 */
import type { PendingEvent, RoundVerdict, VerdictEvidence } from '../events/payloads.js';
import { EXIT } from '../exit-codes.js';
import type { Status } from '../state/status.js';
import { signalNumber } from '../util/signals.js';
import { classify, type Classification } from './classify.js';
import type { StreamState, TransientSignal } from './stream-json.js';
import type { SuperviseResult } from './supervise.js';
import { judgeRound } from './verdict.js';

/** What the agent's output said, as far as the round's record needs it. */
export type StreamFacts = Pick<StreamState, 'structured' | 'resultSeen' | 'resultIsError' | 'toolCalls' | 'costUsd' | 'model' | 'usage' | 'durationMs' | 'transient'> &
  Partial<Pick<StreamState, 'failureLine' | 'rateLimit'>>;

export interface RoundFacts {
  roundNum: number;
  phase: string | undefined;
  phaseIndex: number | undefined;
  /** agent.name, else the command's first word. */
  agent: string | null;
  timeoutS: number;
  idleTimeoutS: number;
  graceAfterResultS: number;
  /** How the agent's tree ended (superviseAgent's answer). */
  exit: SuperviseResult;
  durationS: number;
  /** When supervision ended: status.json's last_completed_at. */
  endedAt: string;
  /**
   * OOM kills: the round's own cgroup's count, and the service cgroup's before and after the
   * round (undefined where it cannot be read).
   */
  oom: { inRound: number; serviceBefore: number | undefined; serviceAfter: number | undefined };
  stream: StreamFacts;
  /** The classification of the agent's last lines, read only when needsTextFallback() said so. */
  textTransient?: TransientSignal | undefined;
  /** git status after the round (agent-runner's own files excluded). */
  dirtyFiles: string[];
  /** Commits the agent added to HEAD (null: cannot tell). */
  commits: number | null;
  /** HEAD differs from before the round (null: cannot tell). */
  headMoved?: boolean | null;
  /** The line that told the failure, else the agent's last line (redacted): quoted when a failure matches no known shape. */
  lastLine?: string | undefined;
  /** The snapshot of the user's work taken before the agent ran, when there was one. */
  worktreeSnapshot?: string | undefined;
  logPath: string;
  /** The agent CLI's version for this round (null: unknown). */
  agentVersion?: string | null;
}

/** A round's record, in the order the round writes it. */
export interface RoundRecord {
  classification: Classification;
  /** The transient signal that explains a round that did not end clean. */
  transient?: TransientSignal;
  /** agent_exit, then round_interrupted, transient_error_detected, agent_network_blip, agent_usage_recorded, unrecognized_failure. */
  exitEvents: PendingEvent[];
  /** dirty_detected when the tree is dirty; the preservation's own events follow it. */
  dirtyEvent?: PendingEvent;
  /** round_grace_kill or round_timeout_kill, when the round was killed for it. */
  killEvents: PendingEvent[];
  /** status.json once the round is over. */
  status: Status;
  /** round_end: the round's terminal record, written after status.json. */
  endEvent: PendingEvent;
  commits: number | null;
  verdict: RoundVerdict;
}

/**
 * Whether the agent's last lines must be read for a transient signal: only when its output had no
 * structure to read one from, we did not interrupt it, and it failed or did nothing. An agent that
 * prints its provider's errors as text can exit 0 after giving up (aider); one that did work may
 * have printed a limit it then recovered from, which is no reason to call the round limited.
 */
export function needsTextFallback(exit: SuperviseResult, stream: StreamFacts, didWork: boolean): boolean {
  if (stream.transient || stream.structured || exit.killedBy !== undefined) return false;
  return exit.exitCode !== 0 || exit.spawnError !== undefined || (exit.signal === null && !didWork);
}

export function translateRound(f: RoundFacts): RoundRecord {
  const { exit, stream, roundNum } = f;
  const { exitCode, signal, killedBy } = exit;
  const killMs = exit.killMs ?? null;
  const classification = classify({
    exitCode,
    signal,
    killedBy,
    // The round's own cgroup counts only its own OOM kills, whichever process the kernel chose;
    // without one, the service cgroup's count can only speak for a leader killed by SIGKILL.
    oomKilled:
      !killedBy &&
      (f.oom.inRound > 0 || (signal === 'SIGKILL' && f.oom.serviceBefore !== undefined && f.oom.serviceAfter !== undefined && f.oom.serviceAfter > f.oom.serviceBefore)),
    transient: (stream.transient ?? f.textTransient)?.classification,
    resultIsError: stream.resultSeen && stream.resultIsError,
  });
  // A transient signal only explains a round that did not succeed.
  const transient = classification.outcome === 'clean' ? undefined : (stream.transient ?? f.textTransient);
  if (exit.interruptedBy) classification.roundExitCode = interruptedExitCode(exit.interruptedBy);

  // A death by signal is reported as minus the signal's number, as a shell would not.
  const exitCodeForEvent = exitCode ?? (signal ? -(signalNumber(signal) ?? 0) : null);
  const exitEvents: PendingEvent[] = [
    {
      kind: 'agent_exit',
      payload: {
        round_num: roundNum,
        exit_code: exitCodeForEvent,
        signal,
        duration_s: f.durationS,
        timed_out: killedBy === 'timeout' || killedBy === 'idle' || killedBy === 'grace',
        exit_cause: classification.exit_cause,
        outcome: classification.outcome,
        transient: classification.transient ?? null,
        reset_at_epoch: transient?.reset_at_epoch ?? null,
        leftovers_killed: exit.leftoversKilled,
        tool_calls: stream.toolCalls,
        cost_usd: stream.costUsd ?? null,
        ...(exit.spawnError ? { error: exit.spawnError } : {}),
      },
    },
  ];
  if (exit.interruptedBy) exitEvents.push({ kind: 'round_interrupted', payload: { round_num: roundNum, signal: exit.interruptedBy, kill_ms: killMs } });
  if (transient) {
    exitEvents.push({
      kind: 'transient_error_detected',
      payload: { round_num: roundNum, classification: transient.classification, agent: f.agent, reset_at_epoch: transient.reset_at_epoch ?? null, raw: transient.raw },
    });
    if (transient.classification === 'network' && !signal) {
      exitEvents.push({
        kind: 'agent_network_blip',
        payload: {
          round_num: roundNum,
          phase: f.phase ?? null,
          matched: transient.raw.slice(0, 200),
          round_duration_s: f.durationS,
          exit_code: exitCodeForEvent,
          timed_out: killedBy === 'timeout',
        },
      });
    }
  }
  if (stream.resultSeen && (stream.usage || stream.costUsd !== undefined)) {
    exitEvents.push({
      kind: 'agent_usage_recorded',
      payload: {
        round_num: roundNum,
        agent: f.agent,
        model: stream.model ?? 'unknown',
        input_tokens: stream.usage?.input_tokens ?? 0,
        output_tokens: stream.usage?.output_tokens ?? 0,
        cached_tokens: stream.usage?.cached_tokens ?? 0,
        cost_usd: stream.costUsd ?? null,
        duration_ms: stream.durationMs ?? Math.round(f.durationS * 1000),
        tool_call_count: stream.toolCalls,
        phase: f.phase ?? null,
        success: !stream.resultIsError,
      },
    });
  }

  const evidence: VerdictEvidence = {
    head_moved: f.headMoved ?? null,
    commits: f.commits,
    files_changed: f.dirtyFiles.length,
    tokens: stream.usage ? stream.usage.input_tokens + stream.usage.output_tokens : null,
    is_error: stream.resultSeen && stream.resultIsError,
    exit_code: exitCodeForEvent,
  };
  const verdict = judgeRound({ outcome: classification.outcome, transient: classification.transient, evidence });
  // A failure no known shape explains: quote it, so a changed CLI format is noticed, not misread.
  if (classification.outcome === 'error' && !transient && !exit.spawnError) {
    const sample = (f.lastLine ?? stream.failureLine ?? '').slice(0, 300);
    exitEvents.push({ kind: 'unrecognized_failure', payload: { round_num: roundNum, agent: f.agent, outcome: classification.outcome, exit_code: exitCodeForEvent, sample } });
  }

  const killEvents: PendingEvent[] = [];
  if (killedBy === 'grace') {
    killEvents.push({ kind: 'round_grace_kill', payload: { round_num: roundNum, grace_s: f.graceAfterResultS, live_children: exit.liveChildrenAtGrace.slice(0, 5), kill_ms: killMs } });
  } else if (killedBy === 'timeout' || killedBy === 'idle') {
    const reason = killedBy === 'idle' ? `no output for idle_timeout_s=${f.idleTimeoutS}` : `exceeded round_timeout_s=${f.timeoutS}`;
    killEvents.push({ kind: 'round_timeout_kill', payload: { round_num: roundNum, reason, kill_ms: killMs } });
  }

  return {
    classification,
    ...(transient ? { transient } : {}),
    exitEvents,
    ...(f.dirtyFiles.length
      ? { dirtyEvent: { kind: 'dirty_detected', payload: { round_num: roundNum, files: f.dirtyFiles.slice(0, 20), outcome: classification.outcome } } satisfies PendingEvent }
      : {}),
    killEvents,
    // writeStatus drops undefined fields: a round without phases simply has none.
    status: {
      round_num: roundNum,
      current_phase: f.phase,
      phase_index: f.phaseIndex,
      running: false,
      last_completed_at: f.endedAt,
      last_exit_code: exitCodeForEvent,
      last_duration_s: f.durationS,
      last_outcome: classification.outcome,
      last_verdict: verdict,
      ...(classification.transient ? { last_transient: classification.transient } : {}),
      last_dirty_files: f.dirtyFiles.slice(0, 20),
      last_log_path: f.logPath,
      ...(f.worktreeSnapshot ? { last_worktree_snapshot: f.worktreeSnapshot } : {}),
      ...(f.agentVersion ? { agent_version: f.agentVersion } : {}),
    },
    endEvent: { kind: 'round_end', payload: { round_num: roundNum, outcome: classification.outcome, duration_s: f.durationS, commits: f.commits, verdict, evidence } },
    commits: f.commits,
    verdict,
  };
}

/** `round`'s exit code after a signal interrupted it: 128 + the signal's number, as a shell reports it. */
function interruptedExitCode(signal: string): number {
  if (signal === 'SIGHUP') return EXIT.INTERRUPTED_HUP;
  if (signal === 'SIGINT') return EXIT.INTERRUPTED_INT;
  return EXIT.INTERRUPTED_TERM;
}
