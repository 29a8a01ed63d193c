import type { Config } from '../config/load.js';
import { eventLinesBackward, parseRecord } from '../events/reader.js';
import type { DigestFacts } from '../notify/messages.js';
import { run } from '../util/exec.js';
import type { AlertSet } from './alerts.js';

/** The local date and time of day as `digest_at` compares them. */
function localParts(ms: number): { date: string; minutes: number } {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return { date: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`, minutes: d.getHours() * 60 + d.getMinutes() };
}

/** The date a digest is due for now, or undefined before `digest_at` (HH:MM, local time). */
export function digestDueDate(digestAt: string, nowMs: number): string | undefined {
  const [h, m] = digestAt.split(':').map(Number);
  const now = localParts(nowMs);
  return now.minutes >= h! * 60 + m! ? now.date : undefined;
}

/** The last 24 h from the events file and git: rounds by outcome, cost, commits, halts. */
export async function collectDigest(cfg: Config, alerts: AlertSet, nowMs: number, date: string): Promise<DigestFacts> {
  const since = nowMs - 24 * 3600_000;
  const rounds: Record<string, number> = {};
  let cost = 0;
  const halts: string[] = [];
  for (const line of eventLinesBackward(cfg.paths.logDir, { bytes: 64 * 1024 * 1024 })) {
    const e = parseRecord(line);
    if (!e) continue;
    const t = Date.parse(e.ts);
    if (t < since) break;
    if (t > nowMs) continue;
    if (e.event === 'round_end' && typeof e['outcome'] === 'string') rounds[e['outcome']] = (rounds[e['outcome']] ?? 0) + 1;
    else if (e.event === 'agent_exit' && typeof e['cost_usd'] === 'number') cost += e['cost_usd'];
    else if (e.event === 'halt_recorded' && typeof e['reason'] === 'string') halts.push(e['reason']);
  }
  const git = await run('git', ['-C', cfg.paths.workDir, 'rev-list', '--count', `--since=${new Date(since).toISOString()}`, 'HEAD'], { timeoutMs: 10_000 });
  const commits = git.exitCode === 0 ? Number(git.stdout.trim()) : null;
  return {
    date,
    ts: new Date(nowMs).toISOString(),
    rounds,
    cost_usd: Math.round(cost * 100) / 100,
    commits: Number.isFinite(commits) ? commits : null,
    halts: halts.reverse(),
    alerts_firing: firingNow(alerts),
  };
}

/** What fires now, as a digest lists it; a remote project's digest is filled from the watching side's alerts. */
export function firingNow(alerts: AlertSet): string[] {
  return Object.values(alerts).map((a) => `${a.detector}${a.subject ? ` (${a.subject})` : ''} ${a.severity}`);
}
