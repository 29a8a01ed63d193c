import { createInterface } from 'node:readline';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { expandHome, loadConfig, type Config } from '../config/load.js';
import { RunnerError, UsageError } from '../errors.js';
import { parseCursor, formatCursor } from '../events/reader.js';
import { readJsonOr } from '../state/json-file.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { HISTORY_LOG_VERSION, type HistoryLog } from '../history/log.js';
import type { HistoryState } from '../history/scan.js';
import { DIGEST_KIND, PROBE_VERSION, PROJECTS_KIND, runProbe, type ProbeResult } from './probe.js';
import { collectDigest } from './daily-digest.js';
import { listProjects } from '../registry/projects.js';
import { LS_SCHEMA_VERSION } from '../registry/overview.js';
import { hostname } from 'node:os';
import { localMonitorDir, monitorFiles } from './state-file.js';
import { ChangeWatcher } from './change-watcher.js';
import { ConfigCache } from './config-cache.js';

/**
 * The remote half of `monitor --host`. A one-shot probe keeps its history log in probe-state.json
 * under the user's state dir (never in the project it reads), keyed by the cursor it printed, so
 * the next `--since CURSOR` reads only what came after; a mismatched or missing cursor re-derives
 * the log from the end of the history (bounded, and the same answer). `--stdio` keeps the log in memory for the whole connection.
 */
interface ProbeStateFile {
  cursor: string;
  log: HistoryLog;
}

export async function probeOnce(configPath: string, since: string | undefined): Promise<ProbeResult> {
  const cfg = loadConfig(configPath);
  const path = monitorFiles(localMonitorDir(cfg.path)).probeState;
  const saved = since !== undefined ? readJsonOr<ProbeStateFile>(path) : undefined;
  const cursor = saved?.cursor === since && saved ? parseCursor(saved.cursor) : undefined;
  const prev: HistoryState | undefined = cursor && saved?.log?.v === HISTORY_LOG_VERSION ? { cursor, log: saved.log } : undefined;
  const { result, history } = await runProbe(cfg, prev);
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeJsonAtomic(path, { cursor: formatCursor(history.cursor), log: history.log } satisfies ProbeStateFile);
  } catch {
    /* an unwritable state dir only costs the next probe a re-derivation */
  }
  return result;
}

/**
 * One request line → one answer line. A request may name another project's config
 * (`{"since": …, "config": PATH}`): a monitor watching every project of this host keeps one
 * stream for all of them, and each project keeps its own history here.
 *
 * Push: a request with `"watch": ID` also asks to be told of changes. The answer then carries
 * `"watching": true` (false when this host cannot watch), and whenever the project's log_dir
 * changes a fresh evaluation is written unasked, as `{"push": ID, …}` (the `push` key first, so a
 * reader tells it from an answer without parsing). Every line carries `seq`, rising, so a reader
 * never takes an older evaluation for a newer one. A release without push ignores `watch` and
 * answers as before: the monitor then only polls. `AGENT_RUNNER_PROBE_PUSH=0` makes this one
 * behave so.
 */
interface ProbeRequest {
  since?: string | null;
  config?: string;
  watch?: string;
  /** The projects registered here instead (what `ls --json` lists): the monitor's discovery, without another remote process. */
  list?: boolean;
  /**
   * The project's daily digest instead of an evaluation, for the watching side's `digest_at`:
   * the 24 h to `now_ms`, for its local date. A release without it answers with an evaluation.
   */
  digest?: { now_ms?: unknown; date?: unknown };
}

export async function probeStdio(configPath: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const histories = new Map<string, HistoryState>();
  const watchers = new Map<string, { id: string; watcher: ChangeWatcher }>();
  const canPush = env['AGENT_RUNNER_PROBE_PUSH'] !== '0';
  const configs = new ConfigCache();
  let seq = 0;
  // Answers and pushes share the history of each project: one evaluation at a time.
  let turn: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = turn.then(fn, fn);
    turn = next.catch(() => undefined);
    return next;
  };
  const write = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');

  const evaluate = async (path: string, since: string | null | undefined): Promise<ProbeResult> => {
    // Re-read when it changed: edits on this host apply at the next evaluation.
    const cfg = configs.load(path);
    const history = histories.get(path);
    const reuse = history && (since === undefined || (since && formatCursor(history.cursor) === since)) ? history : undefined;
    const r = await runProbe(cfg, reuse);
    histories.set(path, r.history);
    return r.result;
  };

  const subscribe = (path: string, id: string, logDir: string): boolean => {
    const had = watchers.get(path);
    if (had && had.watcher.dir === logDir) {
      had.id = id;
      return true;
    }
    had?.watcher.close();
    const entry = {
      id,
      watcher: new ChangeWatcher(logDir, () => {
        void serial(async () => {
          try {
            const result = await evaluate(path, undefined);
            // `push` first: the reader routes the line on its first bytes.
            write({ push: entry.id, ...result, seq: ++seq });
          } catch {
            /* a broken config is reported by the next poll's answer */
          }
        });
      }),
    };
    watchers.set(path, entry);
    return true;
  };

  const answer = async (line: string): Promise<object> => {
    let req: ProbeRequest;
    try {
      req = JSON.parse(line) as ProbeRequest;
      if (req.list === true) return { ...registeredProjects(env), seq: ++seq };
      const path = typeof req.config === 'string' && req.config ? resolve(expandHome(req.config)) : configPath;
      // Told apart from a broken config: the monitor says "no project there", not "remote error".
      if (!existsSync(path)) return { v: PROBE_VERSION, kind: 'agent-runner.probe-error', error: `${path}: config file not found (run \`agent-runner init\` to create one)`, code: 'no_project', seq: ++seq };
      if (req.digest !== undefined) return { ...(await digestOf(configs.load(path), req.digest)), seq: ++seq };
      const result = await evaluate(path, req.since ?? null);
      const watch = typeof req.watch === 'string' && req.watch ? req.watch : undefined;
      return { ...result, seq: ++seq, ...(watch !== undefined ? { watching: canPush && subscribe(path, watch, result.log_dir) } : {}) };
    } catch (e) {
      const known = e instanceof RunnerError;
      return { v: PROBE_VERSION, kind: 'agent-runner.probe-error', error: known ? e.message : `internal error: ${(e as Error).message}`, code: known ? e.code : 'internal', seq: ++seq };
    }
  };

  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  try {
    for await (const line of rl) {
      if (line.trim() === '') continue;
      await serial(async () => write(await answer(line)));
    }
  } finally {
    for (const w of watchers.values()) w.watcher.close();
  }
}

/** `{"digest": {"now_ms", "date"}}`: what collectDigest reads here; what fires is the watcher's to say. */
async function digestOf(cfg: Config, d: NonNullable<ProbeRequest['digest']>) {
  const nowMs = d?.now_ms;
  const date = d?.date;
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs) || typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date))
    throw new UsageError('the digest request expects {"now_ms": MILLISECONDS, "date": "YYYY-MM-DD"}');
  const { alerts_firing: _none, ...facts } = await collectDigest(cfg, {}, nowMs, date);
  return { v: PROBE_VERSION, kind: DIGEST_KIND, project: cfg.project, config: cfg.path, digest: facts };
}

/** The registry's projects, as much of `ls --json` as a monitor needs to pick what to watch. */
function registeredProjects(env: NodeJS.ProcessEnv) {
  const { entries } = listProjects(env);
  return {
    kind: PROJECTS_KIND,
    v: PROBE_VERSION,
    schema_version: LS_SCHEMA_VERSION,
    host: hostname(),
    projects: entries.map(({ entry }) => ({ name: entry.name, path: entry.path, config: entry.config, presence: existsSync(entry.config) ? 'ok' : 'missing' })),
  };
}

export function probeSummary(r: ProbeResult): string[] {
  const out = [`${r.project} on ${r.hostname}: ${r.health}${r.halt ? ` (halted: ${r.halt.reason})` : ''}; service ${r.service.active ? 'active' : 'inactive'} (${r.service.mode})`];
  for (const c of r.conditions) out.push(`  ${c.severity.padEnd(8)} ${c.detector}${c.subject ? ` (${c.subject})` : ''}: ${c.message}${c.auto_action === 'stop_service' ? ' [auto-stop]' : ''}`);
  out.push(`  cursor ${r.cursor}`);
  return out;
}
