import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import type { Config } from '../config/load.js';
import { RunnerError } from '../errors.js';
import { readServeState } from '../loop/serve-state.js';
import { environHas, isAlive, listPids } from '../proc/procfs.js';
import { ensureLogDirOrFail } from '../round/checks.js';
import { stateFiles } from '../state/files.js';
import { serviceStatus, readServePid, type ServiceStatus } from './status.js';
import { systemctl } from './systemctl.js';
import { detectUnitMode, serveUnitName } from './units.js';
import { LONG_RUNNING_NODE_FLAGS } from './node-flags.js';
import { sleep } from '../util/sleep.js';

export interface StopResult {
  mode: string;
  was_active: boolean;
  stopped: boolean;
  seconds: number;
  /** Processes of this project's rounds found alive after the stop (they are killed, and reported). */
  leftovers: number[];
  escalated?: 'interrupt' | 'kill';
}

async function waitGone(pid: number, startTime: number | undefined, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid, startTime)) return true;
    await sleep(25);
  }
  return !isAlive(pid, startTime);
}

/** Every live process that belongs to one of this project's rounds: agents carry AGENT_RUNNER_LOG_DIR. */
export function projectProcesses(cfg: Config): number[] {
  const entry = `AGENT_RUNNER_LOG_DIR=${cfg.paths.logDir}`;
  return listPids().filter((pid) => pid !== process.pid && isAlive(pid) && environHas(pid, entry));
}

async function killLeftovers(cfg: Config, graceMs: number): Promise<number[]> {
  const found = projectProcesses(cfg);
  if (!found.length) return [];
  for (const pid of found) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && projectProcesses(cfg).length) await sleep(25);
  for (const pid of projectProcesses(cfg)) signal(pid, 'SIGKILL');
  const end = Date.now() + 3000;
  while (Date.now() < end && projectProcesses(cfg).length) await sleep(10);
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

/** Start serve: through systemctl when a unit is installed, else detached with a pid file. */
export async function startService(cfg: Config, cliEntry: string): Promise<ServiceStatus & { already?: boolean; log?: string }> {
  const unit = detectUnitMode(cfg.project);
  if (unit) {
    await systemctl(unit.mode === 'systemd-user' ? 'user' : 'system', ['start', serveUnitName(cfg.project)], { check: true });
    return serviceStatus(cfg);
  }
  const before = await serviceStatus(cfg);
  if (before.active) return { ...before, already: true };
  ensureLogDirOrFail(cfg);
  const logPath = stateFiles(cfg.paths.logDir).serveLog;
  const fd = openSync(logPath, 'a', 0o600);
  // Its own session: the terminal that ran `start` can close without taking serve with it.
  const child = spawn(process.execPath, [...LONG_RUNNING_NODE_FLAGS, cliEntry, 'serve', '--config', cfg.path], {
    cwd: cfg.paths.workDir,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: process.env,
  });
  closeSync(fd);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (readServePid(cfg.paths.logDir) === child.pid && readServeState(cfg.paths.logDir)?.pid === child.pid) break;
    if (exited !== undefined) {
      const tail = readFileSync(logPath, 'utf8').trim().split('\n').slice(-3).join(' | ');
      throw new RunnerError(`serve exited at once (exit ${exited}): ${tail}`, 'start_failed', exited ?? 1);
    }
    if (Date.now() > deadline) throw new RunnerError(`serve (pid ${child.pid}) did not come up within 15 s; see ${logPath}`, 'start_failed');
    await sleep(20);
  }
  child.unref();
  return { ...(await serviceStatus(cfg)), log: logPath };
}

/** Graceful stop (serve drains the round), then a check that nothing of the project is left. */
export async function stopService(cfg: Config, opts: { timeoutMs?: number } = {}): Promise<StopResult> {
  const t0 = Date.now();
  const st = await serviceStatus(cfg);
  const graceMs = cfg.runtime.kill_grace_s * 1000;
  let escalated: StopResult['escalated'];
  if (st.mode === 'systemd-user' || st.mode === 'systemd-system') {
    // KillMode=mixed: only serve gets SIGTERM and drains; systemd SIGKILLs the rest at TimeoutStopSec.
    await systemctl(st.mode === 'systemd-user' ? 'user' : 'system', ['stop', serveUnitName(cfg.project)], { check: true });
  } else if (st.active && st.pid) {
    const startTime = readServeState(cfg.paths.logDir)?.start_time;
    signal(st.pid, 'SIGTERM');
    const drainMs = opts.timeoutMs ?? (cfg.runtime.stop_drain_s * 1000 + graceMs + 10_000);
    if (!(await waitGone(st.pid, startTime, drainMs))) {
      escalated = 'interrupt';
      signal(st.pid, 'SIGTERM');
      if (!(await waitGone(st.pid, startTime, graceMs + 5000))) {
        escalated = 'kill';
        signal(st.pid, 'SIGKILL');
        await waitGone(st.pid, startTime, 5000);
      }
    }
  }
  const leftovers = await killLeftovers(cfg, graceMs);
  const after = await serviceStatus(cfg);
  if (after.mode === 'pid-file' && !after.active) rmSync(stateFiles(cfg.paths.logDir).servePid, { force: true });
  return { mode: st.mode, was_active: st.active, stopped: !after.active, seconds: (Date.now() - t0) / 1000, leftovers, ...(escalated ? { escalated } : {}) };
}

/** Forced stop: TERM to serve and every process of the project at once, 5 s, then KILL. */
export async function killService(cfg: Config): Promise<StopResult> {
  const t0 = Date.now();
  const st = await serviceStatus(cfg);
  if (st.mode === 'systemd-user' || st.mode === 'systemd-system') {
    const scope = st.mode === 'systemd-user' ? 'user' : 'system';
    const unit = serveUnitName(cfg.project);
    await systemctl(scope, ['kill', '--kill-whom=all', '--signal=SIGTERM', unit]);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await serviceStatus(cfg)).pid) await sleep(50);
    await systemctl(scope, ['kill', '--kill-whom=all', '--signal=SIGKILL', unit]);
    // A unit killed by a signal would be restarted: stop cancels that.
    await systemctl(scope, ['stop', unit]);
  } else if (st.active && st.pid) {
    const startTime = readServeState(cfg.paths.logDir)?.start_time;
    signal(st.pid, 'SIGTERM');
    for (const pid of projectProcesses(cfg)) signal(pid, 'SIGTERM');
    if (!(await waitGone(st.pid, startTime, 5000))) signal(st.pid, 'SIGKILL');
    await waitGone(st.pid, startTime, 3000);
  }
  const leftovers = await killLeftovers(cfg, 5000);
  const after = await serviceStatus(cfg);
  if (after.mode === 'pid-file' && !after.active) rmSync(stateFiles(cfg.paths.logDir).servePid, { force: true });
  return { mode: st.mode, was_active: st.active, stopped: !after.active, seconds: (Date.now() - t0) / 1000, leftovers };
}
