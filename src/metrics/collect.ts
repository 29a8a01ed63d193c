import { existsSync, realpathSync } from 'node:fs';
import { loadConfig, type Config } from '../config/load.js';
import { parseRecord, readSince, type Cursor } from '../events/reader.js';
import { runProbe } from '../monitor/probe.js';
import { listProjects } from '../registry/projects.js';
import type { ProjectMetrics } from './exposition.js';
import { emptyTotals, foldEvent, type Totals } from './totals.js';

/** The `host` label of this host's projects (a fleet's carry their ssh alias). */
export const LOCAL_HOST = 'local';

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

/** One evaluation of a project of this host, as `monitor --listen` would serve it. */
export async function localProjectMetrics(cfg: Config): Promise<ProjectMetrics> {
  const { result } = await runProbe(cfg, undefined);
  return {
    project: cfg.project,
    host: LOCAL_HOST,
    up: true,
    halted: result.halt !== null,
    alerts: result.conditions.map((c) => ({ detector: c.detector, severity: c.severity })),
    totals: new LocalTotals(cfg.paths.logDir).update(),
  };
}

/**
 * `agent-runner metrics` without a config: every project of this host's registry (`ls`), plus
 * `extra` configs. A project that cannot be evaluated (its config no longer loads) is up 0, so a
 * broken project shows in Prometheus instead of vanishing from it.
 */
export async function registryMetrics(extra: string[], warn: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<ProjectMetrics[]> {
  const seen = new Set<string>();
  const targets: Array<{ name: string; config: string }> = [];
  // The registry records configs with symlinks resolved; so are these, to be counted once.
  for (const c of extra.map((x) => realpathSync(x))) if (!seen.has(c) && seen.add(c)) targets.push({ name: c, config: c });
  for (const { entry } of listProjects(env).entries) {
    // A project whose config is gone is `ls --prune`'s to forget.
    if (!seen.has(entry.config) && existsSync(entry.config) && seen.add(entry.config)) targets.push({ name: entry.name, config: entry.config });
  }
  const out: ProjectMetrics[] = [];
  for (const t of targets) {
    try {
      out.push(await localProjectMetrics(loadConfig(t.config)));
    } catch (err) {
      warn(`metrics: ${t.name} (${t.config}) is up 0: ${(err as Error).message}`);
      out.push({ project: t.name, host: LOCAL_HOST, up: false, halted: null, alerts: [] });
    }
  }
  return out;
}
