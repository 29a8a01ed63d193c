/**
 * PURE: the bounded summary of an events history that the detectors need. It is folded one event
 * at a time, so a monitor can advance it with only the lines appended since its last poll, and it
 * keeps a fixed number of records, so its size never depends on how long the history is.
 *
 * Derived backwards from the end (bootstrap) or forwards from a cursor (a poll), it must come out
 * the same for every field a detector reads; keep new fields within that rule.
 */
import { EVENT_KINDS, isEventKind } from '../events/kinds.js';
import type { KnownKind, StoredEvent } from '../events/payloads.js';

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

export interface Digest {
  v: 1;
  exits: ExitRecord[];
  /** Rounds that started (round_start) and startup checks that refused to (smoke_check_failed). */
  attempts: StartAttempt[];
  /** stashed: rounds snapshotted since the last round_end (at most the round in progress). */
  orphan: { streak: number; last_round: number | null; stashed: number[] };
  /** The last round_start not yet followed by its round_end. */
  open: { round_num: number; phase: string | null; ts: number } | null;
  /** The last usage/rate limit reported and not yet over. */
  limit: { classification: string; reset_at_epoch: number | null; ts: number; agent: string | null; round_num: number | null } | null;
  /** Newest event written by the supervisor (round or serve), never by a monitor. */
  last_supervisor: { ts: number; event: string } | null;
  /** The newest round number started (round_start) or reported on (anomaly_repetitive_tool). */
  newest_round: number | null;
  /** Stuck tool loops the rounds reported (anomaly_repetitive_tool), oldest first. */
  repetitive: RepetitiveRecord[];
  /** round_num → agent log path, from agent_spawn. */
  log_paths: Array<[number, string]>;
  folded: number;
}

export const KEEP = 50;

export function emptyDigest(): Digest {
  return { v: 1, exits: [], attempts: [], orphan: { streak: 0, last_round: null, stashed: [] }, open: null, limit: null, last_supervisor: null, newest_round: null, repetitive: [], log_paths: [], folded: 0 };
}

/**
 * Events written by any monitor (upstream's and ours, all registered): never evidence of the
 * supervisor's health. A kind this version does not know counts as the supervisor's.
 */
export function isMonitorKind(kind: string): boolean {
  return isEventKind(kind) && EVENT_KINDS[kind].layer === 'monitor';
}

/** Kinds the digest reads; every other line can be skipped without parsing. */
export const DIGEST_KINDS: ReadonlySet<string> = new Set<KnownKind>([
  'round_start', 'smoke_check_failed', 'agent_spawn', 'agent_exit', 'round_end', 'orphan_stashed', 'orphan_idempotent_skip',
  'transient_error_detected', 'transient_error_recovered', 'anomaly_repetitive_tool',
]);

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);

function pushBounded<T>(list: T[], item: T, keep: number): void {
  list.push(item);
  if (list.length > keep) list.splice(0, list.length - keep);
}

/** Note an event's kind and time without parsing it (the supervisor-liveness part of the fold). */
export function noteKind(d: Digest, kind: string, ts: number): void {
  if (!isMonitorKind(kind) && Number.isFinite(ts) && (!d.last_supervisor || ts >= d.last_supervisor.ts)) d.last_supervisor = { ts, event: kind };
}

/** Fold one parsed event (in write order). Mutates and returns `d`. */
export function fold(d: Digest, ev: StoredEvent, keep = KEEP): Digest {
  const ts = Date.parse(ev.ts);
  d.folded++;
  noteKind(d, ev.event, ts);
  if (!Number.isFinite(ts)) return d;
  switch (ev.event) {
    case 'round_start': {
      pushBounded(d.attempts, { ts, ok: true }, keep);
      const round = num(ev.round_num);
      noteRound(d, round);
      if (round !== null) d.open = { round_num: round, phase: str(ev.phase), ts };
      break;
    }
    case 'smoke_check_failed': {
      const check = str(ev.check) ?? str(ev.reason)?.split(':')[0] ?? undefined;
      pushBounded(d.attempts, { ts, ok: false, ...(check ? { check } : {}) }, keep);
      break;
    }
    case 'agent_spawn': {
      const round = num(ev.round_num);
      if (round !== null && typeof ev.log_path === 'string') pushBounded(d.log_paths, [round, ev.log_path], keep);
      break;
    }
    case 'agent_exit': {
      const outcome = str(ev.outcome);
      pushBounded(
        d.exits,
        {
          round_num: num(ev.round_num),
          ts,
          exit_code: num(ev.exit_code),
          duration_s: num(ev.duration_s),
          timed_out: ev.timed_out === true,
          outcome,
          transient: str(ev.transient),
          unclassified: !('transient' in ev),
        },
        keep,
      );
      // A clean round means any limit is over, whatever serve did about it.
      if (outcome === 'clean' || (outcome === null && ev.exit_code === 0)) d.limit = null;
      break;
    }
    case 'round_end': {
      const round = num(ev.round_num);
      if (round !== null) {
        if (d.open?.round_num === round) d.open = null;
        if (!d.orphan.stashed.includes(round)) d.orphan.streak = 0;
        // A round's snapshot is recorded before its round_end: once ended, only the streak matters.
        d.orphan.stashed = [];
      }
      break;
    }
    case 'orphan_stashed':
    case 'orphan_idempotent_skip': {
      const round = num(ev.round_num);
      if (round !== null && !d.orphan.stashed.includes(round)) {
        pushBounded(d.orphan.stashed, round, keep);
        d.orphan.streak++;
        d.orphan.last_round = round;
      }
      break;
    }
    case 'transient_error_detected':
      if (ev.classification === 'usage_limit') {
        d.limit = { classification: 'usage_limit', reset_at_epoch: num(ev.reset_at_epoch), ts, agent: str(ev.agent), round_num: num(ev.round_num) };
      }
      break;
    case 'anomaly_repetitive_tool': {
      const round = num(ev.round_num);
      if (round !== null) {
        noteRound(d, round);
        pushBounded(d.repetitive, { round_num: round, ts, tool_name: str(ev.tool_name) ?? '', target: str(ev.target) ?? '', count: num(ev.count) ?? 0 }, keep);
      }
      break;
    }
    case 'transient_error_recovered':
      if (ev.classification === 'usage_limit' || ev.classification === undefined) d.limit = null;
      break;
  }
  return d;
}

function noteRound(d: Digest, round: number | null): void {
  if (round !== null && (d.newest_round === null || round > d.newest_round)) d.newest_round = round;
}

/** The agent log path recorded for a round, if any. */
export function logPathOf(d: Digest, round: number): string | undefined {
  for (let i = d.log_paths.length - 1; i >= 0; i--) if (d.log_paths[i]![0] === round) return d.log_paths[i]![1];
  return undefined;
}
