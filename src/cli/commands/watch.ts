import type { Command } from 'commander';
import { RunnerError } from '../../errors.js';
import { err } from '../output.js';
import { addPeekOptions, peekText, type PeekFlags } from './peek.js';
import { sleep } from '../../util/sleep.js';

export function registerWatch(program: Command): void {
  addPeekOptions(
    program
      .command('watch')
      .description('peek, refreshed: redrawn in place on a terminal, repeated as plain output otherwise; Ctrl-C ends it (exit 0)')
      .option('--interval <s>', 'seconds between refreshes', '2')
      .option('--count <n>', 'stop after N refreshes'),
  ).action(async (flags: PeekFlags & { interval: string; count?: string }, cmd: Command) => {
    const { nonNegativeInt, positiveSeconds } = await import('../../monitor/cli-args.js');
    const intervalMs = positiveSeconds('--interval', flags.interval, 0.1) * 1000;
    const count = flags.count !== undefined ? nonNegativeInt('--count', flags.count) : Infinity;
    const tty = Boolean(process.stdout.isTTY);
    const ctl = new AbortController();
    const stop = () => ctl.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      for (let i = 0; i < count && !ctl.signal.aborted; i++) {
        let text: string;
        try {
          text = await peekText(cmd, flags);
        } catch (e) {
          if (e instanceof RunnerError) {
            err(e.message);
            process.exitCode = e.exitCode;
            return;
          }
          throw e;
        }
        if (tty) process.stdout.write(`\x1b[H\x1b[2J${text}\n`);
        else process.stdout.write(`${i > 0 && !flags.select ? '\n' : ''}${text}\n`);
        if (i + 1 < count) await sleep(intervalMs, ctl.signal);
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  });
}
