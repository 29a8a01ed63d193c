/**
 * PURE: the one fold over the events history. Every view (peek, status, probe, the monitor's
 * detectors, watch, the library) reads what it shows from a `HistoryLog`, so they cannot disagree
 * about what the events say.
 *
 * It is folded one event at a time, in write order, so a reader can advance it with only the lines
 * appended since its last read, and it keeps a bounded number of records, so its size never depends
 * on how long the history is. Derived backwards from the end (scan.ts) or advanced from a cursor, it
 * must come out the same; keep new fields within that rule (test/unit/history-log.test.ts checks it).
 */
import { EVENT_KINDS, isEventKind } from '../events/kinds.js';
import type { KnownKind, StoredEvent, WaitReason } from '../events/payloads.js';

export const HISTORY_LOG_VERSION = 4;

/** One round as the events tell it. Fields stay null until an event reports them. */
export interface RoundRecord {
  round_num: number;
  phase: string | null;
  started_at: string | null;
  ended_at: string | null;
  duration_s: number | null;
  /** round_end's outcome when it was written, else agent_exit's. */
  outcome: string | null;
  exit_code: number | null;
  exit_cause: string | null;
  transient: string | null;
  timed_out: boolean | null;
  tool_calls: number | null;
  cost_usd: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_tokens: number | null;
  /** Commits the round added to the branch (round_end.commits; null when not recorded). */
  commits: number | null;
  /** What the round achieved (round_end.verdict: productive | no_op | …; null when not recorded). */
  verdict: string | null;
  log_path: string | null;
  /** The newest heartbeat of a running round: tool calls and output tokens counted so far (tokens null when the agent reports none). */
  progress: { at: string; tool_calls: number | null; output_tokens: number | null } | null;
}

export interface ExitRecord {
  round_num: number | null;
  /** epoch ms */
  ts: number;
  exit_code: number | null;
  duration_s: number | null;
  timed_out: boolean;
  outcome: string | null;
  /** The round's structured classification (auth_failure | usage_limit | network), null for none. */
  transient: string | null;
  /**
   * Written by a supervisor that did not classify (upstream's history has no `transient`): only
   * then does the monitor fall back to matching patterns in the round log's tail.
   */
  unclassified: boolean;
  /** The fallback's verdict, filled in by the reader of the log tail; undefined until checked. */
  text_match?: 'auth_failure' | 'network' | null;
}

export interface RepetitiveRecord {
  round_num: number;
  /** epoch ms */
  ts: number;
  tool_name: string;
  target: string;
  count: number;
}

export interface StartAttempt {
  ts: number;
  ok: boolean;
  check?: string;
}

/** A wait of serve between rounds, as its heartbeats (serve_waiting) tell it. */
export interface WaitRecord {
  reason: WaitReason | string;
  /** ISO time of the first heartbeat of this wait. */
  since: string;
  /** ISO time the wait was to end. */
  until: string;
  round_num: number | null;
  /** When and how it ended: elapsed (transient_error_recovered), round_start, stopped (serve_stopped); null while open. */
  ended_at: string | null;
  ended_by: 'elapsed' | 'round_start' | 'stopped' | null;
}

/** A usage limit the agent reported (transient_error_detected), until a later event says it is over. */
export interface LimitRecord {
  classification: string;
  reset_at_epoch: number | null;
  /** epoch ms of the report */
  ts: number;
  agent: string | null;
  round_num: number | null;
}

/** The agent CLI's version changed before this round (agent_cli_changed). */
export interface CliChangeRecord {
  round_num: number;
  /** epoch ms */
  ts: number;
  from: string;
  to: string;
}

export interface HaltRecord {
  reason: string;
  ts: string;
  exit_code: number | null;
  round_num: number | null;
  hint: string | null;
  /** When `resume` cleared it (halt_cleared); null while it stands. */
  cleared_at: string | null;
}

export interface HistoryLog {
  v: typeof HISTORY_LOG_VERSION;
  /** The last rounds, oldest first. */
  rounds: RoundRecord[];
  exits: ExitRecord[];
  /** Rounds that started (round_start) and startup checks that refused to (smoke_check_failed). */
  attempts: StartAttempt[];
  /** stashed: rounds snapshotted since the last round_end (at most the round in progress). */
  orphan: { streak: number; last_round: number | null; stashed: number[] };
  /** The last round_start not yet followed by its round_end. */
  open: { round_num: number; phase: string | null; ts: number } | null;
  /** The last usage limit reported and not yet over (a clean round, or its wait elapsed). */
  limit: LimitRecord | null;
  /** The newest wait (open when ended_by is null) and the ones before it, oldest first. */
  waits: WaitRecord[];
  /** Halts recorded (halt_recorded), oldest first; the last one stands unless cleared. */
  halts: HaltRecord[];
  /** The newest `resume` (resumed, or halt_cleared from earlier versions): failures before it are acknowledged. */
  resumed_at: string | null;
  /** The newest serve process: started, and stopped (null while it runs or died unrecorded). */
  serve: { pid: number | null; started_at: string; stopped_at: string | null; stop_reason: string | null; exit_code: number | null } | null;
  /**
   * Spend on the UTC day of the newest event folded (agent_exit.cost_usd). complete: every round of
   * that day was counted (false when a bounded read ran out before the day's start).
   */
  cost: { day: string | null; usd: number; rounds: number; complete: boolean };
  /** Network failures the rounds reported (agent_network_blip), oldest first. */
  blips: Array<StoredEvent<'agent_network_blip'>>;
  /** Newest event written by the supervisor (round or serve), never by a monitor. */
  last_supervisor: { ts: number; event: string } | null;
  /** The newest round number started (round_start) or reported on (anomaly_repetitive_tool). */
  newest_round: number | null;
  /** Stuck tool loops the rounds reported (anomaly_repetitive_tool), oldest first. */
  repetitive: RepetitiveRecord[];
  /** round_num → agent log path, from agent_spawn. */
  log_paths: Array<[number, string]>;
  /** Changes of the agent CLI's version between rounds (agent_cli_changed), oldest first. */
  cli_changes: CliChangeRecord[];
  folded: number;
}

export const KEEP = 50;
const KEEP_WAITS = 20;
const KEEP_HALTS = 20;
const KEEP_BLIPS = 5;
const KEEP_CLI_CHANGES = 5;

export function emptyLog(): HistoryLog {
  return {
    v: HISTORY_LOG_VERSION, rounds: [], exits: [], attempts: [], orphan: { streak: 0, last_round: null, stashed: [] }, open: null, limit: null,
    waits: [], halts: [], resumed_at: null, serve: null, cost: { day: null, usd: 0, rounds: 0, complete: true }, blips: [],
    last_supervisor: null, newest_round: null, repetitive: [], log_paths: [], cli_changes: [], folded: 0,
  };
}

/**
 * Events written by any monitor (upstream's and ours, all registered): never evidence of the
 * supervisor's health. A kind this version does not know counts as the supervisor's.
 */
export function isMonitorKind(kind: string): boolean {
  return isEventKind(kind) && EVENT_KINDS[kind].layer === 'monitor';
}

/** Kinds the fold reads; every other line can be skipped without parsing. */
export const HISTORY_KINDS: ReadonlySet<string> = new Set<KnownKind>([
  'round_start', 'smoke_check_failed', 'agent_spawn', 'agent_exit', 'agent_usage_recorded', 'agent_network_blip', 'round_progress', 'round_end',
  'orphan_stashed', 'orphan_idempotent_skip', 'transient_error_detected', 'transient_error_recovered', 'anomaly_repetitive_tool',
  'serve_started', 'serve_waiting', 'serve_stopped', 'halt_recorded', 'halt_cleared', 'resumed', 'agent_cli_changed',
]);

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
/** Money in micro-dollars steps, so sums do not depend on the order they were added in. */
const usd = (x: number): number => Math.round(x * 1e6) / 1e6;

function pushBounded<T>(list: T[], item: T, keep: number): void {
  list.push(item);
  if (list.length > keep) list.splice(0, list.length - keep);
}

/** Note an event's kind and time without parsing it (the supervisor-liveness part of the fold). */
export function noteKind(h: HistoryLog, kind: string, ts: number): void {
  if (!isMonitorKind(kind) && Number.isFinite(ts) && (!h.last_supervisor || ts >= h.last_supervisor.ts)) h.last_supervisor = { ts, event: kind };
}

/** The record of a round, created when the round is newer than every kept one. */
function roundOf(h: HistoryLog, n: number, keep: number): RoundRecord | undefined {
  for (let i = h.rounds.length - 1; i >= 0; i--) {
    const r = h.rounds[i]!;
    if (r.round_num === n) return r;
    if (r.round_num < n) break;
  }
  const last = h.rounds.at(-1);
  if (last && last.round_num > n) return undefined;
  const r: RoundRecord = {
    round_num: n, phase: null, started_at: null, ended_at: null, duration_s: null, outcome: null, exit_code: null, exit_cause: null, transient: null,
    timed_out: null, tool_calls: null, cost_usd: null, input_tokens: null, output_tokens: null, cached_tokens: null, commits: null, verdict: null, log_path: null, progress: null,
  };
  pushBounded(h.rounds, r, keep);
  return r;
}

function endWait(h: HistoryLog, ts: string, by: WaitRecord['ended_by']): void {
  const w = h.waits.at(-1);
  if (w && w.ended_by === null) {
    w.ended_at = ts;
    w.ended_by = by;
  }
}

/** Fold one parsed event (in write order). Mutates and returns `h`. */
export function foldEvent(h: HistoryLog, ev: StoredEvent, keep = KEEP): HistoryLog {
  const ts = Date.parse(ev.ts);
  h.folded++;
  noteKind(h, ev.event, ts);
  if (!Number.isFinite(ts)) return h;
  rollDay(h, ev.ts);
  const n = 'round_num' in ev ? num(ev.round_num) : null;
  switch (ev.event) {
    case 'round_start': {
      pushBounded(h.attempts, { ts, ok: true }, keep);
      noteRound(h, n);
      endWait(h, ev.ts, 'round_start');
      if (n !== null) {
        h.open = { round_num: n, phase: str(ev.phase), ts };
        const r = roundOf(h, n, keep);
        if (r) {
          r.started_at = ev.ts;
          r.phase = str(ev.phase);
        }
      }
      break;
    }
    case 'agent_cli_changed': {
      const from = str(ev.from);
      const to = str(ev.to);
      if (n !== null && from !== null && to !== null) pushBounded(h.cli_changes, { round_num: n, ts, from, to }, KEEP_CLI_CHANGES);
      break;
    }
    case 'smoke_check_failed': {
      const check = str(ev.check) ?? str(ev.reason)?.split(':')[0] ?? undefined;
      pushBounded(h.attempts, { ts, ok: false, ...(check ? { check } : {}) }, keep);
      break;
    }
    case 'agent_spawn': {
      if (n !== null && typeof ev.log_path === 'string') {
        pushBounded(h.log_paths, [n, ev.log_path], keep);
        const r = roundOf(h, n, keep);
        if (r) r.log_path = ev.log_path;
      }
      break;
    }
    case 'round_progress': {
      const r = n !== null ? roundOf(h, n, keep) : undefined;
      if (r) r.progress = { at: ev.ts, tool_calls: num(ev.tool_calls), output_tokens: num(ev.output_tokens) };
      break;
    }
    case 'agent_exit': {
      const outcome = str(ev.outcome);
      pushBounded(
        h.exits,
        { round_num: n, ts, exit_code: num(ev.exit_code), duration_s: num(ev.duration_s), timed_out: ev.timed_out === true, outcome, transient: str(ev.transient), unclassified: !('transient' in ev) },
        keep,
      );
      // A clean round means any limit is over, whatever serve did about it.
      if (outcome === 'clean' || (outcome === null && ev.exit_code === 0)) h.limit = null;
      const cost = num(ev.cost_usd);
      if (cost !== null) addCost(h, ev.ts, cost);
      const r = n !== null ? roundOf(h, n, keep) : undefined;
      if (r) {
        r.exit_code = num(ev.exit_code);
        r.exit_cause = str(ev.exit_cause);
        r.transient = str(ev.transient);
        r.timed_out = typeof ev.timed_out === 'boolean' ? ev.timed_out : null;
        r.tool_calls = num(ev.tool_calls);
        r.cost_usd = cost;
        r.outcome = outcome ?? r.outcome;
        r.duration_s = num(ev.duration_s) ?? r.duration_s;
      }
      break;
    }
    case 'agent_usage_recorded': {
      const r = n !== null ? roundOf(h, n, keep) : undefined;
      if (r) {
        r.input_tokens = num(ev.input_tokens);
        r.output_tokens = num(ev.output_tokens);
        r.cached_tokens = num(ev.cached_tokens);
      }
      break;
    }
    case 'agent_network_blip':
      pushBounded(h.blips, ev, KEEP_BLIPS);
      break;
    case 'round_end': {
      if (n !== null) {
        if (h.open?.round_num === n) h.open = null;
        if (!h.orphan.stashed.includes(n)) h.orphan.streak = 0;
        // A round's snapshot is recorded before its round_end: once ended, only the streak matters.
        h.orphan.stashed = [];
        const r = roundOf(h, n, keep);
        if (r) {
          r.ended_at = ev.ts;
          r.outcome = str(ev.outcome) ?? r.outcome;
          r.duration_s = num(ev.duration_s) ?? r.duration_s;
          const commits = num(ev.commits);
          if (commits !== null) r.commits = commits;
          r.verdict = str(ev.verdict) ?? r.verdict;
        }
      }
      break;
    }
    case 'orphan_stashed':
    case 'orphan_idempotent_skip': {
      if (n !== null && !h.orphan.stashed.includes(n)) {
        pushBounded(h.orphan.stashed, n, keep);
        h.orphan.streak++;
        h.orphan.last_round = n;
      }
      break;
    }
    case 'transient_error_detected':
      if (ev.classification === 'usage_limit') h.limit = { classification: 'usage_limit', reset_at_epoch: num(ev.reset_at_epoch), ts, agent: str(ev.agent), round_num: n };
      break;
    case 'transient_error_recovered':
      // serve waited the limit out: the limit is over (the next round may report a new one).
      if (ev.classification === 'usage_limit' || ev.classification === undefined) h.limit = null;
      endWait(h, ev.ts, 'elapsed');
      break;
    case 'anomaly_repetitive_tool': {
      if (n !== null) {
        noteRound(h, n);
        pushBounded(h.repetitive, { round_num: n, ts, tool_name: str(ev.tool_name) ?? '', target: str(ev.target) ?? '', count: num(ev.count) ?? 0 }, keep);
      }
      break;
    }
    case 'serve_started':
      h.serve = { pid: num(ev.pid), started_at: ev.ts, stopped_at: null, stop_reason: null, exit_code: null };
      break;
    case 'serve_waiting': {
      const until = str(ev.until);
      if (until === null) break;
      const open = h.waits.at(-1);
      // Heartbeats of one wait repeat its end time; a new end time is a new wait.
      if (open && open.ended_by === null && open.until === until) break;
      endWait(h, ev.ts, 'round_start');
      pushBounded(h.waits, { reason: str(ev.reason) ?? 'unknown', since: ev.ts, until, round_num: n, ended_at: null, ended_by: null }, KEEP_WAITS);
      break;
    }
    case 'serve_stopped':
      endWait(h, ev.ts, 'stopped');
      if (h.serve) {
        h.serve.stopped_at = ev.ts;
        h.serve.stop_reason = str(ev.reason);
        h.serve.exit_code = num(ev.exit_code);
      }
      break;
    case 'halt_recorded':
      pushBounded(h.halts, { reason: str(ev.reason) ?? 'unknown', ts: ev.ts, exit_code: num(ev.exit_code), round_num: n, hint: str(ev.hint), cleared_at: null }, KEEP_HALTS);
      break;
    case 'resumed':
      h.resumed_at = ev.ts;
      break;
    case 'halt_cleared': {
      h.resumed_at = ev.ts;
      const last = h.halts.at(-1);
      if (last && last.cleared_at === null) last.cleared_at = ev.ts;
      break;
    }
  }
  return h;
}

/** The spend counted is the newest day's: an event of a later UTC day starts a new one at zero. */
function rollDay(h: HistoryLog, ts: string): void {
  const day = ts.slice(0, 10);
  if (h.cost.day === null || day > h.cost.day) h.cost = { day, usd: 0, rounds: 0, complete: true };
}

function addCost(h: HistoryLog, ts: string, amount: number): void {
  if (ts.slice(0, 10) !== h.cost.day) return; // a late line of an earlier day
  h.cost.usd = usd(h.cost.usd + amount);
  h.cost.rounds++;
}

function noteRound(h: HistoryLog, round: number | null): void {
  if (round !== null && (h.newest_round === null || round > h.newest_round)) h.newest_round = round;
}

/** The agent log path recorded for a round, if any. */
export function logPathOf(h: HistoryLog, round: number): string | undefined {
  for (let i = h.log_paths.length - 1; i >= 0; i--) if (h.log_paths[i]![0] === round) return h.log_paths[i]![1];
  return undefined;
}

/** The halt the events say stands (recorded, not cleared). halt.json is the authority; this is its history. */
export function standingHalt(h: HistoryLog): HaltRecord | null {
  const last = h.halts.at(-1);
  return last && last.cleared_at === null ? last : null;
}
