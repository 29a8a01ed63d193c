import type { AlertRecord, AlertSet } from './alerts.js';
import { alertLineJson, stateLine, statusOf, STATUS_EXIT } from './contract.js';
import type { ProbeResult } from './probe.js';
import { alertLine, type Painter } from './render.js';
import type { Transitions } from './run.js';

/**
 * What `monitor` (anomaly mode) writes to stdout, by the contract in docs/witness.md:
 * - `--once --json`: one state line per watched project, nothing else;
 * - `--json`: the state line after the first poll, then an alert line per transition (the first
 *   poll's included, so `select(.state == "firing")` sees every alert that fires);
 * - human: a line per transition, and with `--once` a summary line (status, what fires).
 */
export class MonitorOutput {
  private started = false;
  private held: AlertRecord[] = [];
  private halted = false;

  constructor(
    private readonly o: { json: boolean; once: boolean; host: string | null; paint: Painter; write: (line: string) => void },
    /** The watched project's name: known locally from the config, remotely from the first answer. */
    private project: string | null,
  ) {}

  /** An alert transition, as it happens. */
  transition(r: AlertRecord): void {
    if (!this.o.json) return this.o.write(alertLine(r, this.o.paint));
    if (this.started) this.o.write(JSON.stringify(alertLineJson(r, this.project)));
    else if (!this.o.once) this.held.push(r);
  }

  /** After each cycle: the state line once, first; then what the first cycle held back. */
  cycle(alerts: AlertSet, result: ProbeResult | undefined, t: Transitions | undefined, cursor: string | null): void {
    if (result) {
      this.project = result.project;
      this.halted = result.halt !== null;
    }
    if (this.started) return;
    this.started = true;
    if (!this.o.json) return;
    const line = stateLine({
      nowIso: new Date().toISOString(),
      host: this.o.host,
      project: this.project,
      alerts,
      fired: t?.fired ?? [],
      resolved: t?.resolved ?? [],
      conditions: result?.conditions ?? [],
      halt: result?.halt ? { reason: result.halt.reason, ts: result.halt.ts } : null,
      cursor,
    });
    this.o.write(JSON.stringify(line));
    for (const r of this.held.splice(0)) this.o.write(JSON.stringify(alertLineJson(r, this.project)));
  }

  /** `--once` without `--json`: the whole picture in one line, after the news. */
  summary(firing: AlertSet): void {
    if (!this.o.once || this.o.json) return;
    const status = statusOf(firing, this.halted);
    const list = Object.values(firing).map((a) => `${a.detector}${a.subject ? ` (${a.subject})` : ''} ${a.severity} since ${a.since}`);
    const where = [this.o.host, this.project].filter(Boolean).join(' ');
    this.o.write(`${where ? `${where}: ` : ''}${status}${list.length ? ` — firing: ${list.join('; ')}` : ''} (exit ${STATUS_EXIT[status]})`);
  }
}
