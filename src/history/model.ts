/**
 * PURE: the project's history as every view shows it — the fold of the events (log.ts) joined with
 * the state files the round and the loop keep (status.json, serve-state.json, halt.json,
 * loop-state.json). One place decides what the live round is, how the last round ended, whether
 * serve waits, whether a usage limit holds, whether the project is halted and what was spent, so
 * peek, status, probe, the monitor's detectors, watch and the library cannot disagree.
 * Process liveness comes in through `ProcessProbe`, so this module reads nothing itself.
 */
import type { Halt } from '../loop/halt.js';
import type { ServeState } from '../loop/serve-state.js';
import type { Status } from '../state/status.js';
import type { HistoryLog, RoundRecord, WaitRecord } from './log.js';

export type ProcessState = 'alive' | 'stopped' | 'dead';

export interface ProcessProbe {
  /** A process identified by pid (and start time when known): running, stopped (SIGSTOP, traced) or gone. */
  state(pid: number, startTime?: number): ProcessState;
}

export interface LiveRound {
  round_num: number;
  phase: string | null;
  started_at: string;
  started_ms: number;
  /** The round's effective timeout (phase override included). */
  timeout_s: number;
  /** The supervising process: alive, stopped (SIGSTOP/traced), dead, or unknown (no pid recorded). */
  supervisor: 'alive' | 'stopped' | 'dead' | 'unknown';
  supervisor_pid: number | null;
  agent_pid: number | null;
  agent_alive: boolean | null;
  log_path: string | null;
  /** status: status.json says it runs; events: a round_start with no round_end that status.json does not know. */
  source: 'status' | 'events';
}

export interface ServeView {
  /** serve-state.json exists: serve is running, or died without exiting cleanly. */
  present: boolean;
  pid: number | null;
  process: ProcessState | 'none';
  state: string | null;
  until_ms: number | null;
  wait_reason: string | null;
}

export interface WaitView {
  reason: string | null;
  until: string;
  seconds_left: number | null;
  round_num: number | null;
  /** When this wait began (its first heartbeat), when the events tell. */
  since: string | null;
}

export interface UsageLimitView {
  throttled_until_epoch: number;
  limit_type: 'usage_limit';
  agent: string | null;
  since_round: number | null;
  /** serve: serve is waiting it out; agent: the agent reported a reset time still ahead. */
  source: 'serve' | 'agent';
  /** epoch ms of the agent's report, when known. */
  reported_ms: number | null;
}

export interface CostView {
  /** UTC day the figures below are for (today). */
  day: string;
  today_usd: number;
  today_rounds: number;
  /** false when the day had more rounds than a bounded read reaches: today_usd is then a lower bound. */
  today_complete: boolean;
  /** Spent since the budgets were last reset (`resume`, or the first round): the max_cost_usd budget's figure. */
  total_usd: number;
  total_since: string | null;
}

export interface Counters {
  /** The newest round number known: rounds ever started in this project. */
  rounds: number;
  /** Ended rounds among `rounds` below, by outcome. */
  outcomes: Record<string, number>;
  /** Failed rounds in a row, as the loop counts them for its crash-loop breaker. */
  consecutive_failures: number;
  /** Rounds since the budgets were last reset. */
  rounds_since_reset: number;
}

export interface ProjectHistory {
  generated_at: string;
  /** status.json as written; null when missing or unreadable. */
  status: Status | null;
  live: LiveRound | null;
  /** The last rounds, newest first. */
  rounds: RoundRecord[];
  /** The newest round that ended. */
  last_round: RoundRecord | null;
  wait: WaitView | null;
  usage_limit: UsageLimitView | null;
  /** halt.json: serve refuses to run while it exists. */
  halt: Halt | null;
  serve: ServeView;
  serve_state: ServeState | null;
  cost: CostView;
  counters: Counters;
  /** The events' fold itself (the detectors read its lists). */
  log: HistoryLog;
}

/** loop-state.json's part that the history shows. */
export interface LoopFigures {
  budget_started_at: string | null;
  rounds: number;
  cost_usd: number;
  consecutive_failures: number;
}

export interface ModelInput {
  log: HistoryLog;
  status: Status | null;
  serve: ServeState | null;
  halt: Halt | null;
  loop: LoopFigures | null;
  now: number;
  /** The effective timeout of a phase (config). */
  timeoutFor: (phase: string | null) => number;
  processes: ProcessProbe;
  /** How many rounds to list (at most what the log keeps). */
  rounds?: number;
}

export function buildHistory(i: ModelInput): ProjectHistory {
  const { log, status, now } = i;
  const serve = serveView(i);
  const wait = waitView(i, serve);
  const rounds = log.rounds.slice(-(i.rounds ?? log.rounds.length)).reverse();
  const day = new Date(now).toISOString().slice(0, 10);
  const outcomes: Record<string, number> = {};
  for (const r of rounds) if (r.outcome !== null && r.ended_at !== null) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  return {
    generated_at: new Date(now).toISOString(),
    status,
    live: liveRound(i),
    rounds,
    last_round: lastRound(log, status),
    wait,
    usage_limit: usageLimit(log, serve, now),
    halt: i.halt,
    serve,
    serve_state: i.serve,
    cost: {
      day,
      today_usd: log.cost.day === day ? log.cost.usd : 0,
      today_rounds: log.cost.day === day ? log.cost.rounds : 0,
      today_complete: log.cost.day === day ? log.cost.complete : true,
      total_usd: i.loop?.cost_usd ?? 0,
      total_since: i.loop?.budget_started_at ?? null,
    },
    counters: {
      rounds: Math.max(status?.round_num ?? 0, log.newest_round ?? 0, log.rounds.at(-1)?.round_num ?? 0),
      outcomes,
      consecutive_failures: i.loop?.consecutive_failures ?? 0,
      rounds_since_reset: i.loop?.rounds ?? 0,
    },
    log,
  };
}

function liveRound(i: ModelInput): LiveRound | null {
  const s = i.status;
  if (s?.running && s.started_at) {
    const started = Date.parse(s.started_at);
    if (Number.isFinite(started)) {
      return {
        round_num: s.round_num,
        phase: s.current_phase ?? null,
        started_at: s.started_at,
        started_ms: started,
        timeout_s: i.timeoutFor(s.current_phase ?? null),
        supervisor: s.supervisor_pid ? i.processes.state(s.supervisor_pid, s.supervisor_start_time) : 'unknown',
        supervisor_pid: s.supervisor_pid ?? null,
        agent_pid: s.pid ?? null,
        agent_alive: s.pid ? i.processes.state(s.pid, s.start_time) !== 'dead' : null,
        log_path: s.log_path ?? null,
        source: 'status',
      };
    }
  }
  // A round_start with no round_end that status.json does not know about (a supervisor that died
  // before writing it, or history written by another tool).
  const open = i.log.open;
  if (open && (!s || s.round_num < open.round_num)) {
    return {
      round_num: open.round_num,
      phase: open.phase,
      started_at: new Date(open.ts).toISOString(),
      started_ms: open.ts,
      timeout_s: i.timeoutFor(open.phase),
      supervisor: 'unknown',
      supervisor_pid: null,
      agent_pid: null,
      agent_alive: null,
      log_path: i.log.rounds.find((r) => r.round_num === open.round_num)?.log_path ?? null,
      source: 'events',
    };
  }
  return null;
}

function lastRound(log: HistoryLog, status: Status | null): RoundRecord | null {
  for (let k = log.rounds.length - 1; k >= 0; k--) {
    const r = log.rounds[k]!;
    if (r.ended_at !== null) return r;
  }
  // History without round_end lines (or none read): status.json remembers the last completed round.
  if (status && !status.running && status.last_outcome !== undefined) {
    return {
      round_num: status.round_num, phase: status.current_phase ?? null, started_at: null, ended_at: status.last_completed_at ?? null,
      duration_s: status.last_duration_s ?? null, outcome: status.last_outcome, exit_code: status.last_exit_code ?? null, exit_cause: null,
      transient: status.last_transient ?? null, timed_out: null, tool_calls: null, cost_usd: null, input_tokens: null, output_tokens: null,
      cached_tokens: null, commits: null, verdict: status.last_verdict ?? null, log_path: status.last_log_path ?? null, progress: null,
    };
  }
  return null;
}

function serveView(i: ModelInput): ServeView {
  const s = i.serve;
  if (!s) return { present: false, pid: null, process: 'none', state: null, until_ms: null, wait_reason: null };
  const until = s.until ? Date.parse(s.until) : NaN;
  return {
    present: true,
    pid: s.pid,
    process: i.processes.state(s.pid, s.start_time),
    state: s.state,
    until_ms: Number.isFinite(until) ? until : null,
    wait_reason: s.wait_reason ?? null,
  };
}

/** serve is waiting between rounds: its state file says so, and it is alive to finish the wait. */
function waitView(i: ModelInput, serve: ServeView): WaitView | null {
  if (serve.state !== 'waiting' || serve.until_ms === null || serve.process === 'dead' || !i.serve?.until) return null;
  const rec: WaitRecord | undefined = i.log.waits.at(-1);
  const same = rec && rec.ended_by === null && rec.until === i.serve.until ? rec : undefined;
  return {
    reason: serve.wait_reason,
    until: i.serve.until,
    seconds_left: Math.max(0, Math.round((serve.until_ms - i.now) / 1000)),
    round_num: i.serve.round_num ?? same?.round_num ?? null,
    since: same?.since ?? null,
  };
}

/** serve is waiting out a usage limit (and alive to), or the agent reported one whose reset is still ahead. */
export function usageLimit(log: HistoryLog, serve: ServeView, now: number): UsageLimitView | null {
  const d = log.limit;
  if (serve.wait_reason === 'usage_limit' && serve.until_ms !== null && serve.until_ms > now && serve.process !== 'dead' && serve.process !== 'none') {
    return { throttled_until_epoch: Math.round(serve.until_ms / 1000), limit_type: 'usage_limit', agent: d?.agent ?? null, since_round: d?.round_num ?? null, source: 'serve', reported_ms: d?.ts ?? null };
  }
  if (d?.reset_at_epoch && d.reset_at_epoch * 1000 > now) {
    return { throttled_until_epoch: d.reset_at_epoch, limit_type: 'usage_limit', agent: d.agent, since_round: d.round_num, source: 'agent', reported_ms: d.ts };
  }
  return null;
}
