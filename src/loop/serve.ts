import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { loadConfig } from '../config/load.js';
import { ConfigError, RunnerError } from '../errors.js';
import type { EventSink } from '../events/writer.js';
import { EXIT } from '../exit-codes.js';
import { readStat } from '../proc/procfs.js';
import { ensureLogDirOrFail } from '../round/checks.js';
import { acquireLock, type Lock } from '../round/lock.js';
import { recoverInterruptedRound } from '../round/recovery.js';
import { runRound, StartupCheckError, type RoundResult } from '../round/round.js';
import { stateFiles } from '../state/files.js';
import { isoNow, compactUtc } from '../util/time.js';
import { haltedError, readHalt, writeHalt, type HaltReason } from './halt.js';
import { readLoopState, writeLoopState, type LoopState } from './loop-state.js';
import { decideNext } from './policy.js';
import { clearServeState, writeServeState, type ServeState } from './serve-state.js';
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

      const haltWith = (reason: HaltReason, code: number, message: string, hint: string, roundNum: number | null) => {
        try {
          writeHalt(cfg.paths.logDir, { reason, ts: isoNow(), round_num: roundNum, exit_code: code, message, hint });
        } catch (err) {
          // A full disk can refuse even the halt record; the exit code still says it all.
          opts.log(`could not record the halt in halt.json: ${(err as Error).message}`);
        }
        events.emit('halt_recorded', { reason, exit_code: code, round_num: roundNum, hint });
        opts.log(`halted (${reason}): ${message}. ${hint}`);
        exitCode = code;
        stopReason = reason;
      };

      for (;;) {
        // Every stop condition is re-checked right before every spawn.
        if (stopSignal) break;
        const pre = preSpawnHalt(cfg, loop, events);
        if (pre) {
          haltWith(pre.reason, pre.code, pre.message, pre.hint, null);
          break;
        }
        if (opts.maxRounds !== undefined && invocationRounds >= opts.maxRounds) {
          events.emit('max_rounds_reached', { rounds_completed: invocationRounds, max_rounds: opts.maxRounds, source: 'cli' });
          stopReason = 'max_rounds (--max-rounds)';
          break;
        }

        roundCtl = new AbortController();
        inRound = true;
        setState({ state: 'running_round' });
        let result: RoundResult;
        try {
          result = await runRound({ cfg, events, lock, interrupt: roundCtl.signal, log: opts.log, extraEnv: { AGENT_RUNNER_SERVE_PID: String(process.pid) }, checkCache });
        } catch (e) {
          inRound = false;
          if (e instanceof StartupCheckError && e.failed.name === 'disk_headroom') {
            haltWith('disk', EXIT.HALT_DISK, e.failed.reason ?? 'disk critical', e.failed.hint ?? 'free disk space', null);
            break;
          }
          if (e instanceof ConfigError) {
            events.emit('config_broken', { reason: e.message });
            haltWith('config_broken', EXIT.CONFIG, e.message, 'fix the config or the failed check', null);
            break;
          }
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') {
            haltWith('disk', EXIT.HALT_DISK, `disk full while writing state: ${(e as Error).message}`, 'free disk space', null);
            break;
          }
          throw e;
        } finally {
          inRound = false;
          clearTimeout(drainTimer);
        }
        invocationRounds++;
        if (result.stateError) {
          haltWith('disk', EXIT.HALT_DISK, `a state write failed (${result.stateError.code}): ${result.stateError.message}`, 'free disk space in the log dir', result.roundNum);
          break;
        }
        loop.rounds++;
        if (result.costUsd !== undefined) loop.cost_usd += result.costUsd;
        const { decision, counters } = decideNext(
          { outcome: result.classification.outcome, transient: result.classification.transient, resetAtEpoch: result.transient?.reset_at_epoch, durationS: result.durationS, exitCode: result.exitCode },
          loop,
          cfg.runtime,
          Date.now(),
          Math.random,
        );
        loop = { ...loop, ...counters };
        try {
          writeLoopState(cfg.paths.logDir, loop);
        } catch (err) {
          haltWith('disk', EXIT.HALT_DISK, `a state write failed: ${(err as Error).message}`, 'free disk space in the log dir', result.roundNum);
          break;
        }
        setState({ rounds_completed: state.rounds_completed + 1, round_num: result.roundNum, consecutive_failures: loop.consecutive_failures, cost_usd: loop.cost_usd });
        if (reloadPending) doReload();

        if (decision.kind === 'halt') {
          if (decision.reason === 'crash_loop') {
            events.emit('crash_loop', { consecutive: loop.consecutive_failures, exit_code: result.exitCode, outcome: result.classification.outcome, reason: decision.detail });
            haltWith('crash_loop', EXIT.HALT_CRASH_LOOP, decision.detail, `see the last round log (${result.logPath})`, result.roundNum);
          } else if (decision.reason === 'auth_failure') {
            const hint = cfg.monitor.auth_fail_hint || 'log the agent CLI in again on this host';
            events.emit('auth_failure_halt', { consecutive: loop.consecutive_auth, round_num: result.roundNum, hint });
            haltWith('auth_failure', EXIT.HALT_AUTH, decision.detail, hint, result.roundNum);
          } else {
            events.emit('agent_self_terminated', { reason: 'rate_limit', archived_to: null });
            haltWith('done', EXIT.HALT_DONE, decision.detail, 'wait for the limit to reset', result.roundNum);
          }
          break;
        }
        if (opts.once || stopSignal) break;
        if (opts.maxRounds !== undefined && invocationRounds >= opts.maxRounds) continue; // reported at the top

        if (decision.delayMs > 0) {
          const until = Date.now() + decision.delayMs;
          const untilIso = isoNow(until);
          const waitReason = decision.reason;
          const cls = result.classification.transient;
          if (decision.capped && cls) {
            events.emit('transient_error_backoff_capped', {
              classification: cls,
              agent: cfg.agent.name ?? cfg.agent.command[0] ?? null,
              requested_sleep_s: Math.round(decision.capped.requestedS),
              applied_sleep_s: Math.round(decision.capped.appliedS),
              original_reset_at_epoch: result.transient?.reset_at_epoch ?? null,
            });
          }
          if (decision.delayMs >= 1000) setState({ state: 'waiting', until: untilIso, wait_reason: waitReason });
          // Short restart delays are not worth an event; anything a human could mistake for a hang is.
          const beat = () => events.emit('serve_waiting', { reason: waitReason, until: untilIso, seconds: Math.round((until - Date.now()) / 1000), round_num: result.roundNum });
          if (decision.delayMs >= 5000 || waitReason !== 'restart_delay') beat();
          const t0 = Date.now();
          const w = await waitUntil(until, stopCtl.signal, beat);
          if (w === 'done' && cls && waitReason !== 'restart_delay') {
            events.emit('transient_error_recovered', { classification: cls, agent: cfg.agent.name ?? cfg.agent.command[0] ?? null, throttled_for_s: Math.round((Date.now() - t0) / 1000) });
          }
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
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new RunnerError(`disk full in ${cfg.paths.logDir}: ${(err as Error).message}`, 'disk_full', EXIT.HALT_DISK);
      throw err;
    }
  })();

  return { control, done };
}

/** Halts decided before a spawn: the agent's done sentinel, the stop file, budgets. */
function preSpawnHalt(cfg: Config, loop: LoopState, events: EventSink): { reason: HaltReason; code: number; message: string; hint: string } | undefined {
  const sentinel = cfg.paths.doneSentinel;
  if (existsSync(sentinel)) {
    const content = readHead(sentinel);
    // Archived, never deleted: the agent's last word is evidence.
    const archiveDir = join(cfg.paths.logDir, 'archive');
    mkdirSync(archiveDir, { recursive: true, mode: 0o700 });
    const archived = join(archiveDir, `agent-done-${compactUtc()}`);
    try {
      renameSync(sentinel, archived);
    } catch {
      /* a read-only sentinel location: the halt still holds */
    }
    events.emit('agent_self_terminated', { reason: content, archived_to: archived });
    return { reason: 'done', code: EXIT.HALT_DONE, message: `the agent reported it is done: ${content.trim() || '(empty sentinel)'}`, hint: `its note is archived at ${archived}` };
  }
  const stopFile = cfg.paths.stopFile;
  if (stopFile && existsSync(stopFile)) {
    const content = readHead(stopFile);
    events.emit('stop_file_detected', { stop_file: stopFile, content, rounds_completed: loop.rounds });
    return { reason: 'stop_file', code: EXIT.HALT_STOP_FILE, message: `stop file ${stopFile} exists`, hint: `remove ${stopFile}` };
  }
  const rt = cfg.runtime;
  if (rt.max_rounds !== undefined && loop.rounds >= rt.max_rounds) {
    events.emit('max_rounds_reached', { rounds_completed: loop.rounds, max_rounds: rt.max_rounds, source: 'config' });
    return { reason: 'budget', code: EXIT.HALT_BUDGET, message: `max_rounds = ${rt.max_rounds} reached`, hint: 'raise runtime.max_rounds' };
  }
  if (rt.max_wall_s !== undefined) {
    const spent = (Date.now() - Date.parse(loop.budget_started_at)) / 1000;
    if (spent >= rt.max_wall_s) {
      events.emit('budget_exhausted', { budget: 'max_wall_s', limit: rt.max_wall_s, spent: Math.round(spent) });
      return { reason: 'budget', code: EXIT.HALT_BUDGET, message: `wall-clock budget max_wall_s = ${rt.max_wall_s} spent`, hint: 'raise runtime.max_wall_s' };
    }
  }
  if (rt.max_cost_usd !== undefined && loop.cost_usd >= rt.max_cost_usd) {
    events.emit('budget_exhausted', { budget: 'max_cost_usd', limit: rt.max_cost_usd, spent: Math.round(loop.cost_usd * 10000) / 10000 });
    return { reason: 'budget', code: EXIT.HALT_BUDGET, message: `cost budget max_cost_usd = ${rt.max_cost_usd} spent ($${loop.cost_usd.toFixed(4)})`, hint: 'raise runtime.max_cost_usd' };
  }
  return undefined;
}

/** The first 200 characters of a marker file; an unreadable one still counts, with no content. */
function readHead(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(0, 200);
  } catch {
    return '';
  }
}
