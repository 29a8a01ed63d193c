import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compactUtc, utcMonth } from '../util/time.js';

/** Every file agent-runner keeps under log_dir, named once. */
export const stateFiles = (logDir: string) => ({
  status: join(logDir, 'status.json'),
  counter: join(logDir, 'round-counter.json'),
  context: join(logDir, 'round-context.json'),
  orphan: join(logDir, 'orphan-state.json'),
  halt: join(logDir, 'halt.json'),
  loopState: join(logDir, 'loop-state.json'),
  servePid: join(logDir, 'serve.pid'),
  serveState: join(logDir, 'serve-state.json'),
  /** serve's stdout and stderr when `start` runs it without a service manager. */
  serveLog: join(logDir, 'serve.log'),
  rounds: join(logDir, 'rounds'),
  lock: join(logDir, 'agent-runner.lock'),
  /** Who holds the lock (pid, start time, cmdline), beside it. */
  lockHolder: join(logDir, 'agent-runner.lock.holder'),
  archive: join(logDir, 'archive'),
  /**
   * Where earlier versions kept the monitor's state. Read (peek, and a monitor's first start, as
   * its starting point), never written: the monitor keeps its own under the user's state dir.
   */
  legacyMonitorState: join(logDir, 'monitor-state.json'),
});

export type StateFiles = ReturnType<typeof stateFiles>;

/** Where serve archives the agent's done sentinel: `archive/agent-done-<UTC time>`. */
export function doneArchivePath(logDir: string, nowMs: number): string {
  return join(stateFiles(logDir).archive, `agent-done-${compactUtc(nowMs)}`);
}

// ---------------------------------------------------------------------------------------------
// Round logs: rounds/R<N>-<UTC time>.log

/** A round's log: `rounds/R<N>-<UTC start time>.log`. */
export function roundLogPath(logDir: string, roundNum: number, startedMs: number): string {
  return join(stateFiles(logDir).rounds, `R${roundNum}-${compactUtc(startedMs)}.log`);
}

const ROUND_LOG = /^R(\d+)-.*\.log$/;

/** The round number of a round log's file name; undefined for any other name. */
export function roundOfLogName(name: string): number | undefined {
  const m = ROUND_LOG.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Whether a file name in rounds/ is round `n`'s log. */
export function isLogOfRound(name: string, n: number): boolean {
  return roundOfLogName(name) === n;
}

// ---------------------------------------------------------------------------------------------
// Monthly JSONL files: events-YYYY-MM.jsonl, metrics-YYYY-MM.jsonl (UTC month)

/** The events file a record written at `nowMs` goes to. */
export function eventsFile(logDir: string, nowMs: number): string {
  return join(logDir, `events-${utcMonth(nowMs)}.jsonl`);
}

const EVENTS_FILE = /^events-(\d{4}-\d{2})\.jsonl$/;

/** The UTC month (`YYYY-MM`) of an events file's name; undefined for any other name. */
export function monthOfEventsFile(name: string): string | undefined {
  return EVENTS_FILE.exec(name)?.[1];
}

/** The metrics file a sample taken at `nowMs` goes to. */
export function metricsFile(logDir: string, nowMs: number): string {
  return join(logDir, `metrics-${utcMonth(nowMs)}.jsonl`);
}

/** The round log of round `n` under log_dir, when one was kept. */
export function findRoundLog(logDir: string, n: number): string | undefined {
  const dir = stateFiles(logDir).rounds;
  try {
    const name = readdirSync(dir).find((f) => isLogOfRound(f, n));
    return name ? join(dir, name) : undefined;
  } catch {
    return undefined;
  }
}
