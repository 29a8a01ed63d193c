/**
 * PURE: how alert records look to a human. `--json` prints the records themselves.
 */
import type { AlertRecord, AlertSeverity } from './alerts.js';

export type Painter = (style: 'red' | 'yellow' | 'green' | 'cyan' | 'dim' | 'bold', text: string) => string;
export const noPaint: Painter = (_s, t) => t;

const TAG: Record<AlertSeverity, string> = { critical: '[CRIT]', warning: '[WARN]', info: '[INFO]', unknown: '[????]' };
const COLOUR: Record<AlertSeverity, 'red' | 'yellow' | 'cyan'> = { critical: 'red', warning: 'yellow', info: 'cyan', unknown: 'red' };

export function alertLine(r: AlertRecord, paint: Painter = noPaint): string {
  const where = r.host ? `${r.host}: ` : '';
  const time = r.ts.slice(11, 19);
  if (r.state === 'resolved') return `${paint('dim', time)} ${paint('green', '[ OK ]')} ${where}${r.detector}${r.subject ? ` (${r.subject})` : ''} — ${r.message}`;
  const change = r.previous_severity ? ` (was ${r.previous_severity})` : '';
  const stop = r.auto_stop ? ` → auto-stop: ${r.auto_stop.result}${r.auto_stop.seconds !== undefined ? ` in ${r.auto_stop.seconds.toFixed(1)}s` : ''}${r.auto_stop.detail ? ` (${r.auto_stop.detail})` : ''}` : '';
  const fix = r.fix ? ` Fix: ${r.fix}` : '';
  return `${paint('dim', time)} ${paint(COLOUR[r.severity], TAG[r.severity])} ${where}${r.detector}${r.subject ? ` (${r.subject})` : ''}${change} — ${r.message}${stop}${fix}`;
}

/** upstream's narrate line: `[HH:MM:SS.fff] <event padded to 20> k=v k=v…`. */
export function narrateLine(line: string): string | undefined {
  let ev: Record<string, unknown>;
  try {
    ev = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof ev['event'] !== 'string') return undefined;
  const ts = typeof ev['ts'] === 'string' ? ev['ts'].slice(11, 23) : '??:??:??.???';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'ts' || k === 'event' || v === null || v === undefined) continue;
    const key = k === 'round_num' ? 'round' : k;
    const val = typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v.length > 120 ? v.slice(0, 120) + '…' : v) : v) : JSON.stringify(v);
    parts.push(`${key}=${val}`);
  }
  return `[${ts}] ${String(ev['event']).padEnd(20)} ${parts.join(' ')}`.trimEnd();
}
