import { eventLinesBackward, kindOf, parseEvent, parseRecord, type EventRecord, type StoredEvent } from '../events/reader.js';

/**
 * What peek shows from the events history, collected newest-first by reading back from the end
 * until it has enough: the last rounds, the last N events, and what those rounds reported. The
 * read is bounded by a byte budget, so peek's cost does not grow with the history.
 */
export interface RoundSummary {
  round_num: number;
  phase: string | null;
  started_at: string | null;
  ended_at: string | null;
  duration_s: number | null;
  outcome: string | null;
  exit_code: number | null;
  exit_cause: string | null;
  transient: string | null;
  timed_out: boolean | null;
  tool_calls: number | null;
  cost_usd: number | null;
  log_path: string | null;
}

export interface Recent {
  rounds: RoundSummary[];
  events: EventRecord[];
  blips: EventRecord[];
  /** Latest usage limit reported among the scanned events, unless a later event says it is over. */
  limit: StoredEvent<'transient_error_detected'> | null;
  /** Newest round_progress per round (tool calls of a running round). */
  progress: Map<number, StoredEvent<'round_progress'>>;
  /** Events of the round being looked at (for current_round.recent_events). */
  roundEvents: EventRecord[];
  bytesRead: number;
}

const ROUND_KINDS = new Set(['round_start', 'agent_spawn', 'agent_exit', 'round_end', 'agent_network_blip', 'transient_error_detected', 'transient_error_recovered', 'round_progress']);
export const PEEK_BUDGET_BYTES = 4 * 1024 * 1024;

export function collectRecent(logDir: string, opts: { rounds: number; events: number; focusRound?: number; budgetBytes?: number }): Recent {
  const budget = { bytes: opts.budgetBytes ?? PEEK_BUDGET_BYTES };
  const start = budget.bytes;
  const byRound = new Map<number, RoundSummary>();
  const order: number[] = [];
  const events: EventRecord[] = [];
  const blips: EventRecord[] = [];
  const progress = new Map<number, StoredEvent<'round_progress'>>();
  const roundEvents: EventRecord[] = [];
  let limit: StoredEvent<'transient_error_detected'> | null = null;
  let limitSettled = false;
  let complete = 0;
  const focusRe = opts.focusRound !== undefined ? new RegExp(`"round_num": ?${opts.focusRound}[,}]`) : undefined;

  const summary = (n: number): RoundSummary => {
    let s = byRound.get(n);
    if (!s) {
      s = { round_num: n, phase: null, started_at: null, ended_at: null, duration_s: null, outcome: null, exit_code: null, exit_cause: null, transient: null, timed_out: null, tool_calls: null, cost_usd: null, log_path: null };
      byRound.set(n, s);
      order.push(n);
    }
    return s;
  };

  for (const line of eventLinesBackward(logDir, budget)) {
    const kind = kindOf(line);
    if (kind === undefined) continue;
    const wantEvent = events.length < opts.events;
    const focus = focusRe !== undefined && focusRe.test(line);
    if (!wantEvent && !ROUND_KINDS.has(kind) && !focus) {
      if (roundsDone()) break;
      continue;
    }
    const rec = parseRecord(line);
    if (!rec) continue;
    if (wantEvent) events.push(rec);
    const ev = parseEvent(line);
    if (!ev) continue;
    const n = 'round_num' in ev ? num(ev.round_num) ?? undefined : undefined;
    if (focus && n === opts.focusRound) roundEvents.push(rec);
    if (!limitSettled) {
      if (ev.event === 'transient_error_recovered' || (ev.event === 'agent_exit' && ev.outcome === 'clean')) limitSettled = true;
      else if (ev.event === 'transient_error_detected' && ev.classification === 'usage_limit') {
        limit = ev;
        limitSettled = true;
      }
    }
    if (n !== undefined && ROUND_KINDS.has(kind)) {
      const tracked = byRound.has(n) || byRound.size < opts.rounds;
      if (ev.event === 'round_progress' && !progress.has(n)) progress.set(n, ev);
      if (ev.event === 'agent_network_blip' && tracked) blips.push(rec);
      if (tracked) {
        const s = summary(n);
        switch (ev.event) {
          case 'round_end':
            s.ended_at = ev.ts;
            s.outcome ??= str(ev.outcome);
            s.duration_s ??= num(ev.duration_s);
            break;
          case 'agent_exit':
            s.exit_code = num(ev.exit_code);
            s.exit_cause = str(ev.exit_cause);
            s.transient = str(ev.transient);
            s.timed_out = typeof ev.timed_out === 'boolean' ? ev.timed_out : null;
            s.tool_calls = num(ev.tool_calls);
            s.cost_usd = num(ev.cost_usd);
            s.outcome ??= str(ev.outcome);
            s.duration_s ??= num(ev.duration_s);
            break;
          case 'agent_spawn':
            s.log_path = str(ev.log_path);
            break;
          case 'round_start':
            s.started_at = ev.ts;
            s.phase = str(ev.phase);
            complete++;
            break;
        }
      }
    }
    if (roundsDone() && events.length >= opts.events && (opts.focusRound === undefined || byRound.get(opts.focusRound)?.started_at)) break;
  }

  function roundsDone(): boolean {
    return complete >= opts.rounds && (opts.focusRound === undefined || Boolean(byRound.get(opts.focusRound)?.started_at));
  }

  return {
    rounds: order.map((n) => byRound.get(n)!).slice(0, opts.rounds),
    events: events.reverse(),
    blips: blips.slice(0, 5).reverse(),
    limit,
    progress,
    roundEvents: roundEvents.reverse(),
    bytesRead: start - budget.bytes,
  };
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
