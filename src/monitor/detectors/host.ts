import type { Condition, Snapshot, Thresholds } from '../types.js';

/** Both configured filesystems (log_dir and work_dir), sampled by the monitor at this poll. */
export function disk(s: Snapshot, t: Thresholds): Condition[] {
  const out: Condition[] = [];
  for (const d of s.disks) {
    const critical = d.used_pct >= t.disk_critical_pct;
    if (!critical && d.used_pct < t.disk_warning_pct) continue;
    const threshold = critical ? t.disk_critical_pct : t.disk_warning_pct;
    out.push({
      detector: critical ? 'disk_critical' : 'disk_warning',
      subject: d.label,
      severity: critical ? 'critical' : 'warning',
      message: `disk_used_pct ${d.used_pct} >= ${threshold} on the ${d.label} filesystem (${d.path}, ${d.free_gb} GB free)${critical ? ': stopping the service' : ''}`,
      context: {
        value: d.used_pct,
        threshold,
        label: d.label,
        path: d.path,
        free_gb: d.free_gb,
        hint: critical
          ? 'free space now (old round logs under log_dir/rounds, build caches), then `agent-runner start`'
          : 'free space or lower runtime.round_log_retention before it reaches the critical threshold',
      },
      evidence_ms: s.now,
    });
  }
  return out;
}

export function memPressure(s: Snapshot, t: Thresholds): Condition[] {
  if (!s.memory || s.memory.available_mb >= t.mem_avail_min_mb) return [];
  return [
    {
      detector: 'mem_pressure',
      subject: '',
      severity: 'warning',
      message: `mem_available_mb ${s.memory.available_mb} < ${t.mem_avail_min_mb}`,
      context: { value: s.memory.available_mb, threshold: t.mem_avail_min_mb, total_mb: s.memory.total_mb, hint: 'look for leaked agent children (`agent-runner peek`) or other memory hogs on that host' },
      evidence_ms: s.now,
    },
  ];
}
