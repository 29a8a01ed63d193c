import type { ChildProcess } from 'node:child_process';
import { FOREIGN_EXIT } from '../exit-codes.js';
import { descendantsOf, readCmdline } from '../proc/procfs.js';
import { MAX_TIMER_MS } from '../util/sleep.js';
import { monoMs, round3 } from '../util/time.js';
import type { LogFollower } from './log-follower.js';
import { serviceCgroupLeftovers, terminateRound, type RoundIdentity } from './process-group.js';

/**
 * Steps 7–8 of a round: wait for the agent leader's exit — never for stdio EOF — while enforcing
 * the hard timeout, the idle timeout and the post-result grace, honouring an interrupt; then sweep
 * whatever of the round outlived its leader.
 */
const TICK_MS = 100;

export type KilledBy = 'timeout' | 'idle' | 'grace' | 'interrupt';

export interface SuperviseInput {
  child: ChildProcess;
  id: RoundIdentity;
  follower: LogFollower;
  startMono: number;
  timeoutS: number;
  graceMs: number;
  idleTimeoutS: number;
  graceAfterResultS: number;
  graceIgnorePatterns: string[];
  progressMs: number;
  helperPids: number[];
  /** Runs once the leader has exited, before the sweep (a scope's directory is looked up then). */
  beforeSweep?: () => Promise<void>;
  interrupt?: AbortSignal;
  /** Runs a step whose failure (a full disk) must not break supervision. */
  bestEffort: (fn: () => void) => void;
  onGraceExtended: (live: LiveChildren) => void;
  onProgress: (p: { log_size_kb: number; last_write_age_s: number; wall_age_s: number; tool_calls: number; output_tokens?: number }) => void;
}

export interface SuperviseResult {
  exitCode: number | null;
  signal: string | null;
  spawnError?: string;
  killedBy?: KilledBy;
  interruptedBy?: string;
  killMs?: number;
  leftoversKilled: number;
  liveChildrenAtGrace: Array<{ name: string; pid: number }>;
}

export async function superviseAgent(o: SuperviseInput): Promise<SuperviseResult> {
  const { child, id, follower } = o;
  const r: SuperviseResult = { exitCode: null, signal: null, leftoversKilled: 0, liveChildrenAtGrace: [] };
  let settled = false;
  let graceExtended = false;
  let killing: Promise<void> | undefined;
  const kill = (why: KilledBy) => {
    if (killing) return killing;
    r.killedBy = why;
    killing = terminateRound(id, o.graceMs).then((t) => {
      r.killMs = t.ms;
    });
    return killing;
  };
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, sig) => {
      r.exitCode = code;
      r.signal = sig;
      settled = true;
      resolve();
    });
    child.once('error', (err) => {
      settled = true;
      r.spawnError = err.message;
      r.exitCode = (err as NodeJS.ErrnoException).code === 'ENOENT' ? FOREIGN_EXIT.NOT_FOUND : FOREIGN_EXIT.NOT_EXECUTABLE;
      resolve();
    });
  });
  const onAbort = () => {
    r.interruptedBy = String(o.interrupt?.reason ?? 'SIGTERM');
    void kill('interrupt');
  };
  o.interrupt?.addEventListener('abort', onAbort, { once: true });
  // libuv timers run on a monotonic clock; re-armed in chunks past Node's 24.8-day limit.
  let hardTimer: NodeJS.Timeout | undefined;
  const armHard = () => {
    const left = o.timeoutS * 1000 - (monoMs() - o.startMono);
    if (left <= 0) return void kill('timeout');
    hardTimer = setTimeout(armHard, Math.min(left, MAX_TIMER_MS));
  };
  armHard();
  let resultAt: number | undefined;
  let cpuAtResult = new Map<number, number>();
  let lastProgress = o.startMono;
  const graceMs = o.graceAfterResultS * 1000;
  const ticker = setInterval(
    () =>
      o.bestEffort(() => {
        follower.poll();
        const now = monoMs();
        if (o.idleTimeoutS > 0 && now - follower.lastActivity > o.idleTimeoutS * 1000) void kill('idle');
        if (follower.stream.resultSeen && resultAt === undefined) {
          resultAt = now;
          cpuAtResult = cpuOfDescendants(child.pid!);
        }
        if (graceMs > 0 && resultAt !== undefined && !graceExtended && !killing && now - resultAt > graceMs) {
          const live = liveChildren(child.pid!, o.graceIgnorePatterns, cpuAtResult);
          r.liveChildrenAtGrace = live.working;
          if (live.working.length > 0) {
            graceExtended = true;
            o.onGraceExtended(live);
          } else void kill('grace');
        }
        if (o.progressMs > 0 && now - lastProgress >= o.progressMs) {
          lastProgress = now;
          o.onProgress({
            log_size_kb: Math.round(follower.size / 1024),
            last_write_age_s: round3((now - follower.lastActivity) / 1000),
            wall_age_s: round3((now - o.startMono) / 1000),
            tool_calls: follower.stream.toolCalls,
            // Only an agent that reports usage per message (claude's stream-json) has a count to give.
            ...(follower.stream.soFar.usageSeen ? { output_tokens: follower.stream.soFar.outputTokens } : {}),
          });
        }
      }),
    TICK_MS,
  );
  try {
    await exited;
    if (killing) await killing;
  } finally {
    clearTimeout(hardTimer);
    clearInterval(ticker);
    o.interrupt?.removeEventListener('abort', onAbort);
    // Whatever happened above, nothing of this round outlives this block (the sweep below counts
    // leftovers; this only matters when something threw).
    if (!settled) await terminateRound(id, o.graceMs).catch(() => undefined);
  }
  await o.beforeSweep?.();
  // Sweep: whatever of the round outlived its leader (MCP servers, setsid'd daemons).
  r.leftoversKilled = (await terminateRound(id, o.graceMs)).killed;
  for (const pid of serviceCgroupLeftovers(new Set(o.helperPids))) {
    try {
      process.kill(pid, 'SIGKILL');
      r.leftoversKilled++;
    } catch {
      /* gone */
    }
  }
  return r;
}

export interface LiveChildren {
  working: Array<{ name: string; pid: number }>;
  ignored: Array<{ name: string; pid: number; matched: string }>;
}

function cpuOfDescendants(pid: number): Map<number, number> {
  return new Map(descendantsOf(pid).map((d) => [d.pid, d.cpu]));
}

/**
 * Children of the agent still *working* after its result: alive and burning CPU since the result
 * (a background build), minus those matching ignore patterns. Idle ones — an MCP server waiting
 * for a request, a shell-snapshot helper, a forgotten `sleep` — do not hold the round open.
 */
function liveChildren(
  pid: number,
  ignorePatterns: string[],
  cpuAtResult: Map<number, number>,
): LiveChildren {
  const res = ignorePatterns.map((p) => new RegExp(p));
  const working: Array<{ name: string; pid: number }> = [];
  const ignored: Array<{ name: string; pid: number; matched: string }> = [];
  for (const d of descendantsOf(pid)) {
    if (d.state === 'Z' || d.cpu <= (cpuAtResult.get(d.pid) ?? 0)) continue;
    const cmd = readCmdline(d.pid).join(' ');
    // Only the basename and pid are recorded, never argv: it may hold secrets.
    const hit = res.find((re) => re.test(cmd));
    if (hit) ignored.push({ name: d.comm, pid: d.pid, matched: hit.source });
    else working.push({ name: d.comm, pid: d.pid });
  }
  return { working, ignored };
}

