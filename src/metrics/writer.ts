import { appendLine } from '../events/writer.js';
import { toJsonLine } from '../events/json-line.js';
import { metricsFile } from '../state/files.js';
import { isoNow } from '../util/time.js';
import { sampleDisk, sampleHost } from './host.js';

/**
 * One host sample per round boundary in metrics-YYYY-MM.jsonl, upstream's shape: disk figures are
 * for the log_dir filesystem (upstream's), plus work_dir's as work_disk_* (new).
 */
export function appendMetrics(logDir: string, workDir: string, event: 'round_start' | 'round_end', extra: Record<string, unknown>): void {
  const now = Date.now();
  const host = sampleHost();
  const disk = sampleDisk(logDir);
  const work = sampleDisk(workDir);
  const record = {
    ts: isoNow(now),
    event,
    ...host,
    disk_total_gb: disk?.total_gb,
    disk_free_gb: disk?.free_gb,
    disk_used_pct: disk?.used_pct,
    work_disk_used_pct: work?.used_pct,
    work_disk_free_gb: work?.free_gb,
    ...extra,
  };
  appendLine(metricsFile(logDir, now), toJsonLine(record));
}
