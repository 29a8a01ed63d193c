import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { readHistory } from '../api/history.js';
import { loadConfig, type Config } from '../config/load.js';
import { RunnerError } from '../errors.js';
import { readLocalMonitorState } from '../monitor/state-file.js';
import { serviceStatus } from '../service/status.js';
import type { ServiceMode } from '../service/units.js';
import { forgetFile, listProjects, registryDir, type ListedEntry, type RegistryProblem } from './projects.js';

/**
 * What `ls` shows: every registered project with its service state, live round, last outcome,
 * halt, firing alerts and today's spend, read from the same history model as `status` and `peek`.
 * Reading writes nothing anywhere (except that `prune` forgets entries in the registry itself).
 * docs/schemas/ls.schema.json describes the JSON form; bump SCHEMA_VERSION on a breaking change.
 */
export const LS_SCHEMA_VERSION = 1;

/** unknown: a unit is installed but its service manager did not answer (no user bus in this session). */
export type ServiceState = 'running' | 'stopped' | 'not_installed' | 'unknown';

export interface LsProject {
  name: string;
  /** The work directory. */
  path: string;
  config: string;
  /** ok: read; missing: the config file is gone (`ls --prune` forgets it); unreadable: it does not load. */
  presence: 'ok' | 'missing' | 'unreadable';
  /** Why a project is missing or unreadable; null when ok. */
  problem: string | null;
  first_seen: string;
  last_seen: string;
  service: { state: ServiceState; mode: ServiceMode; pid: number | null } | null;
  current_round: { round_num: number; phase: string | null; started_at: string; age_s: number } | null;
  last_round: { round_num: number; outcome: string | null; ended_at: string | null; duration_s: number | null; cost_usd: number | null } | null;
  halt: { reason: string; since: string; message: string } | null;
  waiting: { reason: string | null; until: string } | null;
  /** Firing alerts of a monitor watching this project on this host (none when no monitor runs). */
  alerts: Array<{ detector: string; subject: string; severity: string; since: string; message: string }>;
  /** Spent on the current UTC day (agent_exit.cost_usd). */
  cost_today_usd: number | null;
}

export interface LsDocument {
  schema_version: typeof LS_SCHEMA_VERSION;
  agent_runner_version: string;
  host: string;
  generated_at: string;
  registry: string;
  projects: LsProject[];
  /** Configs of the projects `--prune` forgot. */
  pruned: string[];
  /** Files in the registry that are not readable entries (`--prune` removes them). */
  problems: RegistryProblem[];
}

export interface LsOptions {
  version: string;
  prune?: boolean;
  env?: NodeJS.ProcessEnv;
  now?: number;
}

export async function listOverview(opts: LsOptions): Promise<LsDocument> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now();
  const { entries, problems } = listProjects(env);
  const pruned: string[] = [];
  let kept = entries;
  let unreadable = problems;
  if (opts.prune) {
    kept = entries.filter((e) => {
      if (existsSync(e.entry.config)) return true;
      forgetFile(e.file);
      pruned.push(e.entry.config);
      return false;
    });
    for (const p of problems) forgetFile(p.file);
    unreadable = [];
  }
  // Rows with a systemd unit ask systemctl: all at once, so ls costs one round trip, not one per project.
  const projects = await Promise.all(kept.map((e) => projectRow(e, now)));
  return {
    schema_version: LS_SCHEMA_VERSION,
    agent_runner_version: opts.version,
    host: hostname(),
    generated_at: new Date(now).toISOString(),
    registry: registryDir(env),
    projects,
    pruned,
    problems: unreadable,
  };
}

function serviceState(svc: Awaited<ReturnType<typeof serviceStatus>>): ServiceState {
  if (svc.active) return 'running';
  if (svc.mode === 'none') return 'not_installed';
  return svc.active_state === 'unknown' ? 'unknown' : 'stopped';
}

async function projectRow({ entry }: ListedEntry, now: number): Promise<LsProject> {
  const base: LsProject = {
    name: entry.name,
    path: entry.path,
    config: entry.config,
    presence: 'ok',
    problem: null,
    first_seen: entry.first_seen,
    last_seen: entry.last_seen,
    service: null,
    current_round: null,
    last_round: null,
    halt: null,
    waiting: null,
    alerts: [],
    cost_today_usd: null,
  };
  if (!existsSync(entry.config)) return { ...base, presence: 'missing', problem: `${entry.config} no longer exists` };
  let cfg: Config;
  try {
    cfg = loadConfig(entry.config);
  } catch (err) {
    if (err instanceof RunnerError) return { ...base, presence: 'unreadable', problem: err.message };
    throw err;
  }
  const svc = await serviceStatus(cfg);
  const h = readHistory(cfg, { rounds: 1, now });
  const live = h.live;
  const last = h.last_round;
  const monitor = readLocalMonitorState(cfg.path, cfg.paths.logDir).state;
  return {
    ...base,
    name: cfg.project,
    path: cfg.paths.workDir,
    service: { state: serviceState(svc), mode: svc.mode, pid: svc.pid },
    current_round: live ? { round_num: live.round_num, phase: live.phase, started_at: live.started_at, age_s: Math.max(0, Math.round((now - live.started_ms) / 1000)) } : null,
    last_round: last ? { round_num: last.round_num, outcome: last.outcome, ended_at: last.ended_at, duration_s: last.duration_s, cost_usd: last.cost_usd } : null,
    halt: h.halt ? { reason: h.halt.reason, since: h.halt.ts, message: h.halt.message } : null,
    waiting: h.wait ? { reason: h.wait.reason, until: h.wait.until } : null,
    alerts: monitor ? Object.values(monitor.alerts).map((a) => ({ detector: a.detector, subject: a.subject, severity: a.severity, since: a.since, message: a.message })) : [],
    cost_today_usd: h.cost.today_usd,
  };
}
