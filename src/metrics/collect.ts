import type { Config } from '../config/load.js';
import { parseRecord, readSince, type Cursor } from '../events/reader.js';
import { runProbe } from '../monitor/probe.js';
import type { ProjectMetrics } from './exposition.js';
import { emptyTotals, foldEvent, type Totals } from './totals.js';

/** A project's counters, advanced from where the last call stopped (the whole history at first). */
export class LocalTotals {
  private cursor: Cursor = { files: [] };
  private totals: Totals = emptyTotals();

  constructor(private readonly logDir: string) {}

  update(): Totals {
    const r = readSince(this.logDir, this.cursor);
    // A history rewritten under us (a file truncated or replaced) is counted again from scratch.
    if (r.reset) {
      this.cursor = { files: [] };
      this.totals = emptyTotals();
      return this.update();
    }
    for (const line of r.lines) {
      const e = parseRecord(line);
      if (e) foldEvent(this.totals, e);
    }
    this.cursor = r.cursor;
    return this.totals;
  }
}

/** `agent-runner metrics`: one evaluation of the local project, as `monitor --listen` would serve it. */
export async function localProjectMetrics(cfg: Config): Promise<ProjectMetrics> {
  const { result } = await runProbe(cfg, undefined);
  return {
    project: cfg.project,
    host: null,
    up: true,
    halted: result.halt !== null,
    alerts: result.conditions.map((c) => ({ detector: c.detector, severity: c.severity })),
    totals: new LocalTotals(cfg.paths.logDir).update(),
  };
}
