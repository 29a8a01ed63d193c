import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { promptFilesFor, timeoutFor } from '../config/load.js';
import { ConfigError, RunnerError } from '../errors.js';
import type { EventSink } from '../events/writer.js';
import { appendMetrics } from '../metrics/writer.js';
import { readStat } from '../proc/procfs.js';
import { stateFiles } from '../state/files.js';
import { readJsonOr } from '../state/json-file.js';
import { reserveRoundNumber } from '../state/round-counter.js';
import { readStatus, writeStatus, type Status } from '../state/status.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { Redactor } from '../util/redact.js';
import { compactUtc, isoNow, monoMs, round3 } from '../util/time.js';
import { runStartupChecks, ensureLogDir, type CheckResult } from './checks.js';
import { classify, type Classification } from './classify.js';
import { handleDirtyTree, type DirtyOutcome } from './dirty.js';
import { commitsSince, dirtyFiles, headCommit, ownedPaths } from './git.js';
import { acquireLock, type Lock } from './lock.js';
import { LogFollower } from './log-follower.js';
import { afterSpawn, finishIsolation, prepareIsolation, resolveFromManager } from '../isolation/round-isolation.js';
import { oomKillCount, type RoundIdentity } from './process-group.js';
import { assemblePromptBody, contextBlock } from './prompt.js';
import { superviseAgent, type SuperviseResult } from './supervise.js';
import { recoverInterruptedRound } from './recovery.js';
import { pruneRoundLogs } from './retention.js';
import { classifyText, type TransientSignal } from './stream-json.js';

export const MARKER_VAR = 'AGENT_RUNNER_ROUND_ID';

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

async function runLocked(opts: RoundOptions, lock: Lock, checks: CheckResult[], redactor: Redactor): Promise<RoundResult> {
  const { cfg, events } = opts;
  const logDir = cfg.paths.logDir;
  const files = stateFiles(logDir);
  const graceMs = cfg.runtime.kill_grace_s * 1000;

  // 3. Round number, reserved before anything else can fail.
  const reserved = reserveRoundNumber(logDir);
  const roundNum = reserved.roundNum;
  if (reserved.statusCorrupt) events.emit('status_recovered', { reason: `status.json could not be parsed: ${reserved.statusCorrupt}`, round_num: roundNum });
  const phaseIndex = cfg.phases.list.length ? (roundNum - 1) % cfg.phases.list.length : undefined;
  const phase = opts.phase ?? (phaseIndex !== undefined ? cfg.phases.list[phaseIndex] : undefined);
  const timeoutS = timeoutFor(cfg, phase);
  const startedMs = Date.now();
  const startedAt = isoNow(startedMs);

  // 4. Context for the agent: the previous round and any preserved dirty work.
  const prevStatus = readStatus(logDir);
  const prev = prevStatus.kind === 'ok' ? prevStatus.value : undefined;
  const orphan = readJsonOr<{ stashed_ref?: string; ref_name?: string; stash_message?: string; files?: string[] }>(files.orphan);
  const context: Record<string, unknown> = {
    round_num: roundNum,
    started_at: startedAt,
    ...(phase !== undefined ? { phase } : {}),
    ...(orphan?.stashed_ref
      ? { orphan_stash: { ref: orphan.stashed_ref, ref_name: orphan.ref_name, message: orphan.stash_message, files: (orphan.files ?? []).slice(0, 20) } }
      : {}),
    ...(prev && prev.last_completed_at
      ? {
          previous: {
            round_num: prev.round_num,
            exit_code: prev.last_exit_code ?? null,
            outcome: prev.last_outcome,
            duration_s: prev.last_duration_s,
            ended_at: prev.last_completed_at,
            had_dirty_tree: (prev.last_dirty_files?.length ?? 0) > 0,
            dirty_files: prev.last_dirty_files ?? [],
          },
        }
      : {}),
  };
  const safeContext = redactor.value(context);
  writeJsonAtomic(files.context, safeContext);

  events.emit('round_start', { round_num: roundNum, phase: phase ?? null, checks: checks.map((c) => c.name) });
  safeMetrics(cfg, 'round_start', { round_num: roundNum, phase: phase ?? null });

  // 5. Prompt.
  const body = assemblePromptBody({
    files: promptFilesFor(cfg, phase),
    separator: cfg.prompt.concat_separator,
    stripFrontmatter: cfg.prompt.strip_yaml_frontmatter,
  });
  const prompt = cfg.prompt.inject_context && cfg.prompt.context_injection_mode === 'prepend' ? contextBlock(safeContext) + body : body;

  // 6. Spawn into its own session/group, output straight into the round log. HEAD first, so the
  // round can say how many commits the agent made.
  const headBefore = await headCommit(cfg.paths.workDir).catch(() => null);
  const logPath = join(files.rounds, `R${roundNum}-${compactUtc(startedMs)}.log`);
  ensureLogDir(logDir);
  const logFd = openSync(logPath, 'a', 0o600);
  const marker = `${randomUUID()}`;
  const markerEntry = `${MARKER_VAR}=${marker}`;
  const argv =
    cfg.agent.prompt_delivery === 'stdin'
      ? [...cfg.agent.command, ...cfg.agent.prompt_arg_template]
      : [...cfg.agent.command, ...cfg.agent.prompt_arg_template.map((a) => a.replaceAll('{prompt}', prompt))];
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    AGENT_RUNNER_LOG_DIR: logDir,
    AGENT_RUNNER_ROUND_NUM: String(roundNum),
    AGENT_RUNNER_PHASE: phase ?? '',
    ...opts.extraEnv,
    ...cfg.agent.env,
    // Last, so no config can remove it: it is how escaped descendants are found.
    [MARKER_VAR]: marker,
  };
  const oomBefore = oomKillCount();
  let stateError: { code: string; message: string } | undefined;
  const bestEffort = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      stateError ??= { code: (err as NodeJS.ErrnoException).code ?? 'EIO', message: (err as Error).message };
    }
  };

  const follower = new LogFollower(logPath, cfg.runtime.round_log_max_bytes, (elided) => {
    if (elided > 0 && !truncNoted) {
      truncNoted = true;
      events.emit('round_log_truncated', { round_num: roundNum, log_path: logPath, elided_bytes: elided, max_bytes: cfg.runtime.round_log_max_bytes });
    }
  }, {
    window: cfg.monitor.anomaly_repetitive_window,
    threshold: cfg.monitor.anomaly_repetitive_threshold,
    // F33: a stuck tool loop, reported while the round is still stuck in it, for the monitor to raise.
    onFinding: (f) => events.emit('anomaly_repetitive_tool', { round_num: roundNum, ...f }),
  });
  let truncNoted = false;

  const startMono = monoMs();
  const interrupted = opts.interrupt?.aborted;
  // writeStatus drops undefined fields: a round without phases simply has none.
  const identity = { round_num: roundNum, current_phase: phase, phase_index: phaseIndex };
  const liveBase: Status = {
    ...identity,
    running: true,
    started_at: startedAt,
    log_path: logPath,
    round_marker: marker,
    supervisor_pid: process.pid,
    ...supervisorStart(),
    ...lastFields(prev),
  };
  // Recorded before the spawn: if we die between spawn and the next write, the marker still lets
  // a successor find and kill this round's processes.
  if (!interrupted) writeStatus(cfg.paths.logDir, liveBase);
  // The round's cgroup (scope or directory) and sandbox wrap the agent's argv; see src/isolation/.
  const iso = prepareIsolation(cfg, roundNum, argv);
  let child: ReturnType<typeof spawn> | undefined;
  if (!interrupted) {
    child = spawn(iso.argv[0]!, iso.argv.slice(1), {
      cwd: cfg.paths.workDir,
      env: childEnv,
      detached: true,
      stdio: [cfg.agent.prompt_delivery === 'stdin' ? 'pipe' : 'ignore', logFd, logFd],
    });
  }
  closeSync(logFd);

  const id: RoundIdentity = { pgid: child?.pid ?? -1, marker: markerEntry, exclude: new Set(lock.helperPids), ...(iso.cgroup ? { cgroup: iso.cgroup } : {}) };
  if (child?.pid) {
    await afterSpawn(iso, child.pid);
    const st = readStat(child.pid);
    if (st) id.minStart = st.starttime;
    bestEffort(() => writeStatus(cfg.paths.logDir, { ...liveBase, pid: child.pid, pgid: child.pid, ...(st ? { start_time: st.starttime } : {}) }));
    events.emit('agent_spawn', {
      round_num: roundNum,
      timeout_s: timeoutS,
      pid: child.pid,
      pgid: child.pid,
      log_path: logPath,
      cgroup_mode: iso.mode,
      cgroup: iso.cgroup?.v2Dir ?? null,
      limits_applied: iso.cgroup?.applied ?? [],
      ...(iso.reason ? { cgroup_unavailable: iso.reason } : {}),
      ...(iso.cgroup?.notApplied.length ? { limits_not_applied: iso.cgroup.notApplied } : {}),
      sandbox: iso.sandbox,
    });
    opts.log?.(`round ${roundNum}${phase ? ` (${phase})` : ''}: agent pid ${child.pid}, log ${logPath}`);
    if (child.stdin) {
      // An agent that exits without reading its prompt must not crash us with EPIPE.
      child.stdin.on('error', () => {});
      child.stdin.end(prompt);
    }
  }

  // 7/8. Wait for the leader's exit (never stdio EOF) under the timeouts, then sweep.
  let sup: SuperviseResult;
  if (child) {
    sup = await superviseAgent({
      beforeSweep: () => resolveFromManager(iso),
      child,
      id,
      follower,
      startMono,
      timeoutS,
      graceMs,
      idleTimeoutS: cfg.runtime.idle_timeout_s,
      graceAfterResultS: cfg.runtime.max_grace_after_result_s,
      graceIgnorePatterns: cfg.runtime.grace_kill_ignore_patterns,
      progressMs: cfg.monitor.round_progress_interval_s * 1000,
      helperPids: lock.helperPids,
      ...(opts.interrupt ? { interrupt: opts.interrupt } : {}),
      bestEffort,
      onGraceExtended: (live) =>
        events.emit('round_grace_extended', { round_num: roundNum, grace_s: cfg.runtime.max_grace_after_result_s, live_children: live.working.slice(0, 5), ignored_children: live.ignored.slice(0, 5) }),
      onProgress: (pr) => events.emit('round_progress', { round_num: roundNum, ...pr }),
    });
  } else {
    sup = { exitCode: null, signal: null, killedBy: 'interrupt', interruptedBy: String(opts.interrupt?.reason ?? 'SIGTERM'), leftoversKilled: 0, liveChildrenAtGrace: [] };
  }
  const { exitCode, signal, spawnError, killedBy, interruptedBy, killMs, leftoversKilled, liveChildrenAtGrace } = sup;
  const oomInRound = iso.cgroup ? iso.cgroup.oomKills() : 0;
  const cgroupLeft = await finishIsolation(iso);
  if (cgroupLeft.length) opts.log?.(`round ${roundNum}: cgroup not removed (still populated): ${cgroupLeft.join(', ')}`);
  const endMono = monoMs();
  bestEffort(() => follower.finish());
  const durationS = round3((endMono - startMono) / 1000);

  // 9. Classification, structured output first, text only as a fallback.
  const stream = follower.stream;
  let transient: TransientSignal | undefined = stream.transient;
  if (!transient && !stream.structured && (exitCode !== 0 || spawnError) && killedBy !== 'interrupt') {
    transient = classifyText(
      follower.tailText(),
      { auth: cfg.monitor.auth_fail_patterns.map((p) => new RegExp(p, 'i')), network: cfg.monitor.network_fail_patterns.map((p) => new RegExp(p, 'i')) },
      Date.now(),
    );
  }
  follower.close();
  const oomAfter = oomKillCount();
  const classification = classify({
    exitCode,
    signal,
    killedBy,
    // The round's own cgroup counts only its own OOM kills, whichever process the kernel chose;
    // without one, the service cgroup's count can only speak for a leader killed by SIGKILL.
    oomKilled: !killedBy && (oomInRound > 0 || (signal === 'SIGKILL' && oomBefore !== undefined && oomAfter !== undefined && oomAfter > oomBefore)),
    transient: transient?.classification,
    resultIsError: stream.resultSeen && stream.resultIsError,
  });
  if (classification.outcome === 'clean') transient = undefined;
  if (interruptedBy) classification.roundExitCode = 128 + (interruptedBy === 'SIGHUP' ? 1 : interruptedBy === 'SIGINT' ? 2 : 15);

  const exitCodeForEvent = exitCode ?? (signal ? -signalNumber(signal) : null);
  events.emit('agent_exit', {
    round_num: roundNum,
    exit_code: exitCodeForEvent,
    signal,
    duration_s: durationS,
    timed_out: killedBy === 'timeout' || killedBy === 'idle' || killedBy === 'grace',
    exit_cause: classification.exit_cause,
    outcome: classification.outcome,
    transient: classification.transient ?? null,
    reset_at_epoch: transient?.reset_at_epoch ?? null,
    leftovers_killed: leftoversKilled,
    tool_calls: stream.toolCalls,
    cost_usd: stream.costUsd ?? null,
    ...(spawnError ? { error: spawnError } : {}),
  });
  if (interruptedBy) events.emit('round_interrupted', { round_num: roundNum, signal: interruptedBy, kill_ms: killMs ?? null });
  if (transient) {
    events.emit('transient_error_detected', {
      round_num: roundNum,
      classification: transient.classification,
      agent: cfg.agent.name ?? cfg.agent.command[0] ?? null,
      reset_at_epoch: transient.reset_at_epoch ?? null,
      raw: transient.raw,
    });
    if (transient.classification === 'network' && !signal) {
      events.emit('agent_network_blip', {
        round_num: roundNum,
        phase: phase ?? null,
        matched: transient.raw.slice(0, 200),
        round_duration_s: durationS,
        exit_code: exitCodeForEvent,
        timed_out: killedBy === 'timeout',
      });
    }
  }
  if (stream.resultSeen && (stream.usage || stream.costUsd !== undefined)) {
    events.emit('agent_usage_recorded', {
      round_num: roundNum,
      agent: cfg.agent.name ?? cfg.agent.command[0] ?? null,
      model: stream.model ?? 'unknown',
      input_tokens: stream.usage?.input_tokens ?? 0,
      output_tokens: stream.usage?.output_tokens ?? 0,
      cached_tokens: stream.usage?.cached_tokens ?? 0,
      cost_usd: stream.costUsd ?? null,
      duration_ms: stream.durationMs ?? Math.round(durationS * 1000),
      tool_call_count: stream.toolCalls,
      phase: phase ?? null,
      success: !stream.resultIsError,
    });
  }

  // The agent's commits, counted before the dirty handler may add its own.
  const commits = await commitsSince(cfg.paths.workDir, headBefore).catch(() => null);

  // 10. Dirty tree: recorded after every round, preserved per policy.
  let dirty: string[] = [];
  let dirtyOutcome: DirtyOutcome | undefined;
  try {
    dirty = await dirtyFiles(cfg.paths.workDir, ownedPaths(cfg));
  } catch (err) {
    opts.log?.(`dirty check failed: ${(err as Error).message}`);
  }
  if (dirty.length) {
    events.emit('dirty_detected', { round_num: roundNum, files: dirty.slice(0, 20), outcome: classification.outcome });
    const clean = classification.outcome === 'clean';
    dirtyOutcome = await handleDirtyTree({
      workDir: cfg.paths.workDir,
      logDir: cfg.paths.logDir,
      owned: ownedPaths(cfg),
      roundNum,
      phase,
      files: dirty,
      action: clean ? cfg.vcs.dirty_action : (cfg.vcs.dirty_action_on_failure ?? cfg.vcs.dirty_action),
      reason: clean ? 'clean_exit_with_dirty_tree' : `${classification.outcome}_with_dirty_tree`,
      idempotencyS: cfg.vcs.stash_idempotency_s,
      events,
    });
  } else {
    rmSync(files.orphan, { force: true });
  }

  if (killedBy === 'grace') {
    events.emit('round_grace_kill', { round_num: roundNum, grace_s: cfg.runtime.max_grace_after_result_s, live_children: liveChildrenAtGrace.slice(0, 5), kill_ms: killMs ?? null });
  } else if (killedBy === 'timeout' || killedBy === 'idle') {
    events.emit('round_timeout_kill', {
      round_num: roundNum,
      reason: killedBy === 'idle' ? `no output for idle_timeout_s=${cfg.runtime.idle_timeout_s}` : `exceeded round_timeout_s=${timeoutS}`,
      kill_ms: killMs ?? null,
    });
  }

  // 11. Final state, then round_end: the round's terminal record.
  const endedAt = isoNow();
  bestEffort(() => writeStatus(cfg.paths.logDir, {
    ...identity,
    running: false,
    last_completed_at: endedAt,
    last_exit_code: exitCodeForEvent,
    last_duration_s: durationS,
    last_outcome: classification.outcome,
    ...(classification.transient ? { last_transient: classification.transient } : {}),
    last_dirty_files: dirty.slice(0, 20),
    last_log_path: logPath,
  }));
  safeMetrics(cfg, 'round_end', { round_num: roundNum, phase: phase ?? null, agent_process_count: 0 });
  events.emit('round_end', { round_num: roundNum, outcome: classification.outcome, duration_s: durationS, commits });
  bestEffort(() => pruneRoundLogs(files.rounds, cfg.runtime.round_log_retention, logPath));
  const evErr = events.writeError as NodeJS.ErrnoException | undefined;
  if (!stateError && evErr) stateError = { code: evErr.code ?? 'EIO', message: evErr.message };

  return {
    roundNum,
    phase,
    startedAt,
    endedAt,
    exitCode,
    signal,
    durationS,
    classification,
    ...(transient ? { transient } : {}),
    logPath,
    dirtyFiles: dirty,
    ...(dirtyOutcome ? { dirty: dirtyOutcome } : {}),
    leftoversKilled,
    ...(stream.costUsd !== undefined ? { costUsd: stream.costUsd } : {}),
    toolCalls: stream.toolCalls,
    commits,
    resultSeen: stream.resultSeen,
    ...(interruptedBy ? { interruptedBy } : {}),
    ...(stateError ? { stateError } : {}),
  };
}

function lastFields(prev: Status | undefined): Partial<Status> {
  if (!prev) return {};
  const out: Partial<Status> = {};
  for (const k of ['last_completed_at', 'last_exit_code', 'last_duration_s', 'last_outcome', 'last_dirty_files', 'last_log_path'] as const) {
    if (prev[k] !== undefined) (out as Record<string, unknown>)[k] = prev[k];
  }
  return out;
}

function supervisorStart(): Partial<Status> {
  const st = readStat(process.pid);
  return st ? { supervisor_start_time: st.starttime } : {};
}

function safeMetrics(cfg: Config, ev: 'round_start' | 'round_end', extra: Record<string, unknown>): void {
  try {
    appendMetrics(cfg.paths.logDir, cfg.paths.workDir, ev, extra);
  } catch {
    /* metrics are advisory; events carry the truth */
  }
}

const SIGNUM: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };
function signalNumber(sig: string): number {
  return SIGNUM[sig] ?? 0;
}
