import { hostname } from 'node:os';
import type { Config } from '../config/load.js';
import { formatCursor } from '../events/reader.js';
import type { DetectorName } from './detector-names.js';
import { NEVER_AUTO_STOP, runDetectors } from './detectors/index.js';
import { liveFigures } from '../history/live-figures.js';
import { liveLogMtimeMs, readProjectHistory } from '../history/read.js';
import type { ProjectHistory } from '../history/model.js';
import type { HistoryState } from '../history/scan.js';
import { takeSnapshot, thresholdsFrom } from './snapshot.js';
import type { Condition, Snapshot } from './types.js';

/**
 * One evaluation of a project on the host it runs on, with that host's config: the detectors'
 * verdicts plus the facts an operator (or a remote monitor deciding on an auto-stop) needs. This
 * is what `agent-runner probe --json` prints and what `monitor --host` receives over ssh.
 */
export const PROBE_VERSION = 1;

/** The kind of `probe --stdio`'s answer to `{"list": true}`: the projects registered on this host. */
export const PROJECTS_KIND = 'agent-runner.projects';

/** The kind of `probe --stdio`'s answer to `{"digest": …}`: the project's last 24 h, computed where its events are. */
export const DIGEST_KIND = 'agent-runner.digest';

export interface EvaluatedCondition extends Condition {
  auto_action: 'stop_service' | 'none';
}

export interface ProbeResult {
  v: typeof PROBE_VERSION;
  kind: 'agent-runner.probe';
  ts: string;
  hostname: string;
  project: string;
  config: string;
  log_dir: string;
  /** Pass back as --since on the next probe: only what is appended after it will be read. */
  cursor: string;
  bootstrap: boolean;
  lines_read: number;
  health: 'healthy' | 'warning' | 'critical';
  conditions: EvaluatedCondition[];
  auto_stop_on: string[];
  service: Snapshot['service'];
  serve: { state: string | null; process: string; pid: number | null; until: string | null; wait_reason: string | null };
  halt: Snapshot['halt'];
  /**
   * The round in progress. The figures after `supervisor` are the dashboard card's (history/live-figures.ts);
   * a release before them leaves them out, and a card then shows the round without them.
   */
  live_round: {
    round_num: number;
    phase: string | null;
    elapsed_s: number;
    supervisor: string;
    /** The round's effective timeout (phase override included). */
    timeout_s?: number;
    /** Seconds since the round's log last grew, and when that was; null when the log is not found. */
    seconds_since_output?: number | null;
    last_output_at?: string | null;
    /** Tool calls counted so far (the round's newest heartbeat); null before the first. */
    tool_calls?: number | null;
    /** Output tokens so far (the newest heartbeat); null when not reported. */
    output_tokens?: number | null;
  } | null;
  last_supervisor_event: { ts: string; event: string } | null;
  /** What the history model says, as peek and status say it (history/model.ts). */
  history: {
    rounds: number;
    last_round: { round_num: number; outcome: string | null; ended_at: string | null; duration_s: number | null; cost_usd: number | null } | null;
    wait: { reason: string | null; until: string; seconds_left: number | null } | null;
    usage_limit: { throttled_until_epoch: number; agent: string | null; source: 'serve' | 'agent' } | null;
    cost: { today_usd: number; today_complete: boolean; total_usd: number };
  };
  memory: Snapshot['memory'];
  disks: Snapshot['disks'];
}

export function evaluate(cfg: Config, snap: Snapshot): EvaluatedCondition[] {
  const stopOn = new Set<string>(cfg.monitor.auto_stop_on);
  return runDetectors(snap, thresholdsFrom(cfg)).map((c) => ({
    ...c,
    auto_action: stopOn.has(c.detector) && !NEVER_AUTO_STOP.has(c.detector as DetectorName) ? 'stop_service' : 'none',
  }));
}

export function healthOf(conditions: Array<{ severity: string }>): ProbeResult['health'] {
  if (conditions.some((c) => c.severity === 'critical')) return 'critical';
  if (conditions.some((c) => c.severity === 'warning')) return 'warning';
  return 'healthy';
}

export async function runProbe(cfg: Config, prev: HistoryState | undefined, now = Date.now()): Promise<{ result: ProbeResult; history: HistoryState }> {
  const adv = readProjectHistory(cfg, { ...(prev ? { since: prev } : {}), textFallback: true, now });
  const snap = await takeSnapshot(cfg, adv.history, now);
  const conditions = evaluate(cfg, snap);
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const last = snap.digest.last_supervisor;
  const live = liveFigures(adv.history, liveLogMtimeMs(adv.history), now);
  const result: ProbeResult = {
    v: PROBE_VERSION,
    kind: 'agent-runner.probe',
    ts: new Date(now).toISOString(),
    hostname: hostname(),
    project: cfg.project,
    config: cfg.path,
    log_dir: cfg.paths.logDir,
    cursor: formatCursor(adv.state.cursor),
    bootstrap: adv.bootstrap,
    lines_read: adv.linesRead,
    health: healthOf(conditions),
    conditions,
    auto_stop_on: [...cfg.monitor.auto_stop_on],
    service: snap.service,
    serve: { state: snap.serve.state, process: snap.serve.process, pid: snap.serve.pid, until: iso(snap.serve.until_ms), wait_reason: snap.serve.wait_reason },
    halt: snap.halt,
    live_round:
      snap.live && live
        ? {
            round_num: live.round_num,
            phase: live.phase,
            elapsed_s: live.elapsed_s,
            supervisor: snap.live.supervisor,
            timeout_s: live.timeout_s,
            seconds_since_output: live.seconds_since_output,
            last_output_at: live.last_output_at,
            tool_calls: live.tool_calls,
            output_tokens: live.output_tokens,
          }
        : null,
    last_supervisor_event: last ? { ts: new Date(last.ts).toISOString(), event: last.event } : null,
    history: historySummary(adv.history),
    memory: snap.memory,
    disks: snap.disks,
  };
  return { result, history: adv.state };
}

function historySummary(h: ProjectHistory): ProbeResult['history'] {
  const last = h.last_round;
  const limit = h.usage_limit;
  return {
    rounds: h.counters.rounds,
    last_round: last ? { round_num: last.round_num, outcome: last.outcome, ended_at: last.ended_at, duration_s: last.duration_s, cost_usd: last.cost_usd } : null,
    wait: h.wait ? { reason: h.wait.reason, until: h.wait.until, seconds_left: h.wait.seconds_left } : null,
    usage_limit: limit ? { throttled_until_epoch: limit.throttled_until_epoch, agent: limit.agent, source: limit.source } : null,
    cost: { today_usd: h.cost.today_usd, today_complete: h.cost.today_complete, total_usd: h.cost.total_usd },
  };
}
