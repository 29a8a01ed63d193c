import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { afterSpawn, prepareIsolation, type RoundIsolation } from '../../isolation/round-isolation.js';
import { readStat } from '../../proc/procfs.js';
import { writeStatus, type Status } from '../../state/status.js';
import { monoMs } from '../../util/time.js';
import { ensureLogDir } from '../checks.js';
import { beforeForStatus, preserveBeforeRound, type BeforeRound } from '../dirty.js';
import { headCommit } from '../git.js';
import { LogFollower } from '../log-follower.js';
import { markerEntry, oomKillCount, type RoundIdentity } from '../process-group.js';
import { bestEffort, type RoundContext } from './context.js';

/** The agent as started: what supervision needs to wait for it and to find all of it. */
export interface SpawnedRound {
  /** Absent when the round was interrupted before the spawn. */
  child: ChildProcess | undefined;
  iso: RoundIsolation;
  id: RoundIdentity;
  follower: LogFollower;
  /** Monotonic start, for the timeouts and the duration. */
  startMono: number;
  /** The service cgroup's OOM kill count before the round, where it can be read. */
  oomBefore: number | undefined;
  /** HEAD before the agent ran (null: no commit yet, or not a repository), to count its commits. */
  headBefore: string | null;
  /** The user's uncommitted work as it was before the agent ran: nothing is reset without it. */
  before: BeforeRound;
}

/**
 * Step 6: the agent in its own session and process group (inside the round's cgroup and sandbox,
 * see src/isolation/), its output straight into the round log through a descriptor, never a pipe
 * to us: a grandchild holding a pipe would keep the round open.
 */
export async function spawnAgent(ctx: RoundContext): Promise<SpawnedRound> {
  const { cfg, events, roundNum, logPath } = ctx;
  const headBefore = await headCommit(cfg.paths.workDir).catch(() => null);
  ensureLogDir(cfg.paths.logDir);
  const logFd = openSync(logPath, 'a', 0o600);
  const oomBefore = oomKillCount();
  let truncNoted = false;
  const follower = new LogFollower(
    logPath,
    cfg.runtime.round_log_max_bytes,
    (elided) => {
      if (elided > 0 && !truncNoted) {
        truncNoted = true;
        events.emit('round_log_truncated', { round_num: roundNum, log_path: logPath, elided_bytes: elided, max_bytes: cfg.runtime.round_log_max_bytes });
      }
    },
    {
      window: cfg.monitor.anomaly_repetitive_window,
      threshold: cfg.monitor.anomaly_repetitive_threshold,
      // F33: a stuck tool loop, reported while the round is still stuck in it, for the monitor to raise.
      onFinding: (f) => events.emit('anomaly_repetitive_tool', { round_num: roundNum, ...f }),
    },
  );

  // The user's uncommitted work, kept before the agent can touch it; nothing is reset without it.
  const before = await preserveBeforeRound({ workDir: cfg.paths.workDir, logDir: cfg.paths.logDir, roundNum, phase: ctx.phase, events });

  const startMono = monoMs();
  const interrupted = ctx.opts.interrupt?.aborted;
  const liveBase = { ...liveStatus(ctx), worktree_before: beforeForStatus(before) };
  let child: ChildProcess | undefined;
  let iso: RoundIsolation;
  try {
    // Recorded before the spawn: if we die between spawn and the next write, the marker still lets
    // a successor find and kill this round's processes.
    if (!interrupted) writeStatus(cfg.paths.logDir, liveBase);
    iso = prepareIsolation(cfg, roundNum, ctx.argv);
    if (!interrupted) {
      child = spawn(iso.argv[0]!, iso.argv.slice(1), {
        cwd: cfg.paths.workDir,
        env: ctx.env,
        detached: true,
        stdio: [cfg.agent.prompt_delivery === 'stdin' ? 'pipe' : 'ignore', logFd, logFd],
      });
    }
  } finally {
    closeSync(logFd);
  }

  const id: RoundIdentity = { pgid: child?.pid ?? -1, marker: markerEntry(ctx.marker), exclude: new Set(ctx.lock.helperPids), ...(iso.cgroup ? { cgroup: iso.cgroup } : {}) };
  if (child?.pid) {
    const pid = child.pid;
    await afterSpawn(iso, pid);
    const cgroup = iso.cgroup;
    if (cgroup) follower.holdWriters = () => cgroup.freeze();
    const st = readStat(pid);
    if (st) id.minStart = st.starttime;
    // The round's cgroup directories too: a successor can kill and remove them if we die.
    const cgroupDirs = iso.cgroup
      ? { ...(iso.cgroup.v2Dir ? { cgroup: iso.cgroup.v2Dir } : {}), ...(Object.keys(iso.cgroup.v1Dirs).length ? { cgroup_v1: Object.values(iso.cgroup.v1Dirs) } : {}) }
      : {};
    bestEffort(ctx, () => writeStatus(cfg.paths.logDir, { ...liveBase, pid, pgid: pid, ...(st ? { start_time: st.starttime } : {}), ...cgroupDirs }));
    events.emit('agent_spawn', {
      round_num: roundNum,
      timeout_s: ctx.timeoutS,
      pid,
      pgid: pid,
      log_path: logPath,
      cgroup_mode: iso.mode,
      cgroup: iso.cgroup?.v2Dir ?? null,
      limits_applied: iso.cgroup?.applied ?? [],
      ...(iso.reason ? { cgroup_unavailable: iso.reason } : {}),
      ...(iso.cgroup?.notApplied.length ? { limits_not_applied: iso.cgroup.notApplied } : {}),
      sandbox: iso.sandbox,
    });
    ctx.opts.log?.(`round ${roundNum}${ctx.phase ? ` (${ctx.phase})` : ''}: agent pid ${pid}, log ${logPath}`);
    if (child.stdin) {
      // An agent that exits without reading its prompt must not crash us with EPIPE.
      child.stdin.on('error', () => {});
      child.stdin.end(ctx.prompt);
    }
  }
  return { child, iso, id, follower, startMono, oomBefore, headBefore, before };
}

/** status.json while the round runs: its identity, the live round, and the last round's fields kept. */
function liveStatus(ctx: RoundContext): Status {
  // writeStatus drops undefined fields: a round without phases simply has none.
  return {
    round_num: ctx.roundNum,
    current_phase: ctx.phase,
    phase_index: ctx.phaseIndex,
    running: true,
    started_at: ctx.startedAt,
    log_path: ctx.logPath,
    round_marker: ctx.marker,
    supervisor_pid: process.pid,
    ...supervisorStart(),
    ...lastFields(ctx.prev),
  };
}

function lastFields(prev: Status | undefined): Partial<Status> {
  if (!prev) return {};
  const out: Partial<Status> = {};
  for (const k of ['last_completed_at', 'last_exit_code', 'last_duration_s', 'last_outcome', 'last_verdict', 'last_dirty_files', 'last_log_path'] as const) {
    if (prev[k] !== undefined) (out as Record<string, unknown>)[k] = prev[k];
  }
  return out;
}

function supervisorStart(): Partial<Status> {
  const st = readStat(process.pid);
  return st ? { supervisor_start_time: st.starttime } : {};
}
