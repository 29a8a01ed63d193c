import type { Config } from '../config/load.js';
import type { EventSink } from '../events/writer.js';
import { LockHeldError } from '../errors.js';
import { environHas, isAlive } from '../proc/procfs.js';
import { stateFiles } from '../state/files.js';
import { readStatus, writeStatus } from '../state/status.js';
import { isoNow } from '../util/time.js';
import { beforeFromStatus, handleDirtyTree } from './dirty.js';
import { dirtyFiles, ownedPaths } from './git.js';
import { RoundCgroup } from '../isolation/cgroup.js';
import { scopeName } from '../isolation/systemd-scope.js';
import { markerEntry, roundMembers, terminateRound } from './process-group.js';

/**
 * A previous supervisor died mid-round (SIGKILL, power loss): status.json still says running.
 * Kill what is left of that round — only processes that provably belong to it (the leader with its
 * recorded start time, or anything carrying the round's marker), never a recycled pgid — then
 * preserve its dirty tree and record the round as interrupted. Call with the project lock held.
 */
export async function recoverInterruptedRound(cfg: Config, events: EventSink, graceMs: number): Promise<boolean> {
  const st = readStatus(cfg.paths.logDir);
  if (st.kind !== 'ok' || !st.value.running) return false;
  const s = st.value;
  if (s.supervisor_pid === process.pid) return false;
  if (s.supervisor_pid && isAlive(s.supervisor_pid, s.supervisor_start_time)) {
    // It still lives but does not hold the lock (someone killed its lock helper): refuse to race it.
    throw new LockHeldError(stateFiles(cfg.paths.logDir).lock, { pid: s.supervisor_pid, ...(s.started_at ? { started_at: s.started_at } : {}) });
  }
  let killed = 0;
  const cgroup = s.cgroup || s.cgroup_v1?.length ? RoundCgroup.adopt(scopeName(cfg.project, s.round_num), { v2: s.cgroup, v1: s.cgroup_v1 }) : undefined;
  if (typeof s.round_marker === 'string' && s.round_marker) {
    const marker = markerEntry(s.round_marker);
    // status.json is only a file: the group is trusted only when its leader provably is the
    // round's own agent — its own group leader, same start time, carrying the round's marker.
    const leaderIsOurs =
      Number.isInteger(s.pid) && s.pid! > 1 && s.pgid === s.pid && s.start_time !== undefined && isAlive(s.pid!, s.start_time) && environHas(s.pid!, marker);
    // Its cgroup holds even what left the session and cleared its environment (the marker too).
    const id = { pgid: leaderIsOurs ? s.pgid! : -1, marker, ...(cgroup ? { cgroup } : {}) };
    if (roundMembers(id).length > 0) killed = (await terminateRound(id, graceMs)).killed;
  } else if (cgroup && cgroup.pids().length > 0) {
    killed = (await terminateRound({ pgid: -1, marker: '', cgroup }, graceMs)).killed;
  }
  const cgroupLeft = cgroup ? await cgroup.remove() : [];
  events.emit('round_recovered', {
    round_num: s.round_num,
    pid: s.pid ?? null,
    pgid: s.pgid ?? null,
    killed,
    reason: `supervisor pid ${s.supervisor_pid ?? '?'} died while the round was running`,
    ...(cgroup ? { cgroup: cgroup.v2Dir ?? Object.values(cgroup.v1Dirs)[0] ?? null } : {}),
    ...(cgroupLeft.length ? { cgroup_left: cgroupLeft } : {}),
  });
  let files: string[] = [];
  try {
    files = await dirtyFiles(cfg.paths.workDir, ownedPaths(cfg));
  } catch {
    /* not a repo any more: nothing to preserve */
  }
  if (files.length) {
    events.emit('dirty_detected', { round_num: s.round_num, files: files.slice(0, 20), outcome: 'interrupted' });
    await handleDirtyTree({
      workDir: cfg.paths.workDir,
      logDir: cfg.paths.logDir,
      owned: ownedPaths(cfg),
      roundNum: s.round_num,
      phase: s.current_phase,
      files,
      action: cfg.vcs.dirty_action_on_failure ?? cfg.vcs.dirty_action,
      reason: 'interrupted_round_recovered',
      idempotencyS: cfg.vcs.stash_idempotency_s,
      events,
      // What the dead round recorded before its agent ran; without it, nothing is reset.
      before: beforeFromStatus(s.worktree_before),
    });
  }
  events.emit('round_end', { round_num: s.round_num, outcome: 'interrupted', duration_s: null });
  writeStatus(cfg.paths.logDir, {
    round_num: s.round_num,
    running: false,
    ...(s.current_phase !== undefined ? { current_phase: s.current_phase } : {}),
    last_completed_at: isoNow(),
    last_exit_code: null,
    last_outcome: 'interrupted',
    last_dirty_files: files.slice(0, 20),
    ...(s.log_path ? { last_log_path: s.log_path } : {}),
  });
  return true;
}
