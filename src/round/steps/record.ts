import type { Config } from '../../config/load.js';
import { appendMetrics } from '../../metrics/writer.js';
import { writeStatus } from '../../state/status.js';
import type { RoundResult } from '../round.js';
import { pruneRoundLogs } from '../retention.js';
import { bestEffort, type RoundContext } from './context.js';
import type { SettledRound } from './settle.js';
import type { SupervisedRound } from './supervise.js';

/**
 * Step 11: the final status.json, then round_end (the round's terminal record), then retention;
 * a failed write is reported in the result, where serve halts on it.
 */
export function recordRound(ctx: RoundContext, sup: SupervisedRound, settled: SettledRound): RoundResult {
  const { cfg, events, roundNum } = ctx;
  const { record } = settled;
  bestEffort(ctx, () => writeStatus(cfg.paths.logDir, record.status));
  safeMetrics(cfg, 'round_end', { round_num: roundNum, phase: ctx.phase ?? null, agent_process_count: 0 });
  events.emit(record.endEvent.kind, record.endEvent.payload);
  bestEffort(ctx, () => pruneRoundLogs(ctx.files.rounds, cfg.runtime.round_log_retention, ctx.logPath));
  const evErr = events.writeError as NodeJS.ErrnoException | undefined;
  if (!ctx.stateError && evErr) ctx.stateError = { code: evErr.code ?? 'EIO', message: evErr.message };

  const { stream } = settled;
  return {
    roundNum,
    phase: ctx.phase,
    startedAt: ctx.startedAt,
    endedAt: sup.endedAt,
    exitCode: sup.exit.exitCode,
    signal: sup.exit.signal,
    durationS: sup.durationS,
    classification: record.classification,
    verdict: record.verdict,
    ...(record.transient ? { transient: record.transient } : {}),
    logPath: ctx.logPath,
    dirtyFiles: settled.dirtyFiles,
    ...(settled.dirty ? { dirty: settled.dirty } : {}),
    leftoversKilled: sup.exit.leftoversKilled,
    ...(stream.costUsd !== undefined ? { costUsd: stream.costUsd } : {}),
    toolCalls: stream.toolCalls,
    commits: record.commits,
    resultSeen: stream.resultSeen,
    ...(sup.exit.interruptedBy ? { interruptedBy: sup.exit.interruptedBy } : {}),
    ...(ctx.stateError ? { stateError: ctx.stateError } : {}),
  };
}

/** Metrics are advisory: events carry the truth, so a failed metrics write is not an error. */
export function safeMetrics(cfg: Config, ev: 'round_start' | 'round_end', extra: Record<string, unknown>): void {
  try {
    appendMetrics(cfg.paths.logDir, cfg.paths.workDir, ev, extra);
  } catch {
    /* metrics are advisory; events carry the truth */
  }
}
