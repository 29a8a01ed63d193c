import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { serve } from '../../loop/serve.js';
import { eventsFor, loadFor } from '../context.js';
import { paint } from '../output.js';
import { packageVersion } from '../paths.js';
import { noteProject } from '../record-project.js';
import { ServeNarrator } from '../serve-narrator.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run rounds in a loop until stopped, halted or a budget is spent (SIGTERM: drain; twice: interrupt; SIGHUP: reload config)')
    .option('--once', 'run one round, then exit')
    .option('--max-rounds <n>', 'stop after N rounds (this invocation only; runtime.max_rounds is the durable budget)')
    .action(async (opts: { once?: boolean; maxRounds?: string }, cmd: Command) => {
      let maxRounds: number | undefined;
      if (opts.maxRounds !== undefined) {
        maxRounds = Number(opts.maxRounds);
        if (!Number.isInteger(maxRounds) || maxRounds < 1) throw new UsageError(`--max-rounds expects a positive integer, got "${opts.maxRounds}"`);
      }
      const cfg = loadFor(cmd);
      noteProject(cfg, 'serve');
      const say = (l: string) => process.stderr.write(`agent-runner: ${l}\n`);
      // Each round's end, each wait and a summary at exit, told from the events serve writes.
      const narrator = new ServeNarrator({ write: say, paint: (style, text) => paint(style, text, process.stderr) });
      const { control, done } = serve({
        cfg,
        makeEvents: (c) => narrator.tee(eventsFor(c)),
        ...(opts.once ? { once: true } : {}),
        ...(maxRounds !== undefined ? { maxRounds } : {}),
        log: say,
        version: packageVersion(),
      });
      const onStop = (sig: NodeJS.Signals) => control.stop(sig);
      const onHup = () => control.reload();
      process.on('SIGTERM', onStop);
      process.on('SIGINT', onStop);
      process.on('SIGHUP', onHup);
      try {
        process.exitCode = await done;
      } finally {
        process.off('SIGTERM', onStop);
        process.off('SIGINT', onStop);
        process.off('SIGHUP', onHup);
      }
    });
}
