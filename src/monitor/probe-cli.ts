import { createInterface } from 'node:readline';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadConfig } from '../config/load.js';
import { RunnerError } from '../errors.js';
import { parseCursor, formatCursor } from '../events/reader.js';
import { readJsonOr } from '../state/json-file.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { HISTORY_LOG_VERSION, type HistoryLog } from '../history/log.js';
import type { HistoryState } from '../history/scan.js';
import { PROBE_VERSION, runProbe, type ProbeResult } from './probe.js';
import { localMonitorDir, monitorFiles } from './state-file.js';

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

export async function probeStdio(configPath: string): Promise<void> {
  let history: HistoryState | undefined;
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    let answer: unknown;
    try {
      const req = JSON.parse(line) as { since?: string | null };
      // Told apart from a broken config: the monitor says "no project there", not "remote error".
      if (!existsSync(configPath)) {
        process.stdout.write(JSON.stringify({ v: PROBE_VERSION, kind: 'agent-runner.probe-error', error: `${configPath}: config file not found (run \`agent-runner init\` to create one)`, code: 'no_project' }) + '\n');
        continue;
      }
      // The config is re-read per request: edits on this host apply at the next poll.
      const cfg = loadConfig(configPath);
      const reuse = history && req.since && formatCursor(history.cursor) === req.since ? history : undefined;
      const r = await runProbe(cfg, reuse);
      history = r.history;
      answer = r.result;
    } catch (e) {
      const known = e instanceof RunnerError;
      answer = { v: PROBE_VERSION, kind: 'agent-runner.probe-error', error: known ? e.message : `internal error: ${(e as Error).message}`, code: known ? e.code : 'internal' };
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  }
}

export function probeSummary(r: ProbeResult): string[] {
  const out = [`${r.project} on ${r.hostname}: ${r.health}${r.halt ? ` (halted: ${r.halt.reason})` : ''}; service ${r.service.active ? 'active' : 'inactive'} (${r.service.mode})`];
  for (const c of r.conditions) out.push(`  ${c.severity.padEnd(8)} ${c.detector}${c.subject ? ` (${c.subject})` : ''}: ${c.message}${c.auto_action === 'stop_service' ? ' [auto-stop]' : ''}`);
  out.push(`  cursor ${r.cursor}`);
  return out;
}
