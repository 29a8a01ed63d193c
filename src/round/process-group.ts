import { readFileSync } from 'node:fs';
import { cgroupDir } from '../isolation/cgroup-layout.js';
import { readCgroupLayout } from '../isolation/cgroup.js';
import { findRoundProcesses, hasProcfs, isAlive, readStat, type ProcStat } from '../proc/procfs.js';
import { sleep } from '../util/sleep.js';

/**
 * Killing an agent tree. The agent leads its own process group (and session); its descendants
 * inherit a marker variable naming the round. A kill targets both: `kill(-pgid)` reaches the group
 * in one syscall, and a /proc scan for the marker reaches what escaped the group with setsid or a
 * double fork. The round's own cgroup, when it has one (src/isolation/cgroup.ts), reaches what left
 * both; without one, under systemd the service cgroup is the last backstop (serviceCgroupLeftovers).
 */
/** The environment variable that marks every process of a round, escaped ones included. */
export const MARKER_VAR = 'AGENT_RUNNER_ROUND_ID';

/** The `NAME=value` environ entry a round's processes carry (status.json's round_marker is the value). */
export function markerEntry(marker: string): string {
  return `${MARKER_VAR}=${marker}`;
}

export interface RoundIdentity {
  pgid: number;
  /** The environ entry (`NAME=value`) every process of the group carries. */
  marker: string;
  /** pids never to touch (our own helpers). */
  exclude?: Set<number>;
  /** The leader's start time (clock ticks): nothing older can belong to the round. */
  minStart?: number;
  /** The round's cgroup: every process in it is the round's, whatever its session or environment. */
  cgroup?: { pids(): number[]; kill(): number };
}

export function roundMembers(id: RoundIdentity): ProcStat[] {
  const found = findRoundProcesses({ ...(id.pgid > 1 ? { pgid: id.pgid } : {}), marker: id.marker, ...(id.exclude ? { excludePids: id.exclude } : {}), ...(id.minStart !== undefined ? { minStart: id.minStart } : {}) });
  if (!id.cgroup) return found;
  const seen = new Set(found.map((p) => p.pid));
  for (const pid of id.cgroup.pids()) {
    if (seen.has(pid) || id.exclude?.has(pid) || pid === process.pid) continue;
    const st = readStat(pid);
    if (st && st.state !== 'Z' && st.state !== 'X') found.push(st);
  }
  return found;
}

export function signalRound(id: RoundIdentity, signal: NodeJS.Signals): number {
  let sent = 0;
  // kill(-1) is every process on the host and kill(-0) our own group: only a real group id.
  if (id.pgid > 1) {
    try {
      process.kill(-id.pgid, signal);
      sent++;
    } catch {
      /* group already gone */
    }
  }
  for (const p of roundMembers(id)) {
    if (id.pgid > 1 && p.pgrp === id.pgid) continue; // already signalled through the group
    try {
      process.kill(p.pid, signal);
      sent++;
    } catch {
      /* raced with its exit */
    }
  }
  return sent;
}


/**
 * TERM → grace → KILL for the whole round; resolves when nothing of it is alive (or after a
 * final deadline), with the count of processes that had to be killed and how long it took.
 */
export async function terminateRound(
  id: RoundIdentity,
  graceMs: number,
): Promise<{ killed: number; forced: number; ms: number; survivors: number[] }> {
  const t0 = Date.now();
  let left = hasProcfs ? roundMembers(id) : [];
  const before = hasProcfs ? left.length : 1;
  if (hasProcfs && before === 0) return { killed: 0, forced: 0, ms: Date.now() - t0, survivors: [] };
  signalRound(id, 'SIGTERM');
  // SIGCONT so a stopped (SIGSTOP'd) process can act on the TERM instead of waiting for KILL.
  signalRound(id, 'SIGCONT');
  const deadline = t0 + graceMs;
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(Math.min(20, Math.max(1, deadline - Date.now())));
    left = roundMembers(id);
  }
  let forced = 0;
  if (left.length > 0 || !hasProcfs) {
    forced = left.length;
    // One write kills the whole cgroup, forks in flight included.
    id.cgroup?.kill();
    signalRound(id, 'SIGKILL');
    const killDeadline = Date.now() + 5000;
    while (hasProcfs && Date.now() < killDeadline) {
      left = roundMembers(id);
      if (left.length === 0) break;
      for (const p of left) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await sleep(5);
    }
  }
  return { killed: before, forced, ms: Date.now() - t0, survivors: left.filter((p) => isAlive(p.pid)).map((p) => p.pid) };
}

/** Count of oom_kill events in our cgroup, or undefined outside cgroup v2. */
export function oomKillCount(): number | undefined {
  const dir = ownCgroupDir();
  if (!dir) return undefined;
  try {
    const m = /oom_kill (\d+)/.exec(readFileSync(`${dir}/memory.events`, 'latin1'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Our own cgroup2 directory, from the one layout reader (src/isolation/cgroup-layout.ts). */
export function ownCgroupDir(): string | undefined {
  if (!hasProcfs) return undefined;
  const v2 = readCgroupLayout().v2;
  return v2 ? cgroupDir(v2) : undefined;
}

/**
 * Under a systemd service (INVOCATION_ID set, cgroup named *.service) every process in our cgroup
 * other than us and our helpers belongs to a round: kill those too. Never outside a service: a
 * terminal's session scope holds the user's shell.
 */
export function serviceCgroupLeftovers(exclude: Set<number>): number[] {
  const dir = ownCgroupDir();
  if (!dir || !process.env['INVOCATION_ID'] || !/\.service$/.test(dir)) return [];
  try {
    return readFileSync(`${dir}/cgroup.procs`, 'latin1')
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => pid !== process.pid && !exclude.has(pid) && isAlive(pid));
  } catch {
    return [];
  }
}
