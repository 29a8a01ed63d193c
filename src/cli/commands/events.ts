import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { err } from '../output.js';
import { loadFor } from '../context.js';

interface EventsFlags {
  stopOnEof?: boolean;
  kind?: string;
  window?: string;
  tail?: boolean;
  since?: string;
}

export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('events as stored (JSON lines): the last --window N (default 10), or --tail to follow across monthly files')
    .option('--kind <kinds>', 'only these kinds, comma-separated (e.g. agent_exit,round_end)')
    .option('--window <n>', 'the newest N matching events (default 10; with --since: all since then)')
    .option('--tail', 'follow: print matching events as they are appended, until interrupted')
    .option('--since <time>', 'only events at or after this time: ISO-8601, epoch seconds, or an age like 15m, 2h, 7d')
    .option('--stop-on-eof', 'with --tail: stop when stdin closes (how `monitor --host` ends a remote follower with its connection)')
    .action(async (flags: EventsFlags, cmd: Command) => {
      const [{ nonNegativeInt, parseSince }, { lastMatching, tailMatching }, { EVENT_KINDS }, { didYouMean }] = await Promise.all([
        import('../../monitor/cli-args.js'),
        import('../../peek/events-query.js'),
        import('../../events/kinds.js'),
        import('../../config/locate.js'),
      ]);
      if (flags.tail && flags.window !== undefined) throw new UsageError('--window and --tail are mutually exclusive');
      let kinds: Set<string> | undefined;
      if (flags.kind !== undefined) {
        const list = flags.kind.split(',').map((k) => k.trim());
        if (list.some((k) => k === '')) throw new UsageError('--kind requires non-empty event kinds, e.g. --kind agent_exit,round_end');
        for (const k of list) {
          // History written by other versions may hold kinds we do not register: warn, do not refuse.
          if (!Object.hasOwn(EVENT_KINDS, k)) {
            const hint = didYouMean(k, Object.keys(EVENT_KINDS));
            err(`warning: "${k}" is not an event kind this version writes${hint ? ` (did you mean "${hint}"?)` : ''}`);
          }
        }
        kinds = new Set(list);
      }
      const sinceMs = flags.since !== undefined ? parseSince(flags.since) : undefined;
      const window = flags.window !== undefined ? nonNegativeInt('--window', flags.window) : sinceMs === undefined ? 10 : undefined;
      const cfg = loadFor(cmd);
      const q = { ...(kinds ? { kinds } : {}), ...(sinceMs !== undefined ? { sinceMs } : {}), ...(window !== undefined ? { window } : {}) };
      if (!flags.tail) {
        const lines = lastMatching(cfg.paths.logDir, q);
        if (lines.length) process.stdout.write(lines.join('\n') + '\n');
        return;
      }
      const ctl = new AbortController();
      const stop = () => ctl.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      process.stdout.on('error', stop); // a closed pipe (| head) ends the follow quietly
      if (flags.stopOnEof) {
        // Over ssh without a terminal nothing signals the remote command when the client goes
        // away; its stdin closing is the one sign it gets.
        process.stdin.on('end', stop).on('close', stop).on('error', stop).resume();
      }
      await tailMatching(cfg.paths.logDir, q, (line) => process.stdout.write(line + '\n'), ctl.signal);
    });
}
