import type { Config } from '../config/load.js';
import { ConfigError, RunnerError } from '../errors.js';
import type { RoundVerdict } from '../events/payloads.js';
import type { EventSink } from '../events/writer.js';
import { EXIT } from '../exit-codes.js';
import { readAgentVersion } from '../agents/version-cache.js';
import { Redactor } from '../util/redact.js';
import { runStartupChecks, type CheckResult } from './checks.js';
import type { Classification } from './classify.js';
import type { DirtyOutcome } from './dirty.js';
import { acquireLock, type Lock } from './lock.js';
import { recoverInterruptedRound } from './recovery.js';
import { prepareRound } from './steps/prepare.js';
import { recordRound } from './steps/record.js';
import { settleRound } from './steps/settle.js';
import { spawnAgent } from './steps/spawn.js';
import { superviseRound } from './steps/supervise.js';
import type { RateLimitInfo, TransientSignal } from './stream-json.js';

export interface RoundOptions {
  cfg: Config;
  events: EventSink;
  /** A one-off phase (must be in phases.list); does not advance the rotation. */
  phase?: string | undefined;
  /** Aborting interrupts the round: TERM → grace → KILL of the agent tree. The reason is the signal name. */
  interrupt?: AbortSignal;
  /** serve holds the project lock across rounds; a bare `round` takes it itself. */
  lock?: Lock;
  extraEnv?: Record<string, string>;
  /** Progress lines for a human (stderr). */
  log?: (line: string) => void;
  /** serve passes one per config: checks whose answer cannot change between rounds run once. */
  checkCache?: Set<string>;
}

export interface RoundResult {
  roundNum: number;
  phase: string | undefined;
  startedAt: string;
  endedAt: string;
  exitCode: number | null;
  signal: string | null;
  durationS: number;
  classification: Classification;
  /** The agent's newest rate-limit report (claude rate_limit_event), for pacing. */
  rateLimit?: RateLimitInfo;
  /** What the round achieved, judged from evidence (verdict.ts). */
  verdict: RoundVerdict;
  transient?: TransientSignal;
  logPath: string;
  dirtyFiles: string[];
  dirty?: DirtyOutcome;
  leftoversKilled: number;
  costUsd?: number;
  toolCalls: number;
  /** Commits the agent added to HEAD during the round; null when that cannot be told (no commit before it, history rewritten). */
  commits: number | null;
  resultSeen: boolean;
  interruptedBy?: string;
  /** The first state or event write that failed (disk full, I/O error), if any. */
  stateError?: { code: string; message: string };
}

/**
 * The agent's stored login has expired: every round would fail to authenticate in seconds (and can
 * look like a 2-second success), so none is started. An auth failure, not a config error: the fix
 * is to log in again, and `serve` halts as it does on a failed authentication.
 */
export class LoginExpiredError extends RunnerError {
  constructor(readonly failed: CheckResult) {
    super(`startup check login_not_expired failed: ${failed.reason} | how to fix: ${failed.hint}`, 'login_expired', EXIT.AGENT_AUTH);
  }
}
Object.defineProperty(LoginExpiredError.prototype, 'name', { value: 'LoginExpiredError' });

export class StartupCheckError extends ConfigError {
  constructor(
    file: string,
    readonly failed: CheckResult,
  ) {
    super(file, undefined, `startup check ${failed.name} failed: ${failed.reason} | how to fix: ${failed.hint}`);
  }
}

/** Runs one complete round. Never leaves a process of the round alive when it returns. */
export async function runRound(opts: RoundOptions): Promise<RoundResult> {
  const { cfg, events } = opts;
  const logDir = cfg.paths.logDir;
  const redactor = new Redactor(Object.values(cfg.agent.env));

  if (opts.phase !== undefined && !cfg.phases.list.includes(opts.phase))
    throw new RunnerError(`unknown phase "${opts.phase}": phases.list is ${JSON.stringify(cfg.phases.list)}`, 'usage', 2);

  // 1. Startup checks: every prompt any phase can need is checked now, not mid-round.
  const env = { ...process.env, ...cfg.agent.env };
  const phases = opts.phase !== undefined ? [opts.phase] : [undefined, ...cfg.phases.list];
  const checks = await runStartupChecks(cfg, phases, env, opts.checkCache);
  const failed = checks.find((c) => !c.ok);
  if (failed) {
    try {
      events.emit('smoke_check_failed', { reason: `${failed.name}: ${failed.reason}`, check: failed.name });
    } catch {
      /* the log dir itself may be the problem */
    }
    if (failed.name === 'login_not_expired') throw new LoginExpiredError(failed);
    throw new StartupCheckError(cfg.path, failed);
  }

  // 2. Lock, then recover a predecessor that died mid-round.
  const ownLock = !opts.lock;
  const lock = opts.lock ?? (await acquireLock(logDir));
  try {
    if (lock.staleHolder && ownLock) {
      events.emit('lock_stale_takeover', {
        holder_pid: lock.staleHolder.holder.pid,
        holder_started_at: lock.staleHolder.holder.started_at ?? null,
        reason: lock.staleHolder.reason,
      });
    }
    const graceMs = cfg.runtime.kill_grace_s * 1000;
    await recoverInterruptedRound(cfg, events, graceMs);
    return await runLocked(opts, lock, checks, redactor);
  } finally {
    if (ownLock) await lock.release();
  }
}

/** Steps 3–11, under the lock: one round as named steps over one context. */
async function runLocked(opts: RoundOptions, lock: Lock, checks: CheckResult[], redactor: Redactor): Promise<RoundResult> {
  // Before round_start, so the round's record names the CLI that ran it (a self-update shows as agent_cli_changed).
  const version = await readAgentVersion(opts.cfg, { ...process.env, ...opts.cfg.agent.env }).catch(() => undefined);
  const ctx = prepareRound(opts, lock, checks, redactor, version);
  const spawned = await spawnAgent(ctx);
  const supervised = await superviseRound(ctx, spawned);
  const settled = await settleRound(ctx, spawned, supervised);
  return recordRound(ctx, supervised, settled);
}
