import type { EventSink } from '../events/writer.js';
import type { EventPayloads, KnownKind, StoredEvent } from '../events/payloads.js';
import { emptyLog, foldEvent, type HistoryLog, type RoundRecord, type WaitRecord } from '../history/log.js';

type Style = 'green' | 'yellow' | 'red' | 'cyan' | 'bold';

export interface NarratorOptions {
  /** Writes one finished line (the caller adds its prefix and the newline). */
  write(line: string): void;
  /** Paints text, or returns it unchanged when colour is off. */
  paint(style: Style, text: string): string;
  /** epoch ms; injectable for tests. */
  now?: () => number;
}

/**
 * What `serve` tells the person who started it, from the events it writes: a line when each round
 * ends (number, outcome, duration, cost, commits), a line when a wait begins (with its reason), and a
 * summary when serve stops (rounds by outcome, spend, commits, wall time, why it stopped). The
 * events go through the same fold as every other view (history/log.ts), so the line and `peek`
 * cannot tell different stories about a round.
 */
export class ServeNarrator {
  private readonly log: HistoryLog = emptyLog();
  private readonly now: () => number;
  private readonly startedMs: number;
  private readonly outcomes = new Map<string, number>();
  private rounds = 0;
  private costUsd = 0;
  private costReported = false;
  private commits = 0;
  private halt: { reason: string; exit_code: number | null } | null = null;
  private lastWait: WaitRecord | undefined;

  constructor(private readonly o: NarratorOptions) {
    this.now = o.now ?? Date.now;
    this.startedMs = this.now();
  }

  /** An event sink that writes through `inner` and narrates what passes. */
  tee(inner: EventSink): EventSink {
    const observe = <K extends KnownKind>(kind: K, payload: EventPayloads[K]) => this.observe(kind, payload);
    return {
      emit(kind, payload) {
        inner.emit(kind, payload);
        observe(kind, payload);
      },
      get writeError() {
        return inner.writeError;
      },
    };
  }

  observe<K extends KnownKind>(kind: K, payload: EventPayloads[K]): void {
    const ev = { ts: new Date(this.now()).toISOString(), event: kind, ...payload } as StoredEvent;
    foldEvent(this.log, ev);
    switch (ev.event) {
      case 'round_end': {
        const r = this.log.rounds.find((x) => x.round_num === ev.round_num);
        if (r) this.roundEnded(r);
        break;
      }
      case 'serve_waiting': {
        // A wait's heartbeats repeat it every minute; the fold starts a new record for a new wait only.
        const w = this.log.waits.at(-1);
        if (w && w !== this.lastWait && w.ended_by === null) {
          this.lastWait = w;
          this.waitStarted(w);
        }
        break;
      }
      case 'halt_recorded':
        this.halt = { reason: ev.reason ?? 'unknown', exit_code: ev.exit_code ?? null };
        break;
      case 'serve_stopped':
        this.o.write(this.summary(ev.reason ?? 'stopped', ev.exit_code ?? null));
        break;
      default:
        break;
    }
  }

  private roundEnded(r: RoundRecord): void {
    this.rounds++;
    const outcome = r.outcome ?? 'unknown';
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    if (r.cost_usd !== null) {
      this.costUsd += r.cost_usd;
      this.costReported = true;
    }
    if (r.commits !== null) this.commits += r.commits;
    const parts = [
      `${this.o.paint(outcome === 'clean' ? 'green' : outcome === 'interrupted' ? 'bold' : 'yellow', outcome)}${r.transient ? ` (${r.transient})` : ''}` +
        (r.duration_s !== null ? ` in ${duration(r.duration_s)}` : ''),
    ];
    if (r.cost_usd !== null) parts.push(usd(r.cost_usd));
    if (r.commits !== null) parts.push(plural(r.commits, 'commit'));
    this.o.write(`round ${r.round_num}${r.phase ? ` (${r.phase})` : ''}: ${parts.join(', ')}`);
  }

  private waitStarted(w: WaitRecord): void {
    const s = Math.max(0, Math.round((Date.parse(w.until) - this.now()) / 1000));
    this.o.write(this.o.paint('cyan', `waiting ${duration(s)} (${w.reason}) until ${w.until}`));
  }

  private summary(reason: string, exitCode: number | null): string {
    const byOutcome = [...this.outcomes.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, n]) => `${n} ${k}`);
    const rounds = `${plural(this.rounds, 'round')}${byOutcome.length ? ` (${byOutcome.join(', ')})` : ''}`;
    const spent = this.costReported ? usd(this.costUsd) : 'no cost reported';
    const why = this.halt ? this.o.paint('red', `halted (${this.halt.reason})`) : reason;
    const wall = duration((this.now() - this.startedMs) / 1000);
    return `${this.o.paint('bold', 'summary')}: ${rounds}, ${spent}, ${plural(this.commits, 'commit')} in ${wall}; stopped: ${why}${exitCode !== null ? `, exit ${exitCode}` : ''}`;
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const usd = (x: number) => `$${x > 0 && x < 0.01 ? x.toFixed(4) : x.toFixed(2)}`;

/** 0.4s, 12.3s, 5m03s, 2h05m: precise for short rounds, readable for long waits. */
export function duration(s: number): string {
  const tenths = Math.round(s * 10) / 10;
  if (tenths < 10) return `${tenths.toFixed(1)}s`;
  const total = Math.round(s);
  if (total < 60) return `${total}s`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
}
