import type { ProjectState, RoundView } from './state.js';

/**
 * PURE: the human summary of a ProjectState. Colour is the caller's decision (a painter that
 * does nothing when stdout is not a terminal or NO_COLOR is set).
 */
export type Painter = (style: 'red' | 'yellow' | 'green' | 'cyan' | 'dim' | 'bold', text: string) => string;

export function renderPeek(s: ProjectState, paint: Painter): string[] {
  const out: string[] = [];
  const svc = s.service;
  const state = svc.active ? paint('green', 'active') : paint('yellow', 'inactive');
  out.push(`${paint('bold', s.project)}  ${state} (${svc.mode}${svc.pid ? `, pid ${svc.pid}` : ''}${svc.uptime_s !== null ? `, up ${duration(svc.uptime_s)}` : ''})`);
  if (s.halt) out.push(`  ${paint('red', `HALTED (${s.halt.reason})`)}${s.halt.ts ? ` since ${s.halt.ts}` : ''}: ${s.halt.message}. ${s.halt.hint}; then \`agent-runner resume\``);
  if (s.wait) out.push(`  waiting (${s.wait.reason ?? 'unknown'}) until ${s.wait.until}${s.wait.seconds_left !== null ? ` — ${duration(s.wait.seconds_left)} left` : ''}`);
  if (svc.rate_limit) out.push(`  ${paint('yellow', 'throttled')} until ${new Date(svc.rate_limit.throttled_until_epoch * 1000).toISOString()} (${svc.rate_limit.limit_type})`);
  if (s.serve && s.serve.process !== 'alive') out.push(`  ${paint('red', `serve pid ${s.serve.pid} is ${s.serve.process}`)} (last state ${s.serve.state})`);

  const r = s.current_round;
  if (r?.running) out.push(`  ${paint('cyan', 'running')}: ${roundLine(r)}`);
  else if (r) out.push(`  round ${r.round_num}: ${r.outcome ?? 'unknown'}${r.exit_code !== null ? `, exit ${r.exit_code}` : ''}${r.duration_so_far_s !== null ? `, ${duration(r.duration_so_far_s)}` : ''}${r.log_path ? `, log ${r.log_path}` : ''}`);
  if (r?.log_tail?.length) {
    out.push('  log tail:');
    for (const l of r.log_tail) out.push(`    ${l}`);
  }

  if (s.recent_rounds.length) {
    out.push('  recent rounds:');
    for (const x of s.recent_rounds) {
      const outcome = x.outcome ?? (x.ended_at ? 'unknown' : 'running');
      const col = outcome === 'clean' ? 'green' : outcome === 'running' ? 'cyan' : 'yellow';
      out.push(
        `    R${String(x.round_num).padEnd(6)} ${paint(col, outcome.padEnd(11))}${x.transient ? ` (${x.transient})` : ''}` +
          `${x.duration_s !== null ? ` ${duration(x.duration_s)}` : ''}${x.tool_calls ? `, ${x.tool_calls} tool calls` : ''}${x.started_at ? paint('dim', `  ${x.started_at}`) : ''}`,
      );
    }
  } else out.push('  no rounds yet');

  const sys = s.system;
  const disks = sys.disks.map((d) => `${d.label} ${d.used_pct}% used (${d.free_gb} GB free)`).join(', ');
  out.push(`  host: mem ${sys.mem_available_mb} MB available of ${sys.mem_total_mb} MB · load ${sys.load_1m} · ${disks || 'disk unknown'}`);
  if (s.orphan) out.push(`  uncommitted work of round ${String(s.orphan['round_num'] ?? '?')} preserved at ${String(s.orphan['ref_name'] ?? s.orphan['stashed_ref'] ?? '?')}`);
  if (s.monitor?.firing.length) {
    out.push('  alerts (last monitor poll):');
    for (const a of s.monitor.firing) out.push(`    ${paint(a.severity === 'critical' || a.severity === 'unknown' ? 'red' : 'yellow', a.severity)} ${a.detector}${a.subject ? ` (${a.subject})` : ''}: ${a.message}`);
  }
  if (s.recent_events.length) {
    out.push('  recent events:');
    for (const e of s.recent_events) out.push(`    ${paint('dim', e.ts.slice(11, 23))} ${e.event}${typeof e['round_num'] === 'number' ? ` round=${e['round_num']}` : ''}`);
  }
  return out;
}

function roundLine(r: RoundView): string {
  const parts = [`round ${r.round_num}${r.phase ? ` (${r.phase})` : ''} for ${duration(r.duration_so_far_s ?? 0)} of ${duration(r.timeout_s)}`];
  if (r.pid) parts.push(`agent pid ${r.pid}${r.agent_alive === false ? ' (gone)' : ''}`);
  if (r.log_size_bytes !== null) parts.push(`log ${bytes(r.log_size_bytes)}`);
  if (r.seconds_since_output !== null) parts.push(`last output ${duration(r.seconds_since_output)} ago`);
  if (r.tool_calls !== null) parts.push(`${r.tool_calls}${r.tool_calls_source === 'log_tail' ? '+' : ''} tool calls`);
  if (r.supervisor && r.supervisor !== 'alive') parts.push(`supervisor ${r.supervisor}`);
  return parts.join(' · ');
}

export function duration(s: number): string {
  if (s < 60) return `${Math.round(s * 10) / 10}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1048576).toFixed(1)} MB`;
}
