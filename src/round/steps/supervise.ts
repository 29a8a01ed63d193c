import { finishIsolation, resolveFromManager } from '../../isolation/round-isolation.js';
import { isoNow, monoMs, round3 } from '../../util/time.js';
import { superviseAgent, type SuperviseResult } from '../supervise.js';
import { bestEffort, type RoundContext } from './context.js';
import type { SpawnedRound } from './spawn.js';

/** How the agent's tree ended, and when. */
export interface SupervisedRound {
  exit: SuperviseResult;
  /** OOM kills counted by the round's own cgroup (0 without one). */
  oomInRound: number;
  durationS: number;
  endedAt: string;
}

/**
 * Steps 7–8: wait for the leader's exit (never stdio EOF) under the timeouts, sweep what outlived
 * it, then take the round's cgroup down. After this step no process of the round is alive.
 */
export async function superviseRound(ctx: RoundContext, s: SpawnedRound): Promise<SupervisedRound> {
  const { cfg, events, roundNum, opts } = ctx;
  const exit: SuperviseResult = s.child
    ? await superviseAgent({
        beforeSweep: () => resolveFromManager(s.iso),
        child: s.child,
        id: s.id,
        follower: s.follower,
        startMono: s.startMono,
        timeoutS: ctx.timeoutS,
        graceMs: ctx.graceMs,
        idleTimeoutS: cfg.runtime.idle_timeout_s,
        graceAfterResultS: cfg.runtime.max_grace_after_result_s,
        graceIgnorePatterns: cfg.runtime.grace_kill_ignore_patterns,
        progressMs: cfg.monitor.round_progress_interval_s * 1000,
        helperPids: ctx.lock.helperPids,
        ...(opts.interrupt ? { interrupt: opts.interrupt } : {}),
        bestEffort: (fn) => bestEffort(ctx, fn),
        onGraceExtended: (live) =>
          events.emit('round_grace_extended', {
            round_num: roundNum,
            grace_s: cfg.runtime.max_grace_after_result_s,
            live_children: live.working.slice(0, 5),
            ignored_children: live.ignored.slice(0, 5),
          }),
        onProgress: (pr) => events.emit('round_progress', { round_num: roundNum, ...pr }),
      })
    : // Interrupted before the spawn: nothing ran, and the round says why.
      { exitCode: null, signal: null, killedBy: 'interrupt', interruptedBy: String(opts.interrupt?.reason ?? 'SIGTERM'), leftoversKilled: 0, liveChildrenAtGrace: [] };
  const oomInRound = s.iso.cgroup ? s.iso.cgroup.oomKills() : 0;
  const cgroupLeft = await finishIsolation(s.iso);
  if (cgroupLeft.length) opts.log?.(`round ${roundNum}: cgroup not removed (still populated): ${cgroupLeft.join(', ')}`);
  const endMono = monoMs();
  const endedAt = isoNow();
  bestEffort(ctx, () => s.follower.finish());
  return { exit, oomInRound, durationS: round3((endMono - s.startMono) / 1000), endedAt };
}
