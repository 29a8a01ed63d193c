import { rmSync } from 'node:fs';
import { handleDirtyTree, type DirtyOutcome } from '../dirty.js';
import { Redactor } from '../../util/redact.js';
import { commitsSince, dirtyFiles, headCommit, ownedPaths } from '../git.js';
import { oomKillCount } from '../process-group.js';
import { classifyText } from '../stream-json.js';
import { needsTextFallback, translateRound, type RoundRecord, type StreamFacts } from '../translate.js';
import { agentName, type RoundContext } from './context.js';
import type { SpawnedRound } from './spawn.js';
import type { SupervisedRound } from './supervise.js';

/** The round's record, and what became of a dirty tree. */
export interface SettledRound {
  record: RoundRecord;
  stream: StreamFacts;
  dirtyFiles: string[];
  dirty: DirtyOutcome | undefined;
}

/**
 * Steps 9–10: classify the round (structured output first, the agent's last lines only as a
 * fallback), announce how it ended, then record and preserve a dirty tree per `vcs.dirty_action`.
 */
export async function settleRound(ctx: RoundContext, s: SpawnedRound, sup: SupervisedRound): Promise<SettledRound> {
  const { cfg, events, roundNum } = ctx;
  const stream = s.follower.stream;
  const oomAfter = oomKillCount();

  // The agent's commits, counted before the dirty handler may add its own.
  const commits = await commitsSince(cfg.paths.workDir, s.headBefore).catch(() => null);
  const headAfter = await headCommit(cfg.paths.workDir).catch(() => null);
  const headMoved = s.headBefore === null || headAfter === null ? null : headAfter !== s.headBefore;
  let dirty: string[] = [];
  try {
    dirty = await dirtyFiles(cfg.paths.workDir, ownedPaths(cfg));
  } catch (err) {
    ctx.opts.log?.(`dirty check failed: ${(err as Error).message}`);
  }
  const textTransient = needsTextFallback(sup.exit, stream, headMoved === true || (commits ?? 0) > 0 || dirty.length > 0)
    ? classifyText(
        s.follower.tailText(),
        { auth: cfg.monitor.auth_fail_patterns.map((p) => new RegExp(p, 'i')), network: cfg.monitor.network_fail_patterns.map((p) => new RegExp(p, 'i')) },
        Date.now(),
      )
    : undefined;
  // The agent's last words, for a failure that matches no known shape (its secrets masked).
  const lastLine = new Redactor(Object.values(cfg.agent.env)).text(
    stream.failureLine ??
      s.follower
        .tailText(4096)
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .at(-1) ??
      '',
  );
  s.follower.close();

  const record = translateRound({
    roundNum,
    phase: ctx.phase,
    phaseIndex: ctx.phaseIndex,
    agent: agentName(cfg),
    timeoutS: ctx.timeoutS,
    idleTimeoutS: cfg.runtime.idle_timeout_s,
    graceAfterResultS: cfg.runtime.max_grace_after_result_s,
    exit: sup.exit,
    durationS: sup.durationS,
    endedAt: sup.endedAt,
    oom: { inRound: sup.oomInRound, serviceBefore: s.oomBefore, serviceAfter: oomAfter },
    stream,
    textTransient,
    dirtyFiles: dirty,
    commits,
    headMoved,
    lastLine,
    worktreeSnapshot: s.before.ok && s.before.commit ? s.before.commit : undefined,
    logPath: ctx.logPath,
    agentVersion: ctx.agentVersion,
  });
  for (const ev of record.exitEvents) events.emit(ev.kind, ev.payload);

  // Dirty tree: recorded after every round, preserved per policy.
  let dirtyOutcome: DirtyOutcome | undefined;
  if (record.dirtyEvent) {
    events.emit(record.dirtyEvent.kind, record.dirtyEvent.payload);
    const clean = record.classification.outcome === 'clean';
    dirtyOutcome = await handleDirtyTree({
      workDir: cfg.paths.workDir,
      logDir: cfg.paths.logDir,
      owned: ownedPaths(cfg),
      roundNum,
      phase: ctx.phase,
      files: dirty,
      action: clean ? cfg.vcs.dirty_action : (cfg.vcs.dirty_action_on_failure ?? cfg.vcs.dirty_action),
      reason: clean ? 'clean_exit_with_dirty_tree' : `${record.classification.outcome}_with_dirty_tree`,
      idempotencyS: cfg.vcs.stash_idempotency_s,
      events,
      before: s.before,
    });
  } else {
    rmSync(ctx.files.orphan, { force: true });
  }

  for (const ev of record.killEvents) events.emit(ev.kind, ev.payload);
  return { record, stream, dirtyFiles: dirty, dirty: dirtyOutcome };
}
