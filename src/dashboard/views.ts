/**
 * PURE: what the dashboard shows, decided from the history model (history/model.ts) and the
 * monitor's firing alerts. Nothing here folds events: the rounds, waits, halts and spend come from
 * `ProjectHistory`; this only arranges them into a card and a project page.
 */
import type { EventRecord } from '../events/payloads.js';
import { liveFigures } from '../history/live-figures.js';
import type { ProjectHistory } from '../history/model.js';

/** A firing alert, as the monitor keeps it in monitor-state.json. */
export interface CardAlert {
  detector: string;
  subject: string;
  severity: string;
  since: string;
  message: string;
}

export type CardState = 'running' | 'waiting' | 'halted' | 'idle' | 'stopped' | 'unknown';

/** One overview card: one host × project. */
export interface ProjectCard {
  id: string;
  host: string;
  name: string;
  /** halted (halt.json stands), running (a live round), waiting (serve between rounds), idle (serve alive, no round), stopped (no serve), unknown (a remote host that cannot be polled now). */
  state: CardState;
  live: {
    round_num: number;
    phase: string | null;
    started_at: string;
    /** Seconds the round has run, at `generated_at`. */
    elapsed_s: number;
    /** null when not known here (a remote host on a release whose probe does not say). */
    timeout_s: number | null;
    /** Seconds since the round's log last grew, and when that was; null when the log is not found. */
    seconds_since_output: number | null;
    last_output_at: string | null;
    /**
     * Tool calls counted so far (the round's newest heartbeat); null before the first. Absent, with
     * the output figures null, when not known here (a remote host on a release whose probe does not say).
     */
    tool_calls?: number | null;
    /** Output tokens so far (the newest heartbeat); null when not reported, absent when not known here (an older remote). */
    output_tokens?: number | null;
  } | null;
  last_round: { round_num: number; outcome: string | null; ended_at: string | null; duration_s: number | null; cost_usd: number | null } | null;
  halt: { reason: string; since: string; message: string; hint: string } | null;
  wait: { reason: string | null; until: string; seconds_left: number | null } | null;
  alerts: CardAlert[];
  cost_today_usd: number;
  rounds: number;
  generated_at: string;
  /** A project a fleet monitor watches over ssh: whether its last poll succeeded, and when the host last answered. null for this host's projects. */
  remote: { up: boolean; answered_at: string | null } | null;
}

export interface CardInput {
  id: string;
  host: string;
  name: string;
  history: ProjectHistory;
  alerts: CardAlert[];
  /** epoch ms the live round's log last changed, when known. */
  liveLogMtimeMs: number | null;
  now: number;
}

export function decideCard(i: CardInput): ProjectCard {
  const h = i.history;
  const last = h.last_round;
  return {
    id: i.id,
    host: i.host,
    name: i.name,
    state: cardState(h),
    live: liveFigures(h, i.liveLogMtimeMs, i.now),
    last_round: last ? { round_num: last.round_num, outcome: last.outcome, ended_at: last.ended_at, duration_s: last.duration_s, cost_usd: last.cost_usd } : null,
    halt: h.halt ? { reason: h.halt.reason, since: h.halt.ts, message: h.halt.message, hint: h.halt.hint } : null,
    wait: h.wait ? { reason: h.wait.reason, until: h.wait.until, seconds_left: h.wait.seconds_left } : null,
    alerts: i.alerts,
    cost_today_usd: h.cost.today_usd,
    rounds: h.counters.rounds,
    generated_at: new Date(i.now).toISOString(),
    remote: null,
  };
}

/** A card's identity for change detection: the figures that move every second are left out (the page counts them itself). */
export function cardKey(c: ProjectCard): string {
  return JSON.stringify({ ...c, generated_at: null, live: c.live ? { ...c.live, elapsed_s: null, seconds_since_output: null } : null, wait: c.wait ? { ...c.wait, seconds_left: null } : null });
}

function cardState(h: ProjectHistory): CardState {
  if (h.halt) return 'halted';
  if (h.live) return 'running';
  if (h.wait) return 'waiting';
  if (h.serve.process === 'alive' || h.serve.process === 'stopped') return 'idle';
  return 'stopped';
}

/** One bar of the rounds timeline. */
export interface TimelineRound {
  round_num: number;
  phase: string | null;
  started_at: string | null;
  duration_s: number | null;
  /** null while the round runs. */
  outcome: string | null;
  commits: number | null;
  cost_usd: number | null;
  tool_calls: number | null;
}

/** Spend and tokens of one UTC day, over the rounds listed. */
export interface DayFigures {
  day: string;
  rounds: number;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  commits: number;
}

export interface ProjectPage {
  card: ProjectCard;
  /** Oldest first. */
  timeline: TimelineRound[];
  /** Oldest first. */
  days: DayFigures[];
  waits: ProjectHistory['log']['waits'];
  halts: ProjectHistory['log']['halts'];
  /** The newest alert transitions (fired, resolved, auto-stops), oldest first. */
  alert_events: EventRecord[];
  /** The newest events as stored, oldest first. */
  events: EventRecord[];
  /** Set when the page shows only part of the project (a remote one: what its probe reports): says what is missing and where to see it. */
  limited: string | null;
}

/** The event kinds of an alert's lifecycle. */
export const ALERT_KINDS: ReadonlySet<string> = new Set(['monitor_alert_emitted', 'monitor_alert_resolved', 'monitor_auto_stop_triggered', 'monitor_auto_stop_completed', 'monitor_auto_stop_failed']);

export function decidePage(card: ProjectCard, h: ProjectHistory, events: EventRecord[], alertEvents: EventRecord[]): ProjectPage {
  const timeline = h.rounds
    .slice()
    .reverse()
    .map((r) => ({ round_num: r.round_num, phase: r.phase, started_at: r.started_at, duration_s: r.duration_s, outcome: r.ended_at === null ? null : r.outcome, commits: r.commits, cost_usd: r.cost_usd, tool_calls: r.tool_calls }));
  const byDay = new Map<string, DayFigures>();
  for (const r of h.rounds) {
    const at = r.ended_at ?? r.started_at;
    if (!at) continue;
    const day = at.slice(0, 10);
    const d = byDay.get(day) ?? { day, rounds: 0, cost_usd: 0, input_tokens: 0, output_tokens: 0, commits: 0 };
    d.rounds++;
    d.cost_usd += r.cost_usd ?? 0;
    d.input_tokens += r.input_tokens ?? 0;
    d.output_tokens += r.output_tokens ?? 0;
    d.commits += r.commits ?? 0;
    byDay.set(day, d);
  }
  const days = [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day)).map((d) => ({ ...d, cost_usd: Math.round(d.cost_usd * 1e4) / 1e4 }));
  return {
    card,
    timeline,
    days,
    waits: h.log.waits,
    halts: h.log.halts,
    alert_events: alertEvents,
    events,
    limited: null,
  };
}
