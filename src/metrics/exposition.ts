/**
 * PURE: the Prometheus exposition of the projects a process watches, in the Prometheus text
 * format (0.0.4: `agent-runner metrics`, node_exporter's textfile collector) or OpenMetrics 1.0
 * (what a Prometheus server asks `monitor --listen` for). Names follow Prometheus conventions:
 * base units, `_total` counters, `_seconds` durations and timestamps.
 */
import { DURATION_BUCKETS_S, type Totals } from './totals.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPE: Record<ExpositionFormat, string> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

export interface ProjectMetrics {
  project: string;
  /** `local` for a project of this host; the ssh alias (as given to `monitor --host`) for a remote one. */
  host: string;
  /** The last poll succeeded. */
  up: boolean;
  /** null when unknown (the poll failed). */
  halted: boolean | null;
  alerts: Array<{ detector: string; severity: string }>;
  /** Counters; absent where the events are not here (a remote project). */
  totals?: Totals | undefined;
  /** From the probe when there are no local totals (a remote project). */
  last_supervisor_event_s?: number | null;
  /** From the probe when there are no local totals: epoch seconds. */
  last_round_end_s?: number | null;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const num = (n: number) => (Number.isInteger(n) ? String(n) : String(Math.round(n * 1e6) / 1e6));

interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  unit?: string;
  samples: Array<{ suffix?: string; labels: Record<string, string>; value: number }>;
}

export function renderExposition(projects: readonly ProjectMetrics[], format: ExpositionFormat): string {
  // Every series says which project and where: one scrape may cover a registry or a fleet.
  const labelsOf = (p: ProjectMetrics, extra: Record<string, string> = {}) => ({ project: p.project, host: p.host, ...extra });
  const families: Family[] = [
    { name: 'agent_runner_up', type: 'gauge', help: 'Whether the last poll of the project succeeded (1) or its state is unknown (0).', samples: projects.map((p) => ({ labels: labelsOf(p), value: p.up ? 1 : 0 })) },
    {
      name: 'agent_runner_halted',
      type: 'gauge',
      help: 'Whether serve is halted (halt.json recorded; it refuses to run until agent-runner resume).',
      samples: projects.filter((p) => p.halted !== null).map((p) => ({ labels: labelsOf(p), value: p.halted ? 1 : 0 })),
    },
    {
      name: 'agent_runner_alert_firing',
      type: 'gauge',
      help: 'A detector alert firing now (one series per detector and severity; none when healthy).',
      samples: projects.flatMap((p) => p.alerts.map((a) => ({ labels: labelsOf(p, { detector: a.detector, severity: a.severity }), value: 1 }))),
    },
    {
      name: 'agent_runner_rounds',
      type: 'counter',
      help: 'Rounds ended, by outcome (clean, error, timeout, grace_kill, signal, oom, interrupted).',
      samples: projects.flatMap((p) => Object.entries(p.totals?.rounds ?? {}).map(([outcome, n]) => ({ suffix: '_total', labels: labelsOf(p, { outcome }), value: n }))),
    },
    {
      name: 'agent_runner_round_duration_seconds',
      type: 'histogram',
      help: 'Wall-clock duration of ended rounds.',
      unit: 'seconds',
      samples: projects.flatMap((p) => {
        const d = p.totals?.duration;
        if (!d) return [];
        return [
          ...DURATION_BUCKETS_S.map((b, i) => ({ suffix: '_bucket', labels: labelsOf(p, { le: num(b) }), value: d.buckets[i]! })),
          { suffix: '_bucket', labels: labelsOf(p, { le: '+Inf' }), value: d.count },
          { suffix: '_count', labels: labelsOf(p), value: d.count },
          { suffix: '_sum', labels: labelsOf(p), value: d.sum },
        ];
      }),
    },
    {
      name: 'agent_runner_cost_usd',
      type: 'counter',
      help: 'Dollars the agent reported spending (total_cost_usd of its results).',
      samples: projects.filter((p) => p.totals).map((p) => ({ suffix: '_total', labels: labelsOf(p), value: p.totals!.cost_usd })),
    },
    {
      name: 'agent_runner_last_round_end_timestamp_seconds',
      type: 'gauge',
      help: 'When the newest round ended (Unix time).',
      unit: 'seconds',
      samples: projects.flatMap((p) => {
        const v = p.totals ? p.totals.last_round_end_s : p.last_round_end_s;
        return v != null ? [{ labels: labelsOf(p), value: v }] : [];
      }),
    },
    {
      name: 'agent_runner_last_supervisor_event_timestamp_seconds',
      type: 'gauge',
      help: 'When round or serve last wrote an event (Unix time): a stale supervisor stops moving it.',
      unit: 'seconds',
      samples: projects.flatMap((p) => {
        const v = p.totals ? p.totals.last_supervisor_event_s : p.last_supervisor_event_s;
        return v != null ? [{ labels: labelsOf(p), value: v }] : [];
      }),
    },
  ];
  const out: string[] = [];
  for (const f of families) {
    // The text format names a counter family with its _total; OpenMetrics without it.
    const familyName = format === 'prometheus' && f.type === 'counter' ? `${f.name}_total` : f.name;
    out.push(`# HELP ${familyName} ${f.help}`, `# TYPE ${familyName} ${f.type}`);
    if (format === 'openmetrics' && f.unit) out.push(`# UNIT ${familyName} ${f.unit}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
      out.push(`${f.name}${s.suffix ?? ''}${labels ? `{${labels}}` : ''} ${num(s.value)}`);
    }
  }
  if (format === 'openmetrics') out.push('# EOF');
  return out.join('\n') + '\n';
}

/** The format a scraper asked for (Prometheus sends Accept: application/openmetrics-text …). */
export function negotiate(accept: string | undefined): ExpositionFormat {
  return accept?.includes('application/openmetrics-text') ? 'openmetrics' : 'prometheus';
}
