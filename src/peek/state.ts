import { statSync } from 'node:fs';
import { timeoutFor, type Config } from '../config/load.js';
import { RunnerError } from '../errors.js';
import { parseEvent, type EventRecord } from '../events/reader.js';
import { emptyLog, foldEvent, type RoundRecord } from '../history/log.js';
import type { LiveRound } from '../history/model.js';
import { readProjectHistory } from '../history/read.js';
import { readTail } from '../history/scan.js';
import { sampleHost } from '../metrics/host.js';
import { sampleDisks } from '../monitor/snapshot.js';
import { readLocalMonitorState } from '../monitor/state-file.js';
import { findRoundProcesses } from '../proc/procfs.js';
import { serviceStatus } from '../service/status.js';
import { findRoundLog, stateFiles } from '../state/files.js';
import { readJsonOr } from '../state/json-file.js';
import { maxRoundInLogs } from '../state/round-counter.js';
import { readStatus, type Status } from '../state/status.js';
import { markerEntry } from '../round/process-group.js';

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
/** How far back peek reads the events at most (a --round far in the past is looked for this far). */
export const PEEK_BUDGET_BYTES = 4 * 1024 * 1024;

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
  /** Where the live round is known from: status.json, or only the events (a round_start with no end); null for a past round. */
  source: 'status' | 'events' | null;
}

export async function buildProjectState(cfg: Config, opts: PeekOptions = {}) {
  const now = opts.now ?? Date.now();
  const logDir = cfg.paths.logDir;
  const files = stateFiles(logDir);
  const st = readStatus(logDir);
  const status = st.kind === 'ok' ? st.value : undefined;

  const wanted = opts.round === 'latest' ? latestRound(logDir, status) : opts.round;
  if (opts.round === 'latest' && wanted === undefined) throw new RunnerError(`no round found under ${logDir}`, 'round_not_found');
  const read = readProjectHistory(cfg, { rounds: RECENT_ROUNDS, now, budgetBytes: PEEK_BUDGET_BYTES, ...(opts.events ? { events: opts.events } : {}), ...(wanted !== undefined ? { focusRound: wanted } : {}) });
  const h = read.history;

  const live = h.live ? liveView(h.live, h.rounds, read.roundEvents, now, opts.log ?? false) : null;
  let current: RoundView | null = live;
  if (wanted !== undefined && wanted !== live?.round_num) current = pastView(cfg, wanted, h.rounds, read.roundEvents, opts.log ?? false);

  const serve = h.serve_state;
  const service = await serviceStatus(cfg);
  const host = sampleHost();
  const disks = sampleDisks(cfg);
  const logDisk = disks.find((d) => d.label.split('+').includes('log_dir'));
  const monitor = readLocalMonitorState(cfg.path, logDir).state;
  const limit = h.usage_limit;

  return {
    schema_version: SCHEMA_VERSION,
    plugins: { event_kinds: [], context_enrichers: [], pre_round_hooks: [], post_round_hooks: [], detectors: [], owned_paths: [], disabled: [] },
    project: cfg.project,
    status: status ?? {},
    defenses: await loadDefenses(cfg),
    current_round: current,
    recent_rounds: h.rounds,
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
      agent_process_count: live?.pid && h.status ? countRoundProcesses(h.status, live.pid) : 0,
      disks,
      sampled_at: new Date(now).toISOString(),
    },
    service: { ...service, rate_limit: limit ? { throttled_until_epoch: limit.throttled_until_epoch, limit_type: limit.limit_type, agent: limit.agent, since_round: limit.since_round, source: limit.source } : null },
    recent_events: read.events,
    recent_hook_failures: [],
    recent_blips: h.log.blips,
    // ---- ours ----
    halt: h.halt,
    wait: h.wait,
    serve: serve
      ? { pid: serve.pid, process: h.serve.process, state: serve.state, started_at: serve.started_at, rounds_completed: serve.rounds_completed, consecutive_failures: serve.consecutive_failures, cost_usd: serve.cost_usd, updated_at: serve.updated_at }
      : null,
    last_round: h.last_round,
    cost: h.cost,
    counters: h.counters,
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

function liveView(r: LiveRound, rounds: RoundRecord[], roundEvents: EventRecord[], now: number, withLog: boolean): RoundView {
  const log = r.log_path ? logFacts(r.log_path) : undefined;
  const beat = rounds.find((x) => x.round_num === r.round_num)?.progress?.tool_calls ?? undefined;
  let tools: Pick<RoundView, 'tool_calls' | 'tool_calls_source'> = { tool_calls: null, tool_calls_source: null };
  if (r.log_path && log) {
    const counted = countToolCalls(r.log_path, log.size);
    tools =
      counted.exact || beat === undefined
        ? { tool_calls: counted.count, tool_calls_source: counted.exact ? 'log' : 'log_tail' }
        : { tool_calls: Math.max(beat, counted.count), tool_calls_source: 'round_progress' };
  }
  return {
    round_num: r.round_num,
    phase: r.phase,
    started_at: r.started_at,
    duration_so_far_s: Math.round((now - r.started_ms) / 100) / 10,
    pid: r.agent_pid,
    exit_code: null,
    timed_out: null,
    log_path: r.log_path,
    log_tail: withLog && r.log_path ? tailLines(r.log_path) : null,
    recent_events: roundEvents,
    running: true,
    outcome: null,
    transient: null,
    timeout_s: r.timeout_s,
    agent_alive: r.agent_alive,
    supervisor_pid: r.supervisor_pid,
    supervisor: r.supervisor_pid ? r.supervisor : null,
    log_size_bytes: log?.size ?? null,
    last_output_at: log ? new Date(log.mtimeMs).toISOString() : null,
    seconds_since_output: log ? Math.max(0, Math.round((now - log.mtimeMs) / 100) / 10) : null,
    source: r.source,
    ...tools,
  };
}

function pastView(cfg: Config, n: number, rounds: RoundRecord[], roundEvents: EventRecord[], withLog: boolean): RoundView {
  // A round older than the listed ones: the same fold, over its own events.
  const r: RoundRecord | undefined = rounds.find((x) => x.round_num === n) ?? roundFromEvents(n, roundEvents);
  const logPath = r?.log_path ?? findRoundLog(cfg.paths.logDir, n);
  if (!r?.started_at && !logPath) throw new RunnerError(`round ${n} not found under ${cfg.paths.logDir}`, 'round_not_found');
  const log = logPath ? logFacts(logPath) : undefined;
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
    recent_events: roundEvents,
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
    source: null,
  };
}

function roundFromEvents(n: number, records: EventRecord[]): RoundRecord | undefined {
  const log = emptyLog();
  for (const rec of records) {
    const ev = parseEvent(JSON.stringify(rec));
    if (ev) foldEvent(log, ev);
  }
  return log.rounds.find((x) => x.round_num === n);
}


function logFacts(path: string): { size: number; mtimeMs: number } | undefined {
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
