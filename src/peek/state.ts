import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { timeoutFor, type Config } from '../config/load.js';
import { RunnerError } from '../errors.js';
import type { EventRecord } from '../events/reader.js';
import { readHalt } from '../loop/halt.js';
import { readServeState } from '../loop/serve-state.js';
import { sampleHost } from '../metrics/host.js';
import { readTail } from '../monitor/history.js';
import { sampleDisks, processState } from '../monitor/snapshot.js';
import { readMonitorState } from '../monitor/state-file.js';
import { findRoundProcesses, isAlive } from '../proc/procfs.js';
import { serviceStatus } from '../service/status.js';
import { isLogOfRound, stateFiles } from '../state/files.js';
import { readJsonOr } from '../state/json-file.js';
import { maxRoundInLogs } from '../state/round-counter.js';
import { readStatus, type Status } from '../state/status.js';
import { markerEntry } from '../round/process-group.js';
import { collectRecent, type Recent, type RoundSummary } from './recent.js';

/**
 * The ProjectState document: upstream's keys and shapes (schema 1.9), plus what upstream never
 * filled — the live round, real recent rounds, host figures sampled now, halt and wait state.
 * Every read is of a small state file or from the end of a log; nothing reads a whole history.
 */
export const SCHEMA_VERSION = '2.0';
const RECENT_ROUNDS = 10;
const LOG_TAIL_LINES = 50;
/** Logs up to this size are scanned whole for tool calls; larger ones only at their end. */
const TOOL_SCAN_BYTES = 4 * 1024 * 1024;

export interface PeekOptions {
  round?: number | 'latest';
  log?: boolean;
  events?: number;
  now?: number;
}

export interface RoundView {
  round_num: number;
  phase: string | null;
  started_at: string | null;
  duration_so_far_s: number | null;
  pid: number | null;
  exit_code: number | null;
  timed_out: boolean | null;
  log_path: string | null;
  log_tail: string[] | null;
  recent_events: EventRecord[];
  // ---- ours ----
  running: boolean;
  outcome: string | null;
  transient: string | null;
  timeout_s: number;
  agent_alive: boolean | null;
  supervisor_pid: number | null;
  supervisor: string | null;
  log_size_bytes: number | null;
  last_output_at: string | null;
  seconds_since_output: number | null;
  tool_calls: number | null;
  tool_calls_source: 'round_progress' | 'log' | 'log_tail' | 'agent_exit' | null;
}

export async function buildProjectState(cfg: Config, opts: PeekOptions = {}) {
  const now = opts.now ?? Date.now();
  const logDir = cfg.paths.logDir;
  const files = stateFiles(logDir);
  const st = readStatus(logDir);
  const status = st.kind === 'ok' ? st.value : undefined;

  const wanted = opts.round === 'latest' ? latestRound(logDir, status) : opts.round;
  if (opts.round === 'latest' && wanted === undefined) throw new RunnerError(`no round found under ${logDir}`, 'round_not_found');
  const recent = collectRecent(logDir, { rounds: RECENT_ROUNDS, events: opts.events ?? 0, ...(wanted !== undefined ? { focusRound: wanted } : {}) });

  const live = status?.running ? liveView(cfg, status, recent, now, opts.log ?? false) : null;
  let current: RoundView | null = live;
  if (wanted !== undefined && wanted !== live?.round_num) current = pastView(cfg, wanted, recent, opts.log ?? false);

  const serve = readServeState(logDir);
  const service = await serviceStatus(cfg);
  const halt = readHalt(logDir) ?? null;
  const host = sampleHost();
  const disks = sampleDisks(cfg);
  const logDisk = disks.find((d) => d.label.split('+').includes('log_dir'));
  const monitor = readMonitorState(files.monitorState).state;
  const waiting = serve?.state === 'waiting' && serve.until ? serve : undefined;
  const untilMs = waiting ? Date.parse(waiting.until!) : NaN;

  return {
    schema_version: SCHEMA_VERSION,
    plugins: { event_kinds: [], context_enrichers: [], pre_round_hooks: [], post_round_hooks: [], detectors: [], owned_paths: [], disabled: [] },
    project: cfg.project,
    status: status ?? {},
    defenses: await loadDefenses(cfg),
    current_round: current,
    recent_rounds: recent.rounds,
    orphan: readJsonOr<Record<string, unknown>>(files.orphan) ?? null,
    system: {
      mem_total_mb: host.mem_total_mb,
      mem_available_mb: host.mem_available_mb,
      mem_used_pct: host.mem_used_pct,
      disk_used_pct: logDisk?.used_pct ?? null,
      disk_free_gb: logDisk?.free_gb ?? null,
      load_1m: host.load_1m,
      load_5m: host.load_5m,
      load_15m: host.load_15m,
      // A one-shot process cannot measure CPU use meaningfully; upstream's figure was noise.
      cpu_pct: null,
      agent_process_count: live?.pid ? countRoundProcesses(status!, live.pid) : 0,
      disks,
      sampled_at: new Date(now).toISOString(),
    },
    service: { ...service, rate_limit: rateLimit(recent, waiting, now) },
    recent_events: recent.events,
    recent_hook_failures: [],
    recent_blips: recent.blips,
    // ---- ours ----
    halt,
    wait: waiting
      ? { reason: waiting.wait_reason ?? null, until: waiting.until!, seconds_left: Number.isFinite(untilMs) ? Math.max(0, Math.round((untilMs - now) / 1000)) : null }
      : null,
    serve: serve
      ? { pid: serve.pid, process: processState(serve.pid, serve.start_time), state: serve.state, started_at: serve.started_at, rounds_completed: serve.rounds_completed, consecutive_failures: serve.consecutive_failures, cost_usd: serve.cost_usd, updated_at: serve.updated_at }
      : null,
    monitor: monitor ? { updated_at: monitor.updated_at, firing: Object.values(monitor.alerts) } : null,
    paths: { config: cfg.path, work_dir: cfg.paths.workDir, log_dir: logDir },
    generated_at: new Date(now).toISOString(),
  };
}

export type ProjectState = Awaited<ReturnType<typeof buildProjectState>>;

async function loadDefenses(cfg: Config): Promise<unknown[]> {
  // Guarded: peek must work even if the catalog cannot be evaluated on this host.
  try {
    const spec = '../defenses/catalog.js';
    const mod = (await import(spec)) as { defenses?: (c: Config) => Array<Record<string, unknown>> };
    return (mod.defenses?.(cfg) ?? []).map((d) => ({ name: d['name'], value: d['value'], codifies: d['codifies'], guarded_by: d['guarded_by'], current_state: d['current_state'], ...(d['note'] ? { note: d['note'] } : {}) }));
  } catch {
    return [];
  }
}

function latestRound(logDir: string, status: Status | undefined): number | undefined {
  const n = Math.max(status?.round_num ?? 0, maxRoundInLogs(stateFiles(logDir).rounds));
  return n > 0 ? n : undefined;
}

function liveView(cfg: Config, s: Status, recent: Recent, now: number, withLog: boolean): RoundView {
  const started = s.started_at ? Date.parse(s.started_at) : NaN;
  const log = s.log_path ? logFacts(s.log_path, now) : undefined;
  const beat = recent.progress.get(s.round_num);
  let tools: Pick<RoundView, 'tool_calls' | 'tool_calls_source'> = { tool_calls: null, tool_calls_source: null };
  if (s.log_path && log) {
    const counted = countToolCalls(s.log_path, log.size);
    const fromBeat = typeof beat?.['tool_calls'] === 'number' ? beat['tool_calls'] : undefined;
    tools =
      counted.exact || fromBeat === undefined
        ? { tool_calls: counted.count, tool_calls_source: counted.exact ? 'log' : 'log_tail' }
        : { tool_calls: Math.max(fromBeat, counted.count), tool_calls_source: 'round_progress' };
  }
  return {
    round_num: s.round_num,
    phase: s.current_phase ?? null,
    started_at: s.started_at ?? null,
    duration_so_far_s: Number.isFinite(started) ? Math.round((now - started) / 100) / 10 : null,
    pid: s.pid ?? null,
    exit_code: null,
    timed_out: null,
    log_path: s.log_path ?? null,
    log_tail: withLog && s.log_path ? tailLines(s.log_path) : null,
    recent_events: recent.roundEvents,
    running: true,
    outcome: null,
    transient: null,
    timeout_s: timeoutFor(cfg, s.current_phase),
    agent_alive: s.pid ? isAlive(s.pid, s.start_time) : null,
    supervisor_pid: s.supervisor_pid ?? null,
    supervisor: s.supervisor_pid ? processState(s.supervisor_pid, s.supervisor_start_time) : null,
    log_size_bytes: log?.size ?? null,
    last_output_at: log ? new Date(log.mtimeMs).toISOString() : null,
    seconds_since_output: log ? Math.max(0, Math.round((now - log.mtimeMs) / 100) / 10) : null,
    ...tools,
  };
}

function pastView(cfg: Config, n: number, recent: Recent, withLog: boolean): RoundView {
  const r: RoundSummary | undefined = recent.rounds.find((x) => x.round_num === n);
  const logPath = r?.log_path ?? findRoundLog(cfg.paths.logDir, n);
  if (!r?.started_at && !logPath) throw new RunnerError(`round ${n} not found under ${cfg.paths.logDir}`, 'round_not_found');
  const log = logPath ? logFacts(logPath, Date.now()) : undefined;
  return {
    round_num: n,
    phase: r?.phase ?? null,
    started_at: r?.started_at ?? null,
    duration_so_far_s: r?.duration_s ?? null,
    pid: null,
    exit_code: r?.exit_code ?? null,
    timed_out: r?.timed_out ?? null,
    log_path: logPath ?? null,
    log_tail: withLog && logPath ? tailLines(logPath) : null,
    recent_events: recent.roundEvents,
    running: false,
    outcome: r?.outcome ?? null,
    transient: r?.transient ?? null,
    timeout_s: timeoutFor(cfg, r?.phase ?? undefined),
    agent_alive: null,
    supervisor_pid: null,
    supervisor: null,
    log_size_bytes: log?.size ?? null,
    last_output_at: log ? new Date(log.mtimeMs).toISOString() : null,
    seconds_since_output: null,
    tool_calls: r?.tool_calls ?? null,
    tool_calls_source: r?.tool_calls !== null && r?.tool_calls !== undefined ? 'agent_exit' : null,
  };
}

function findRoundLog(logDir: string, n: number): string | undefined {
  const dir = stateFiles(logDir).rounds;
  try {
    const name = readdirSync(dir).find((f) => isLogOfRound(f, n));
    return name ? join(dir, name) : undefined;
  } catch {
    return undefined;
  }
}

function logFacts(path: string, _now: number): { size: number; mtimeMs: number } | undefined {
  try {
    const st = statSync(path);
    return { size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

function tailLines(path: string): string[] {
  const lines = readTail(path, 64 * 1024).split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-LOG_TAIL_LINES);
}

/** Tool calls in an agent's stream-json log: exact for logs up to TOOL_SCAN_BYTES, else a lower bound from the end. */
function countToolCalls(path: string, size: number): { count: number; exact: boolean } {
  const text = readTail(path, TOOL_SCAN_BYTES);
  let count = 0;
  for (const m of text.matchAll(/"type": ?"tool_(?:use|call)"/g)) if (m) count++;
  return { count, exact: size <= TOOL_SCAN_BYTES };
}

/** The live round's processes: its process group, plus any that escaped it but carry the round's marker. */
function countRoundProcesses(s: Status, pid: number): number {
  return findRoundProcesses({ pgid: s.pgid ?? pid, ...(s.round_marker ? { marker: markerEntry(s.round_marker) } : {}) }).length;
}

function rateLimit(recent: Recent, waiting: ReturnType<typeof readServeState>, now: number) {
  const ev = recent.limit;
  if (waiting?.wait_reason === 'usage_limit' && waiting.until) {
    return { throttled_until_epoch: Math.round(Date.parse(waiting.until) / 1000), limit_type: 'usage_limit', agent: (ev?.['agent'] as string) ?? null, since_round: (ev?.['round_num'] as number) ?? waiting.round_num ?? null };
  }
  const reset = typeof ev?.['reset_at_epoch'] === 'number' ? ev['reset_at_epoch'] : undefined;
  if (ev && reset && reset * 1000 > now) return { throttled_until_epoch: reset, limit_type: 'usage_limit', agent: (ev['agent'] as string) ?? null, since_round: (ev['round_num'] as number) ?? null };
  return null;
}
