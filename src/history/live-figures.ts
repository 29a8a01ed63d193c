/**
 * PURE: the live round's figures as an overview shows them — elapsed against the timeout, how long
 * the log has been quiet, tool calls and output tokens so far (its cost is known only when it ends).
 * The dashboard's card of a local project and the probe (which a fleet monitor's card of a remote
 * project reads) both take them from here.
 */
import type { ProjectHistory } from './model.js';

export interface LiveFigures {
  round_num: number;
  phase: string | null;
  started_at: string;
  /** Seconds the round has run, at `now`. */
  elapsed_s: number;
  /** The round's effective timeout (phase override included). */
  timeout_s: number;
  /** Seconds since the round's log last grew, and when that was; null when the log is not found. */
  seconds_since_output: number | null;
  last_output_at: string | null;
  /** Tool calls counted so far (the round's newest heartbeat); null before the first. */
  tool_calls: number | null;
  /** Output tokens so far (the newest heartbeat); null when no heartbeat carried them (before the first, or an agent that does not report usage per message). */
  output_tokens: number | null;
}

/** `logMtimeMs`: when the live round's log last changed (epoch ms), null when it is not found. */
export function liveFigures(h: ProjectHistory, logMtimeMs: number | null, now: number): LiveFigures | null {
  const live = h.live;
  if (!live) return null;
  const progress = h.rounds.find((r) => r.round_num === live.round_num)?.progress ?? null;
  return {
    round_num: live.round_num,
    phase: live.phase,
    started_at: live.started_at,
    elapsed_s: Math.max(0, Math.round((now - live.started_ms) / 1000)),
    timeout_s: live.timeout_s,
    seconds_since_output: logMtimeMs === null ? null : Math.max(0, Math.round((now - logMtimeMs) / 1000)),
    last_output_at: logMtimeMs === null ? null : new Date(logMtimeMs).toISOString(),
    tool_calls: progress?.tool_calls ?? null,
    output_tokens: progress?.output_tokens ?? null,
  };
}
