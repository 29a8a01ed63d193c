import { rmSync } from 'node:fs';
import type { Config } from '../config/load.js';
import { loadConfig } from '../config/load.js';
import { ConfigError, errnoCode, RunnerError } from '../errors.js';
import type { EventSink } from '../events/writer.js';
import { EXIT } from '../exit-codes.js';
import { readStat } from '../proc/procfs.js';
import { ensureLogDirOrFail } from '../round/checks.js';
import { acquireLock, type Lock } from '../round/lock.js';
import { recoverInterruptedRound } from '../round/recovery.js';
import { LoginExpiredError, runRound, StartupCheckError, type RoundResult } from '../round/round.js';
import { stateFiles } from '../state/files.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { isoNow } from '../util/time.js';
import { haltNotification, serveExitNotification, usageLimitEndNotification, usageLimitWaitNotification } from '../notify/messages.js';
import { Notifier, originOf } from '../notify/notifier.js';
import { haltedError, readHalt, recordHalt as recordHaltFile } from './halt.js';
import { readLoopState, writeLoopState, type LoopState } from './loop-state.js';
import { readPreRoundMarkers } from './markers.js';
import { decideBeforeRound, decideNext, decideOnRoundFailure, HALTS, isDiskFull, type Continue, type HaltDecision, type RoundFailure, type RoundSummary } from './policy.js';
import { clearServeState, writeServeState, type ServeState } from './serve-state.js';
import { hostTimeZone, reserveWindowEnd } from './reserve.js';
import { publishPause, readSharedPause, sharedQuotaKey, sharedQuotaPath } from './shared-quota.js';
import { waitUntil } from './wait.js';

export interface ServeOptions {
  cfg: Config;
  makeEvents: (cfg: Config) => EventSink;
  once?: boolean;
  /** This invocation only (not a durable budget). */
  maxRounds?: number;
  log: (line: string) => void;
  version: string;
}

export interface ServeControl {
  /** First call: drain; second: interrupt the round now. */
  stop(signal: NodeJS.Signals): void;
  reload(): void;
}

/**
 * The restart loop. It runs rounds in this process (no per-round child that can be orphaned),
 * holds the project lock for its whole life, and turns every terminal state into a durable halt
 * with its own exit code, so a service manager can never undo it.
 */
export function serve(opts: ServeOptions): { control: ServeControl; done: Promise<number> } {
  let cfg = opts.cfg;
  let events = opts.makeEvents(cfg);
  // The outbox writes its events through whichever sink is current (a reload replaces it).
  const notifyEvents: EventSink = { emit: (kind, payload) => events.emit(kind, payload) };
  let notifier = Notifier.open(cfg, notifyEvents, opts.version, opts.log);
  const stopCtl = new AbortController(); // aborts waits
  let roundCtl: AbortController | undefined; // aborts the running round
  let stopSignal: NodeJS.Signals | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  let reloadPending = false;
  let checkCache = new Set<string>();
  let inRound = false;

  const doReload = () => {
    reloadPending = false;
    try {
      const fresh = loadConfig(cfg.path);
      cfg = fresh;
      checkCache = new Set();
      events = opts.makeEvents(cfg);
      notifier = Notifier.open(cfg, notifyEvents, opts.version, opts.log);
      events.emit('serve_reload', { config: cfg.path });
      opts.log(`reloaded ${cfg.path}`);
    } catch (e) {
      const msg = e instanceof RunnerError ? e.message : String(e);
      events.emit('serve_reload_rejected', { config: cfg.path, error: msg });
      opts.log(`reload rejected, keeping the running config: ${msg}`);
    }
  };

  const control: ServeControl = {
    stop(signal) {
      if (!stopSignal) {
        stopSignal = signal;
        const drainS = cfg.runtime.stop_drain_s;
        events.emit('serve_stopping', { signal, mode: inRound ? 'drain' : 'idle', drain_s: drainS });
        opts.log(`${signal}: stopping${inRound ? ` after the current round (at most ${drainS}s; send ${signal} again to interrupt it now)` : ''}`);
        stopCtl.abort(signal);
        if (inRound) drainTimer = setTimeout(() => roundCtl?.abort(signal), drainS * 1000);
      } else if (roundCtl && !roundCtl.signal.aborted) {
        events.emit('serve_stopping', { signal, mode: 'interrupt', drain_s: 0 });
        opts.log(`${signal} again: interrupting the round now`);
        roundCtl.abort(signal);
      }
    },
    reload() {
      if (inRound) reloadPending = true;
      else doReload();
    },
  };

  const run = async (): Promise<number> => {
    ensureLogDirOrFail(cfg);
    // Whatever a previous run left queued (it crashed, or its flush ran out of time) goes out now.
    notifier.kick();
    const files = stateFiles(cfg.paths.logDir);
    const halt = readHalt(cfg.paths.logDir);
    if (halt) {
      events.emit('halt_refused_start', { reason: halt.reason, since: halt.ts, verb: 'serve' });
      throw haltedError(halt);
    }
    const lock: Lock = await acquireLock(cfg.paths.logDir);
    const me = readStat(process.pid);
    const state: ServeState = {
      pid: process.pid,
      ...(me ? { start_time: me.starttime } : {}),
      started_at: isoNow(),
      state: 'starting',
      rounds_completed: 0,
      consecutive_failures: 0,
      cost_usd: 0,
      updated_at: isoNow(),
    };
    const setState = (patch: Partial<ServeState>) => {
      Object.assign(state, patch, { updated_at: isoNow() });
      if (!patch.until) delete state.until;
      if (!patch.wait_reason) delete state.wait_reason;
      try {
        writeServeState(cfg.paths.logDir, state);
      } catch {
        /* advisory (peek/status); a full disk is caught where it matters, after the round */
      }
    };
    let exitCode: number = EXIT.OK;
    let stopReason = 'stopped';
    try {
      writeFileAtomic(files.servePid, String(process.pid));
      setState({});
      if (lock.staleHolder) {
        events.emit('lock_stale_takeover', { holder_pid: lock.staleHolder.holder.pid, holder_started_at: lock.staleHolder.holder.started_at ?? null, reason: lock.staleHolder.reason });
      }
      events.emit('serve_started', { pid: process.pid, mode: process.env['INVOCATION_ID'] ? 'systemd' : 'foreground', max_rounds: opts.maxRounds ?? cfg.runtime.max_rounds ?? null, version: opts.version });
      await recoverInterruptedRound(cfg, events, cfg.runtime.kill_grace_s * 1000);

      let loop: LoopState = readLoopState(cfg.paths.logDir, isoNow());
      let invocationRounds = 0;

      const recordHalt = (h: HaltDecision, roundNum: number | null) => {
        // The human hears of the halt before anything else can fail, even if no monitor runs.
        exitCode = recordHaltFile(cfg.paths.logDir, events, h, roundNum, opts.log, (halt) => notifier.notify(haltNotification(originOf(cfg), halt)));
        stopReason = h.reason;
      };

      for (;;) {
        // Every stop condition is re-checked right before every spawn.
        if (stopSignal) break;
        const now = Date.now();
        const pre = decideBeforeRound({ ...readPreRoundMarkers(cfg, now), loop }, cfg.runtime, now);
        if (pre) {
          recordHalt(pre, null);
          break;
        }
        if (opts.maxRounds !== undefined && invocationRounds >= opts.maxRounds) {
          events.emit('max_rounds_reached', { rounds_completed: invocationRounds, max_rounds: opts.maxRounds, source: 'cli' });
          stopReason = 'max_rounds (--max-rounds)';
          break;
        }

        // No round while the human keeps the quota, or while another project of this account waits out its reset.
        if (await waitForQuotaGate({ cfg, events, signal: stopCtl.signal, setState, notifier }, state.round_num ?? null)) {
          if (reloadPending) doReload();
          continue;
        }

        roundCtl = new AbortController();
        inRound = true;
        setState({ state: 'running_round' });
        let result: RoundResult;
        try {
          result = await runRound({ cfg, events, lock, interrupt: roundCtl.signal, log: opts.log, extraEnv: { AGENT_RUNNER_SERVE_PID: String(process.pid) }, checkCache });
        } catch (e) {
          const failure = roundFailureOf(e);
          if (!failure) throw e;
          recordHalt(decideOnRoundFailure(failure), null);
          break;
        } finally {
          inRound = false;
          clearTimeout(drainTimer);
        }
        invocationRounds++;
        if (result.stateError) {
          recordHalt(decideOnRoundFailure({ kind: 'state_write', message: `a state write failed (${result.stateError.code}): ${result.stateError.message}` }), result.roundNum);
          break;
        }
        loop.rounds++;
        if (result.costUsd !== undefined) loop.cost_usd += result.costUsd;
        const { decision, counters } = decideNext(summaryOf(result, cfg), loop, { ...cfg.runtime, auth_fail_hint: cfg.monitor.auth_fail_hint, quota: cfg.quota }, Date.now(), Math.random);
        loop = { ...loop, ...counters };
        try {
          writeLoopState(cfg.paths.logDir, loop);
        } catch (err) {
          recordHalt(decideOnRoundFailure({ kind: 'state_write', message: `a state write failed: ${(err as Error).message}` }), result.roundNum);
          break;
        }
        setState({ rounds_completed: state.rounds_completed + 1, round_num: result.roundNum, consecutive_failures: loop.consecutive_failures, cost_usd: loop.cost_usd });
        if (reloadPending) doReload();

        if (decision.kind === 'halt') {
          recordHalt(decision, result.roundNum);
          break;
        }
        await shareQuotaPause(cfg, decision, result, opts.log);
        if (opts.once || stopSignal) break;
        if (opts.maxRounds !== undefined && invocationRounds >= opts.maxRounds) continue; // reported at the top
        if (decision.delayMs > 0) {
          await waitBeforeNextRound(decision, result, { cfg, events, signal: stopCtl.signal, setState, notifier });
          if (reloadPending) doReload();
        }
      }
      return exitCode;
    } finally {
      // Each step on its own: a failed write (full disk) must not skip the lock release.
      const tryDo = (fn: () => void) => {
        try {
          fn();
        } catch {
          /* best effort while shutting down */
        }
      };
      tryDo(() => setState({ state: 'stopping' }));
      events.emit('serve_stopped', { reason: stopSignal ? `signal ${stopSignal}` : stopReason, rounds_completed: state.rounds_completed, exit_code: exitCode });
      tryDo(() => rmSync(files.servePid, { force: true }));
      tryDo(() => clearServeState(cfg.paths.logDir));
      await lock.release();
    }
  };

  const done = (async (): Promise<number> => {
    try {
      return await run();
    } catch (err) {
      // A full disk outside a round (serve's own state files): the disk halt's exit code, without
      // the halt record it could not write.
      const fail = isDiskFull(errnoCode(err)) ? new RunnerError(`disk full in ${cfg.paths.logDir}: ${(err as Error).message}`, 'disk_full', HALTS.disk.exitCode) : err;
      // A refusal to start (halted, lock held, bad config) is expected; anything else ends serve unexpectedly.
      if (!(fail instanceof RunnerError) || fail.code === 'disk_full') {
        notifier.notify(serveExitNotification(originOf(cfg), { ts: isoNow(), exit_code: fail instanceof RunnerError ? fail.exitCode : EXIT.FAILURE, error: (fail as Error).message }));
      }
      throw fail;
    } finally {
      // Bounded: a receiver that is down must not keep a halted serve from exiting.
      const left = await notifier.flush(cfg.runtime.notify_flush_s * 1000);
      if (left > 0) opts.log(`${left} notification(s) still queued in ${cfg.paths.logDir}/outbox; the next serve, a monitor or "agent-runner notify flush" delivers them`);
    }
  })();

  return { control, done };
}

/** The errors of a round that mean it cannot run (or be recorded): anything else is a bug. */
function roundFailureOf(e: unknown): RoundFailure | undefined {
  if (e instanceof LoginExpiredError) return { kind: 'login_expired', reason: e.failed.reason ?? 'the agent\'s login has expired', hint: e.failed.hint ?? HALTS.auth_failure.hint };
  if (e instanceof StartupCheckError && e.failed.name === 'disk_headroom') return { kind: 'disk_check', reason: e.failed.reason, hint: e.failed.hint };
  if (e instanceof ConfigError) return { kind: 'config', message: e.message };
  if (isDiskFull(errnoCode(e))) return { kind: 'disk_full', message: (e as Error).message };
  return undefined;
}

function summaryOf(r: RoundResult, cfg: Config): RoundSummary {
  return {
    roundNum: r.roundNum,
    outcome: r.classification.outcome,
    verdict: r.verdict,
    quota: r.rateLimit,
    transient: r.classification.transient,
    resetAtEpoch: r.transient?.reset_at_epoch,
    durationS: r.durationS,
    exitCode: r.exitCode,
    logPath: r.logPath,
    agent: agentName(cfg),
  };
}

const agentName = (cfg: Config) => cfg.agent.name ?? cfg.agent.command[0] ?? 'agent';

/**
 * Waits out quota.reserve's window, or a pause another project of the same account published,
 * whichever holds now. True when it waited (the caller re-checks every stop condition before a
 * round), false when nothing holds.
 */
async function waitForQuotaGate(w: WaitContext, lastRound: number | null): Promise<boolean> {
  const { cfg, events } = w;
  const now = Date.now();
  let until: number | undefined;
  let reason: 'reserve' | 'shared_quota' | undefined;
  const reserve = cfg.quota.reserve;
  const reserveEnd = reserve ? reserveWindowEnd(now, reserve) : undefined;
  if (reserve && reserveEnd !== undefined) {
    until = reserveEnd;
    reason = 'reserve';
    events.emit('quota_reserve_wait', { from: reserve.from, to: reserve.to, time_zone: reserve.time_zone ?? hostTimeZone(), until: isoNow(until) });
  } else {
    const env = { ...process.env, ...cfg.agent.env };
    const key = sharedQuotaKey(cfg, env);
    const shared = key ? readSharedPause(sharedQuotaPath(key), cfg, now) : undefined;
    if (!key || !shared) return false;
    const requestedS = shared.paused_until_epoch - now / 1000 + cfg.runtime.usage_limit_buffer_s;
    until = now + Math.round(Math.min(requestedS, cfg.runtime.usage_limit_max_wait_s) * 1000);
    reason = 'shared_quota';
    events.emit('quota_shared_pause', {
      account: key,
      reason: shared.reason,
      source_project: shared.source.project,
      source_config: shared.source.config,
      source_round_num: shared.source.round_num,
      reset_at_epoch: shared.paused_until_epoch,
      until: isoNow(until),
    });
  }
  const untilIso = isoNow(until);
  w.setState({ state: 'waiting', until: untilIso, wait_reason: reason });
  const beat = () => events.emit('serve_waiting', { reason, until: untilIso, seconds: Math.round((until - Date.now()) / 1000), round_num: lastRound });
  beat();
  await waitUntil(until, w.signal, beat);
  return true;
}

/** A round refused for its quota (or pausing for its window) pauses every project of the account. */
async function shareQuotaPause(cfg: Config, decision: Continue, result: RoundResult, log: (line: string) => void): Promise<void> {
  const untilEpoch = decision.reason === 'usage_limit' ? result.transient?.reset_at_epoch : decision.reason === 'quota' ? decision.quota?.resetAtEpoch : undefined;
  if (!untilEpoch || untilEpoch * 1000 <= Date.now()) return;
  const key = sharedQuotaKey(cfg, { ...process.env, ...cfg.agent.env });
  if (!key) return;
  try {
    await publishPause(sharedQuotaPath(key), { key, untilEpoch, reason: decision.reason === 'quota' ? 'quota' : 'usage_limit', cfg, roundNum: result.roundNum });
  } catch (err) {
    // Advisory for the other projects: this one waits out its own limit either way.
    log(`could not share the quota pause with the other projects of this account: ${(err as Error).message}`);
  }
}

interface WaitContext {
  cfg: Config;
  events: EventSink;
  signal: AbortSignal;
  setState: (patch: Partial<ServeState>) => void;
  notifier: Notifier;
}

/** The wait the policy asked for, visible to the witness (serve-state, heartbeats) and abortable. */
async function waitBeforeNextRound(decision: Continue, result: RoundResult, w: WaitContext): Promise<void> {
  const { cfg, events } = w;
  const until = Date.now() + decision.delayMs;
  const untilIso = isoNow(until);
  const waitReason = decision.reason;
  const cls = result.classification.transient;
  if (decision.capped && cls) {
    events.emit('transient_error_backoff_capped', {
      classification: cls,
      agent: agentName(cfg),
      requested_sleep_s: Math.round(decision.capped.requestedS),
      applied_sleep_s: Math.round(decision.capped.appliedS),
      original_reset_at_epoch: result.transient?.reset_at_epoch ?? null,
    });
  }
  if (decision.quota) {
    events.emit('quota_pause', {
      round_num: result.roundNum,
      trigger: decision.quota.trigger,
      window: result.rateLimit?.window ?? null,
      utilization: result.rateLimit?.utilization ?? null,
      reset_at_epoch: decision.quota.resetAtEpoch,
      until: untilIso,
    });
  }
  if (decision.delayMs >= 1000) w.setState({ state: 'waiting', until: untilIso, wait_reason: waitReason });
  // Short restart delays are not worth an event; anything a human could mistake for a hang is.
  const beat = () => events.emit('serve_waiting', { reason: waitReason, until: untilIso, seconds: Math.round((until - Date.now()) / 1000), round_num: result.roundNum });
  if (decision.delayMs >= 5000 || waitReason !== 'restart_delay') beat();
  const t0 = Date.now();
  const usageLimit = waitReason === 'usage_limit';
  if (usageLimit) {
    w.notifier.notify(usageLimitWaitNotification(originOf(cfg), { ts: isoNow(t0), round_num: result.roundNum, until: untilIso, reset_at_epoch: result.transient?.reset_at_epoch ?? null, agent: agentName(cfg) }));
  }
  const ended = await waitUntil(until, w.signal, beat);
  if (ended === 'done' && cls && waitReason !== 'restart_delay') {
    const waitedS = Math.round((Date.now() - t0) / 1000);
    events.emit('transient_error_recovered', { classification: cls, agent: agentName(cfg), throttled_for_s: waitedS });
    if (usageLimit) w.notifier.notify(usageLimitEndNotification(originOf(cfg), { ts: isoNow(), round_num: result.roundNum, waited_s: waitedS, agent: agentName(cfg) }));
  }
}
