import type { Command } from 'commander';
import { listOverview, type LsDocument, type LsProject } from '../../registry/overview.js';
import { globals } from '../context.js';
import { addOptions, type OptionSpec, type VerbContext } from '../options.js';
import { err, json, out, paint } from '../output.js';
import { packageVersion } from '../paths.js';

export const LS_OPTIONS: readonly OptionSpec[] = [{ flags: '--prune', description: 'forget projects whose config file no longer exists' }];

export function registerLs(program: Command): void {
  addOptions(
    program
      .command('ls')
      .description('every project agent-runner ran on this host (init, round, serve, start, install record them): service state, current round, last outcome, halt, firing alerts, cost today'),
    LS_OPTIONS,
  ).action(runLs);
}

export async function runLs(opts: { prune?: boolean }, cmd: VerbContext): Promise<void> {
  const doc = await listOverview({ version: packageVersion(), prune: Boolean(opts.prune) });
  if (globals(cmd).json) return json(doc);
  render(doc);
}

function render(doc: LsDocument): void {
  for (const p of doc.problems) err(`warning: ${p.file} is not a project entry (${p.error}); \`agent-runner ls --prune\` removes it`);
  if (doc.pruned.length) out(`forgot ${doc.pruned.length} project(s) whose config is gone: ${doc.pruned.join(', ')}`);
  if (!doc.projects.length) {
    out(`no project recorded on ${doc.host} yet: \`agent-runner init\`, \`round\`, \`serve\`, \`start\` and \`install\` record the project they run`);
    return;
  }
  const rows = doc.projects.map(cells);
  const head: Cell[] = ['NAME', 'SERVICE', 'ROUND', 'LAST', 'HALT', 'ALERTS', 'TODAY', 'PATH'].map((t) => ({ text: t }));
  const widths = head.map((_, i) => Math.max(head[i]!.text.length, ...rows.map((r) => r[i]!.text.length)));
  // Pad before painting: escape sequences have no width on screen.
  const line = (r: Cell[]) => r.map((c, i) => (c.style ? paint(c.style, c.text) : c.text) + (i < r.length - 1 ? ' '.repeat(widths[i]! - c.text.length + 2) : '')).join('');
  out(line(head));
  for (const r of rows) out(line(r));
  for (const p of doc.projects) {
    if (p.presence === 'missing') out(`${p.name}: ${p.problem}; \`agent-runner ls --prune\` forgets it`);
    else if (p.presence === 'unreadable') out(`${p.name}: ${p.problem}`);
  }
}

interface Cell {
  text: string;
  style?: Parameters<typeof paint>[0];
}

function cells(p: LsProject): Cell[] {
  const none: Cell = { text: '-' };
  if (p.presence !== 'ok') return [{ text: p.name }, { text: p.presence, style: 'yellow' }, none, none, none, none, none, { text: p.path }];
  const svc = p.service!;
  const last = p.last_round;
  const worst = p.alerts.some((a) => a.severity === 'critical') ? 'critical' : p.alerts.some((a) => a.severity === 'warning') ? 'warning' : p.alerts[0]?.severity;
  return [
    { text: p.name },
    { text: svc.state.replace('_', ' '), ...(svc.state === 'running' ? { style: 'green' } : svc.state === 'unknown' ? { style: 'yellow' } : {}) },
    p.current_round ? { text: `R${p.current_round.round_num} ${p.current_round.age_s}s` } : p.waiting ? { text: `waiting (${p.waiting.reason ?? 'unknown'})` } : none,
    last ? { text: `R${last.round_num} ${last.outcome ?? 'unknown'}`, ...(last.outcome !== 'clean' ? { style: 'yellow' } : {}) } : none,
    p.halt ? { text: p.halt.reason, style: 'red' } : none,
    worst ? { text: `${p.alerts.length} ${worst}`, style: worst === 'critical' ? 'red' : 'yellow' } : none,
    { text: `$${(p.cost_today_usd ?? 0).toFixed(2)}` },
    { text: p.path },
  ];
}
