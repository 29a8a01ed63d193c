import type { Command } from 'commander';
import { globals, loadFor } from '../context.js';
import { addOptions, type OptionSpec, type VerbContext } from '../options.js';
import { useColor } from '../output.js';

export interface PeekFlags {
  select?: string;
  round?: string;
  log?: boolean;
  events?: string;
}

export const PEEK_OPTIONS: readonly OptionSpec[] = [
  { flags: '--select <path>', description: 'print only this part of the document, e.g. status.round_num or recent_rounds.0.outcome' },
  { flags: '--round <n>', description: 'show round N (or "latest") as current_round' },
  { flags: '--log', description: 'include the last 50 lines of the round\'s agent log' },
  { flags: '--events <n>', description: 'include the last N events' },
];

export function addPeekOptions(cmd: Command): Command {
  return addOptions(cmd, PEEK_OPTIONS);
}

/** The peek output as text (one document), for peek and watch alike. */
export async function peekText(cmd: VerbContext, flags: PeekFlags): Promise<string> {
  const [{ buildProjectState }, { formatSelected, selectPath }, { renderPeek }, { nonNegativeInt, roundArg }, { styleText }] = await Promise.all([
    import('../../peek/state.js'),
    import('../../peek/select.js'),
    import('../../peek/render.js'),
    import('../../monitor/cli-args.js'),
    import('node:util'),
  ]);
  const asJson = Boolean(globals(cmd).json);
  const round = flags.round !== undefined ? roundArg(flags.round) : undefined;
  const events = flags.events !== undefined ? nonNegativeInt('--events', flags.events) : undefined;
  const cfg = loadFor(cmd);
  const doc = await buildProjectState(cfg, { ...(round !== undefined ? { round } : {}), ...(flags.log ? { log: true } : {}), ...(events !== undefined ? { events } : {}) });
  if (flags.select !== undefined) return formatSelected(selectPath(doc, flags.select), asJson);
  if (asJson) return JSON.stringify(doc, null, 2);
  const colour = useColor();
  return renderPeek(doc, (style, text) => (colour ? styleText(style, text, { validateStream: false }) : text)).join('\n');
}

export function registerPeek(program: Command): void {
  addPeekOptions(
    program
      .command('peek')
      .description('the project at a glance: live round, recent rounds, service, halt and wait state, host figures sampled now (--json: the ProjectState document)'),
  ).action(runPeek);
}

export async function runPeek(flags: PeekFlags, cmd: VerbContext): Promise<void> {
  process.stdout.write((await peekText(cmd, flags)) + '\n');
}
